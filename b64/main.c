/* b64 — base64 encode or decode, as a filter (RFC 4648, RFC 2045 6.8). */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "b64.h"
#include "err.h"
#include "filter.h"
#include "limits.h"

const char *const progname = "b64";

struct job {
	int decode;
	struct b64_enc enc;
	struct b64_dec dec;
	const char *name;       /* current input, for messages */
	int last;               /* the current input is the last one */
	int failed;             /* decoding failed: stop at the next call */
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: b64 [-d] [-i] [-w COLS] [--crlf] [FILE...]\n"
	    "Base64 encode (or with -d decode) FILEs, or standard input, to standard output.\n\n"
	    "  -d, --decode          decode\n"
	    "  -i, --ignore-garbage  when decoding, skip characters outside the alphabet\n"
	    "  -w, --wrap=COLS       wrap encoded lines after COLS characters (default %d, 0: no wrap)\n"
	    "      --crlf            end encoded lines with CRLF, as in a message on the wire\n"
	    "  -h, --help            show this help\n"
	    "  -V, --version         show the version\n", MIME_LINE_MAX);
}

static size_t enc_bound(size_t n)
{
	return 2 * n + 64;   /* 4 chars per 3 bytes, CRLF every 4 chars at worst */
}

static size_t dec_bound(size_t n)
{
	return n / 4 * 3 + 8;
}

static ssize_t enc_step(void *st, const char *in, size_t n, char *out)
{
	struct job *j = st;
	size_t k = b64_enc_update(&j->enc, in, n, out);

	if (n == 0 && j->last)
		k += b64_enc_final(&j->enc, out + k);
	return (ssize_t)k;
}

/* On an error, write what was decoded before it (as coreutils does), then
 * fail at the next call, or in run() when it was the last. */
static ssize_t dec_step(void *st, const char *in, size_t n, char *out)
{
	struct job *j = st;
	ssize_t k, f = 0;

	if (j->failed)
		return -1;
	k = b64_dec_update(&j->dec, in, n, (unsigned char *)out);
	if (k >= 0 && n == 0 && j->last)
		f = b64_dec_final(&j->dec, (unsigned char *)out + k);
	if (k < 0 || f < 0) {
		warnx_("decode %s: %s at offset %llu", j->name, j->dec.err, j->dec.erroff);
		j->failed = 1;
		return (k < 0 ? 0 : k) + (ssize_t)j->dec.errout;
	}
	return k + f;
}

static int run(struct job *j, const char *path)
{
	int fd = STDIN_FILENO, rc;

	j->name = "stdin";
	if (path && strcmp(path, "-") != 0) {
		if ((fd = open(path, O_RDONLY)) < 0) {
			warn_("open %s", path);
			return -1;
		}
		j->name = path;
	}
	rc = filter_run(fd, j->name, j->decode ? dec_step : enc_step, j,
	    j->decode ? dec_bound : enc_bound);
	if (j->failed)
		rc = -1;        /* also when it was the last call */
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "decode",         no_argument,       NULL, 'd' },
		{ "ignore-garbage", no_argument,       NULL, 'i' },
		{ "wrap",           required_argument, NULL, 'w' },
		{ "crlf",           no_argument,       NULL, 'c' },
		{ "help",           no_argument,       NULL, 'h' },
		{ "version",        no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct job j;
	long wrap = MIME_LINE_MAX;
	int c, lenient = 0, crlf = 0, rc = 0;
	char *end;

	memset(&j, 0, sizeof j);
	while ((c = getopt_long(argc, argv, "diw:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'd': j.decode = 1; break;
		case 'i': lenient = 1; break;
		case 'c': crlf = 1; break;
		case 'w':
			wrap = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || wrap < 0 || (wrap > 0 && wrap < 4))
				diex(EX_USAGE, "invalid wrap width: %s (0, or 4 and more)", optarg);
			break;
		case 'h': usage(stdout); return 0;
		case 'V': print_version(); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	b64_enc_init(&j.enc, (size_t)wrap, crlf);
	b64_dec_init(&j.dec, lenient);
	if (optind == argc) {
		j.last = 1;
		return run(&j, NULL) < 0 ? EX_DATAERR : 0;
	}
	/* several files are one stream, as with cat FILE... | b64 */
	for (int i = optind; i < argc && rc == 0; i++) {
		j.last = (i == argc - 1);
		rc = run(&j, argv[i]);
	}
	return rc < 0 ? EX_DATAERR : 0;
}
