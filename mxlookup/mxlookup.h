/* mxlookup.h — the mxlookup program's one entry point (main.c only parses
 * the command line). */
#ifndef MXLOOKUP_H
#define MXLOOKUP_H

#include <stdio.h>

struct mxlookup_opts {
	const char *server;     /* -s SERVER[:PORT], NULL: /etc/resolv.conf */
	const char *self;       /* --self HOST */
	int addrs;              /* -a: print each host's addresses */
	int no_shuffle;         /* --no-shuffle */
	int verbose;            /* -v: print every DNS message like dig */
	int timeout_ms;         /* --timeout, 0: default */
	int tries;              /* --tries, 0: default */
};

/* Look up each of the n domains and print its hosts in trying order on
 * out.  Returns the exit code: 0, EX_NOHOST, EX_CONFIG or EX_TEMPFAIL
 * (the worst over all domains, a temporary failure first). */
int mxlookup_run(const struct mxlookup_opts *o, char *const *domains, int n, FILE *out);

#endif
