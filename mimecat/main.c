/* mimecat — show, explain, check, decode and extract MIME messages
 * (RFC 5322, RFC 2045-2049, RFC 2231).  Parts are numbered as IMAP body
 * sections (RFC 3501 6.4.5). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "err.h"
#include "mimecat.h"

const char *const progname = "mimecat";

enum mode { M_VIEW, M_TREE, M_PART, M_HEADERS, M_EXTRACT, M_EXPLAIN, M_CHECK, M_IMAP, M_ROUTE,
	M_VERIFY };

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: mimecat [-t | -p SECTION [--utf8] | -x [DIR] [-a] | -H [-p SECTION] [-a] | -e | -c | -B | -r]\n"
	    "               [FILE]\n"
	    "       mimecat -t | -c | -x DIR [-a] FILE...\n"
	    "       mimecat --verify [--cafile CAFILE] FILE...\n"
	    "       mimecat --decrypt [--key KEY --cert CERT] [mode] [FILE]\n"
	    "Show a MIME message (FILE or standard input) as a person reads it, or:\n\n"
	    "  -t, --tree            the structure: one line per part, with its IMAP section number\n"
	    "  -p, --part=SECTION    that part's body, transfer-decoded (SECTION as in IMAP BODY[...])\n"
	    "      --utf8            with -p, convert a text part to UTF-8 (text/html stays HTML)\n"
	    "  -x, --extract[=DIR]   save the attachments (with -a, every part) under safe names in DIR\n"
	    "  -a, --all             every part, not only attachments (-x), every part's header (-H)\n"
	    "  -H, --headers         every header field unfolded and decoded, in order\n"
	    "  -e, --explain         the raw message annotated: headers, boundaries, parts, previews\n"
	    "  -c, --check           report every RFC rule the message breaks; exit 0 only if none\n"
	    "      --verify          check every S/MIME and PGP signature: one line per signer;\n"
	    "                        exit 0 all good, 1 one fails, 2 nothing signed\n"
	    "      --cafile=FILE     for signatures (--verify, the reading view, -t), trust the CAs\n"
	    "                        of FILE (PEM) besides the system's\n"
	    "      --decrypt         first decrypt an S/MIME message, with --key and --cert (PEM),\n"
	    "                        or a PGP/MIME one with gpg (GNUPGHOME), then any mode\n"
	    "                        above works on the message inside\n"
	    "  -B, --imap            what an IMAP server answers: BODYSTRUCTURE and ENVELOPE (RFC 3501)\n"
	    "  -r, --route           the Received: chain, oldest hop first, as a table (RFC 5321 4.4)\n"
	    "  -h, --help            show this help\n"
	    "  -V, --version         show the version\n");
}

static int set_mode(enum mode *m, enum mode want)
{
	/* -H may be combined with -p (headers of that part) */
	if (*m != M_VIEW && *m != want && !((*m == M_HEADERS && want == M_PART) ||
	    (*m == M_PART && want == M_HEADERS)))
		return -1;
	if (!(*m == M_HEADERS && want == M_PART))
		*m = want;
	return 0;
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int run(struct mc *mc, enum mode mode, const char *file)
{
	static int (*const fn[])(struct mc *) = {
		[M_VIEW] = mc_view, [M_TREE] = mc_tree, [M_PART] = mc_part,
		[M_HEADERS] = mc_headers, [M_EXTRACT] = mc_extract,
		[M_EXPLAIN] = mc_explain, [M_CHECK] = mc_check, [M_IMAP] = mc_imap, [M_ROUTE] = mc_route,
		[M_VERIFY] = mc_verify,
	};
	int rc;

	if (mc_load(mc, file) < 0)
		return EX_NOINPUT;
	if (mc->decrypt && mc_decrypt(mc) < 0) {
		mc_decrypt_done(mc);
		mc_unload(mc);
		return EX_DATAERR;
	}
	if (mode != M_CHECK && mode != M_EXPLAIN && mode != M_VERIFY)
		mc_warn(mc);
	rc = fn[mode](mc);
	if (mode == M_VIEW || mode == M_TREE)
		mc_verify_note(mc);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		warn_("write");
		rc = EX_IOERR;
	}
	mc_decrypt_done(mc);
	mc_unload(mc);
	return rc;
}

/* Several messages, as mshow -t takes them: -t heads each tree with
 * "==> FILE <==" (as head(1) does); -c names the file on each line.  The
 * exit status is the worst one. */
static int run_all(struct mc *mc, enum mode mode, char **files, int n)
{
	int worst = 0;

	for (int i = 0; i < n; i++) {
		int rc;

		if (n > 1 && mode == M_TREE)
			printf("%s==> %s <==\n", i ? "\n" : "", files[i]);
		mc->several = n > 1;
		rc = run(mc, mode, files[i]);
		/* --verify: one bad signature (1) outweighs an unsigned message (2) */
		if (mode == M_VERIFY && (rc == 1 || worst == 1) && rc <= 2 && worst <= 2)
			worst = 1;
		else if (rc > worst)
			worst = rc;
	}
	return worst;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tree",    no_argument,       NULL, 't' },
		{ "part",    required_argument, NULL, 'p' },
		{ "utf8",    no_argument,       NULL, 'u' },
		{ "extract", optional_argument, NULL, 'x' },
		{ "all",     no_argument,       NULL, 'a' },
		{ "headers", no_argument,       NULL, 'H' },
		{ "explain", no_argument,       NULL, 'e' },
		{ "check",   no_argument,       NULL, 'c' },
		{ "imap",    no_argument,       NULL, 'B' },
		{ "route",   no_argument,       NULL, 'r' },
		{ "verify",  no_argument,       NULL, 'S' },
		{ "cafile",  required_argument, NULL, 'A' },
		{ "decrypt", no_argument,       NULL, 'D' },
		{ "key",     required_argument, NULL, 'K' },
		{ "cert",    required_argument, NULL, 'C' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct mc mc;
	enum mode mode = M_VIEW;
	int c, bad = 0;

	memset(&mc, 0, sizeof mc);
	mc.out = stdout;
	while ((c = getopt_long(argc, argv, "tp:x::aHecBrhV", opts, NULL)) != -1) {
		switch (c) {
		case 't': bad |= set_mode(&mode, M_TREE); break;
		case 'p': bad |= set_mode(&mode, M_PART); mc.section = optarg; break;
		case 'u': mc.utf8 = 1; break;
		case 'x': bad |= set_mode(&mode, M_EXTRACT); mc.dir = optarg; break;
		case 'a': mc.all = 1; break;
		case 'H': bad |= set_mode(&mode, M_HEADERS); break;
		case 'e': bad |= set_mode(&mode, M_EXPLAIN); break;
		case 'c': bad |= set_mode(&mode, M_CHECK); break;
		case 'B': bad |= set_mode(&mode, M_IMAP); break;
		case 'r': bad |= set_mode(&mode, M_ROUTE); break;
		case 'S': bad |= set_mode(&mode, M_VERIFY); break;
		case 'A': mc.cafile = optarg; break;
		case 'D': mc.decrypt = 1; break;
		case 'K': mc.key = optarg; break;
		case 'C': mc.cert = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': print_version(); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (bad) {
		warnx_("-t, -p, -x, -e, -c, -B, -r and --verify exclude each other (-H goes with -p)");
		usage(stderr);
		return EX_USAGE;
	}
	if (mc.decrypt && (mc.key == NULL) != (mc.cert == NULL)) {
		warnx_("--decrypt needs --key KEY and --cert CERT (PEM) together (S/MIME)");
		return EX_USAGE;
	}
	if (mc.utf8 && mc.section == NULL) {
		warnx_("--utf8 needs -p SECTION");
		return EX_USAGE;
	}
	/* "mimecat -x DIR FILE...", "mimecat -x DIR < msg", "mimecat -x FILE" */
	if (mode == M_EXTRACT && mc.dir == NULL && optind < argc &&
	    (argc - optind >= 2 || is_dir(argv[optind])))
		mc.dir = argv[optind++];
	if (mc.dir == NULL)
		mc.dir = ".";
	if (argc - optind > 1 && mode != M_TREE && mode != M_CHECK && mode != M_EXTRACT &&
	    mode != M_VERIFY) {
		warnx_("one message at a time (-t, -c, -x and --verify take several)");
		usage(stderr);
		return EX_USAGE;
	}
	if (optind == argc)
		return run(&mc, mode, NULL);
	return run_all(&mc, mode, argv + optind, argc - optind);
}
