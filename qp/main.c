/* qp — quoted-printable encode or decode, as a filter (RFC 2045 6.7),
 * and RFC 2047 encoded-words for header text. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "buf.h"
#include "charset.h"
#include "err.h"
#include "filter.h"
#include "limits.h"
#include "qp.h"
#include "rfc2047.h"

const char *const progname = "qp";

#define HEADER_INPUT_MAX (1024 * 1024)  /* header text is small; refuse more */

struct job {
	int decode;
	struct qp_enc enc;
	struct qp_dec dec;
	const char *name;
	int last;
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: qp [-d] [-i] [-b] [--crlf] [FILE...]\n"
	    "       qp [-d] --header CHARSET [FILE...]\n"
	    "Quoted-printable encode (or with -d decode) FILEs, or standard input.\n\n"
	    "  -d, --decode          decode\n"
	    "  -i, --ignore-garbage  when decoding, keep malformed '=' sequences as text\n"
	    "  -b, --binary          binary mode: encode CR and LF too (=0D, =0A)\n"
	    "      --crlf            write CRLF line ends\n"
	    "  -H, --header=CHARSET  make RFC 2047 encoded-words (=?CHARSET?Q?...?=) of the text\n"
	    "                        (in CHARSET); with -d, decode the encoded-words of a header,\n"
	    "                        whatever their charsets, into text in CHARSET\n"
	    "  -h, --help            show this help\n"
	    "  -V, --version         show the version\n");
}

static ssize_t enc_step(void *st, const char *in, size_t n, char *out)
{
	struct job *j = st;
	size_t k = qp_enc_update(&j->enc, in, n, out);

	if (n == 0 && j->last)
		k += qp_enc_final(&j->enc, out + k);
	return (ssize_t)k;
}

static ssize_t dec_step(void *st, const char *in, size_t n, char *out)
{
	struct job *j = st;
	ssize_t k = qp_dec_update(&j->dec, in, n, out), f = 0;

	if (k >= 0 && n == 0 && j->last)
		f = qp_dec_final(&j->dec, out + k);
	if (k < 0 || f < 0) {
		warnx_("decode %s: %s at offset %llu", j->name, j->dec.err, j->dec.erroff);
		return -1;
	}
	return k + f;
}

static int open_input(const char *path, const char **name)
{
	int fd = STDIN_FILENO;

	*name = "stdin";
	if (path && strcmp(path, "-") != 0) {
		if ((fd = open(path, O_RDONLY)) < 0)
			warn_("open %s", path);
		*name = path;
	}
	return fd;
}

static int slurp(int fd, const char *name, struct buf *b)
{
	for (;;) {
		char *p = buf_reserve(b, IO_BUFSIZE);
		ssize_t r = read(fd, p, IO_BUFSIZE);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			warn_("read %s", name);
			return -1;
		}
		if (r == 0)
			return 0;
		buf_commit(b, (size_t)r);
		if (b->len > HEADER_INPUT_MAX) {
			warnx_("%s: header text longer than %d bytes", name, HEADER_INPUT_MAX);
			return -1;
		}
	}
}

/* Convert b (UTF-8) to charset cs in place; characters cs lacks are
 * transliterated or become '?'.  0, or -1 after a message. */
static int from_utf8(const char *cs, struct buf *b)
{
	char target[CHARSET_NAME_MAX + 16];
	struct buf out = { 0 };
	iconv_t cd;
	char *ip = b->p;
	size_t il = b->len;

	snprintf(target, sizeof target, "%s//TRANSLIT", cs);
	if ((cd = iconv_open(target, "UTF-8")) == (iconv_t)-1) {
		warnx_("unknown charset: %s", cs);
		return -1;
	}
	while (il > 0) {
		size_t room = il * 4 + 16, ol = room;
		char *op = buf_reserve(&out, room);

		if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != E2BIG) {
			buf_commit(&out, room - ol);
			buf_addc(&out, '?');
			ip++;
			il--;
			continue;
		}
		buf_commit(&out, room - ol);
	}
	iconv_close(cd);
	buf_free(b);
	*b = out;
	buf_reserve(b, 0);
	return 0;
}

/* --header: the whole input is one header text. */
static int header_mode(int decode, const char *cs, char **files, int nfiles)
{
	struct buf in = { 0 }, out = { 0 };
	const char *name;
	int rc = 0;

	for (int i = 0; i < (nfiles ? nfiles : 1) && rc == 0; i++) {
		int fd = open_input(nfiles ? files[i] : NULL, &name);

		if (fd < 0)
			rc = -1;
		else
			rc = slurp(fd, name, &in);
		if (fd > STDIN_FILENO)
			close(fd);
	}
	while (rc == 0 && in.len && (in.p[in.len - 1] == '\n' || in.p[in.len - 1] == '\r'))
		in.len--;
	if (rc == 0 && decode) {
		if (rfc2047_decode(in.p ? in.p : "", in.len, &out) > 0)
			warnx_("malformed encoded-word left as it is");
		if (!charset_is_utf8(cs) && from_utf8(cs, &out) < 0)
			rc = -1;
	} else if (rc == 0) {
		rfc2047_encode(cs, 'Q', in.p ? in.p : "", in.len, "\n ", &out);
	}
	if (rc == 0) {
		buf_addc(&out, '\n');
		if (write_all(STDOUT_FILENO, out.p, out.len) < 0) {
			warn_("write stdout");
			rc = -1;
		}
	}
	buf_free(&in);
	buf_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "decode",         no_argument,       NULL, 'd' },
		{ "ignore-garbage", no_argument,       NULL, 'i' },
		{ "binary",         no_argument,       NULL, 'b' },
		{ "crlf",           no_argument,       NULL, 'c' },
		{ "header",         required_argument, NULL, 'H' },
		{ "help",           no_argument,       NULL, 'h' },
		{ "version",        no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct job j;
	int c, lenient = 0, binary = 0, crlf = 0, header = 0, rc = 0;
	const char *cs = "UTF-8", *name;

	memset(&j, 0, sizeof j);
	while ((c = getopt_long(argc, argv, "dibH:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd': j.decode = 1; break;
		case 'i': lenient = 1; break;
		case 'b': binary = 1; break;
		case 'c': crlf = 1; break;
		case 'H':
			header = 1;
			cs = optarg;
			if (strlen(cs) == 0 || strlen(cs) > CHARSET_NAME_MAX || strpbrk(cs, "?= \t\r\n"))
				diex(EX_USAGE, "invalid charset name: %s", cs);
			break;
		case 'h': usage(stdout); return 0;
		case 'V': print_version(); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (header)
		return header_mode(j.decode, cs, argv + optind, argc - optind) < 0 ? EX_DATAERR : 0;
	qp_enc_init(&j.enc, binary, crlf);
	qp_dec_init(&j.dec, lenient, crlf);
	for (int i = optind; i < (optind == argc ? argc + 1 : argc) && rc == 0; i++) {
		int fd = open_input(i < argc ? argv[i] : NULL, &name);

		if (fd < 0)
			return EX_NOINPUT;
		j.name = name;
		j.last = (i >= argc - 1);
		rc = filter_run(fd, name, j.decode ? dec_step : enc_step, &j,
		    j.decode ? qp_dec_bound : qp_enc_bound);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	return rc < 0 ? EX_DATAERR : 0;
}
