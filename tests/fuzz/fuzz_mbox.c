/* fuzz_mbox — libFuzzer harness for pop3d's mbox reader (pop3d/maildrop.c):
 * From_ separation, mboxrd unquoting, CRLF sizes and the UIDLs, on a file
 * whose every byte a sender chose.
 *
 * The input is the mbox.  Asserted: each message sends exactly the size
 * LIST announces, TOP 0 sends no more, and UIDLs are unique and printable
 * (RFC 1939 7: 0x21..0x7e, at most 70 characters).
 * FUZZ_EXTRA: pop3d/maildrop.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../pop3d/maildrop.h"

const char *const progname = "fuzz_mbox";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static int count(void *arg, const void *p, size_t n)
{
	(void)p;
	*(off_t *)arg += (off_t)n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64], path[80];
	struct maildrop md;
	const char *why;
	FILE *f;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/fuzz_mbox.XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
		snprintf(path, sizeof path, "%s/mbox", dir);
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	if (maildrop_open(&md, path, MB_MBOX, &why) != MD_OK) {
		maildrop_close(&md);    /* as pop3d does: it drops the locks */
		return 0;
	}
	for (size_t i = 0; i < md.n; i++) {
		off_t all = 0, top = 0;
		size_t ul = strlen(md.m[i].uid);

		CHECK(ul > 0 && ul <= 70);
		for (size_t k = 0; k < ul; k++)
			CHECK(md.m[i].uid[k] >= 0x21 && md.m[i].uid[k] <= 0x7e);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(md.m[i].uid, md.m[j].uid) != 0);
		CHECK(maildrop_send(&md, i, -1, 0, count, &all) == 0);
		CHECK(all == md.m[i].size);
		CHECK(maildrop_send(&md, i, 0, 1, count, &top) == 0);
		CHECK(top <= all + all / 2 + 2);        /* dot-stuffing may add a dot a line */
	}
	maildrop_close(&md);
	return 0;
}
