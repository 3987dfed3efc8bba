/* mxlookup — print the hosts an MTA tries for a mail domain, in order
 * (RFC 5321 5.1, RFC 974, RFC 7505). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "buf.h"
#include "err.h"
#include "mxlookup.h"

const char *const progname = "mxlookup";

#define TIMEOUT_MAX_MS  (10 * 60 * 1000)   /* a longer wait is a typo */
#define TRIES_MAX       10

static const struct option opts[] = {
	{ "server",     required_argument, NULL, 's' },
	{ "dns",        required_argument, NULL, 's' },   /* as smtp-send and smtpd name it */
	{ "addresses",  no_argument,       NULL, 'a' },
	{ "self",       required_argument, NULL, 'S' },
	{ "no-shuffle", no_argument,       NULL, 'n' },
	{ "timeout",    required_argument, NULL, 't' },
	{ "tries",      required_argument, NULL, 'r' },
	{ "verbose",    no_argument,       NULL, 'v' },
	{ "help",       no_argument,       NULL, 'h' },
	{ "version",    no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: mxlookup [-s SERVER[:PORT]] [-a] [--self HOST]... [--no-shuffle] [-v] DOMAIN...\n"
	    "Print the hosts an MTA would try for each mail DOMAIN, in order: PREFERENCE HOST.\n\n"
	    "  -s, --server=SERVER[:PORT]  ask this DNS server ([IPV6]:PORT for IPv6), not resolv.conf's\n"
	    "      --dns=SERVER[:PORT]     the same (the name smtp-send and smtpd use)\n"
	    "  -a, --addresses             print each host's IPv4 and IPv6 addresses\n"
	    "      --self=HOST|ADDR        drop MX hosts at or above our own preference (loop\n"
	    "                              avoidance); repeat for each name and address we have\n"
	    "      --no-shuffle            keep hosts of equal preference in the server's order\n"
	    "  -t, --timeout=SECS          wait per try (decimals allowed; default resolv.conf's or 5)\n"
	    "      --tries=N               tries per server (default resolv.conf's or 2)\n"
	    "  -v, --verbose               print every DNS query and answer like dig, on stderr\n"
	    "  -h, --help                  show this help\n"
	    "  -V, --version               show the version\n\n"
	    "Exit: 0 found, 68 no such domain / no MX and no address / null MX,\n"
	    "75 temporary failure (SERVFAIL, timeout), 78 this host is the best MX (--self).\n");
}

static int parse_ms(const char *s, int *ms)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v > 0) || v * 1000 > TIMEOUT_MAX_MS)
		return -1;
	*ms = (int)(v * 1000 + 0.5);
	return *ms > 0 ? 0 : -1;
}

static int parse_tries(const char *s, int *n)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 1 || v > TRIES_MAX)
		return -1;
	*n = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	struct mxlookup_opts o = { 0 };
	struct buf self = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:at:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.server = optarg; break;
		case 'a': o.addrs = 1; break;
		case 'S':       /* repeatable: every name and address we are known by */
			buf_printf(&self, "%s%s", self.len ? "," : "", optarg);
			break;
		case 'n': o.no_shuffle = 1; break;
		case 'v': o.verbose = 1; break;
		case 't':
			if (parse_ms(optarg, &o.timeout_ms) < 0)
				diex(EX_USAGE, "--timeout %s: want seconds, at most %d",
				    optarg, TIMEOUT_MAX_MS / 1000);
			break;
		case 'r':
			if (parse_tries(optarg, &o.tries) < 0)
				diex(EX_USAGE, "--tries %s: want 1 to %d", optarg, TRIES_MAX);
			break;
		case 'h': usage(stdout); buf_free(&self); return 0;
		case 'V': print_version(); buf_free(&self); return 0;
		default: usage(stderr); buf_free(&self); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		buf_free(&self);
		return EX_USAGE;
	}
	o.self = self.p;
	rc = mxlookup_run(&o, argv + optind, argc - optind, stdout);
	buf_free(&self);
	return rc;
}
