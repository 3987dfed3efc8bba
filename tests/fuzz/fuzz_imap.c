/* fuzz_imap — libFuzzer harness for imapd's command reader and parser
 * (imapd/parse.c), the code every byte from an IMAP client goes through.
 *
 * The first input byte picks the slice size the reader is fed with (1 to
 * 256 bytes, so split points land everywhere); every whole command is then
 * parsed, and each atom argument is also tried as a sequence set, each
 * string as a modified UTF-7 mailbox name and each as a Date: field
 * (imap_sent_date, which SORT and the SENT* search keys use).  parse.c is included whole so
 * the harness needs only lib/.  Build (tests/fuzz/run.sh does):
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -DMAILLAB_VERSION=\"0\" \
 *     -iquote lib tests/fuzz/fuzz_imap.c lib/buf.c lib/err.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../imapd/parse.c"

const char *const progname = "fuzz_imap";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct imap_arg *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct seqset set;
		struct buf b = { 0 };

		if (a[i].type == ARG_LIST) {
			walk(a[i].kids, a[i].nkids);
			continue;
		}
		if (a[i].s == NULL || a[i].s[a[i].len] != '\0')
			abort();
		if (a[i].type == ARG_ATOM && seqset_parse(a[i].s, &set) == 0) {
			(void)seqset_has(&set, 1, 10);
			seqset_free(&set);
		}
		if (mutf7_decode(a[i].s, &b) == 0) {
			struct buf back = { 0 };

			/* what decodes must encode back to the same name */
			if (mutf7_encode(b.p, &back) != 0 || strcmp(back.p, a[i].s) != 0)
				abort();
			buf_free(&back);
		}
		buf_free(&b);
		/* and each argument as a Date: field (imap_sent_date): what it
		 * takes is a real time */
		struct sent_date d;
		if (imap_sent_date(a[i].s, &d) == 0 &&
		    (!imap_day_ok(d.year, d.month, d.day) || d.year < 1900 || d.year > 9999 ||
		     d.hh > 23 || d.mm > 59 || d.ss > 60 || d.zone < -(23 * 60 + 59) || d.zone > 23 * 60 + 59))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_reader r;
	size_t step, off = 1;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	imap_reader_init(&r);
	while (off < size) {
		size_t len = size - off < step ? size - off : step, used = 0;

		while (used < len) {
			size_t k;
			enum rd_event ev = imap_reader_feed(&r, (const char *)data + off + used,
			    len - used, &k);

			used += k;
			if (ev == RD_FATAL)
				goto out;
			if (ev == RD_DONE) {
				struct imap_cmd c;
				const char *why;

				if (imap_parse(r.cmd.p, r.cmd.len, &c, &why) == 0)
					walk(c.args, c.nargs);
				imap_cmd_free(&c);
			}
		}
		off += len;
	}
out:
	imap_reader_free(&r);
	return 0;
}
