/* mxlookup.c — print the hosts an MTA would try for a domain, in order,
 * using lib/dns (the very code smtp-send routes with). */
#include <sysexits.h>
#include <stdio.h>

#include "dns.h"
#include "err.h"
#include "mxlookup.h"

#define ERR_MAX 256

static void print_list(const struct dns_mxlist *l, int addrs, FILE *out)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct dns_mx *x = &l->v[i];
		fprintf(out, "%u %s", x->pref, x->host);
		if (addrs) {
			for (size_t k = 0; k < x->addrs.n; k++)
				fprintf(out, " %s", x->addrs.v[k].text);
			if (x->addrs.n == 0)
				fprintf(out, " (%s)", x->astatus == DNS_TEMPFAIL ?
				    "address lookup failed" : "no address");
		}
		fputc('\n', out);
	}
	fflush(out);
}

/* Say on stderr what a student would otherwise have to guess. */
static void explain(const char *domain, const struct dns_mxlist *l, const char *self)
{
	if (l->implicit)
		warnx_("%s: no MX record; the domain's address is an implicit MX (RFC 5321 5.1)",
		    domain);
	if (self && l->self_found)
		warnx_("%s: %s is an MX at preference %u: dropped %zu host%s at preference >= %u "
		    "(RFC 5321 5.1 loop avoidance)", domain, self, l->self_pref, l->self_dropped,
		    l->self_dropped == 1 ? "" : "s", l->self_pref);
	else if (self)
		warnx_("%s: %s is not an MX of this domain", domain, self);
}

static int one(struct dns *d, const struct mxlookup_opts *o, const char *domain, FILE *out)
{
	struct dns_route r = { o->self, o->no_shuffle, o->addrs };
	struct dns_mxlist l;
	enum dns_status st = dns_mx(d, domain, &r, &l);

	if (st == DNS_OK || (st != DNS_LOOP && l.n > 0)) {
		explain(domain, &l, o->self);
		print_list(&l, o->addrs, out);
	}
	if (st == DNS_LOOP)
		explain(domain, &l, o->self);
	if (st == DNS_TEMPFAIL)
		warnx_("%s: %s: %s", domain, dns_strstatus(st), dns_error(d));
	else if (st == DNS_LOOP || (st == DNS_NODATA && l.n > 0))
		warnx_("%s: %s", domain, dns_error(d));
	else if (st != DNS_OK)
		warnx_("%s: %s", domain, dns_strstatus(st));
	dns_mxlist_free(&l);
	return dns_exit_code(st);
}

/* Temporary beats permanent in the exit code: a retry may fix it. */
static int worse(int a, int b)
{
	if (a == EX_TEMPFAIL || b == EX_TEMPFAIL)
		return EX_TEMPFAIL;
	return a ? a : b;
}

int mxlookup_run(const struct mxlookup_opts *o, char *const *domains, int n, FILE *out)
{
	struct dns_opts dopts = { o->server, o->timeout_ms, o->tries, o->verbose ? stderr : NULL, 0 };
	char err[ERR_MAX];
	struct dns *d = dns_open(&dopts, err, sizeof err);
	int rc = 0;

	if (!d) {
		warnx_("%s", err);
		return o->server ? EX_USAGE : EX_OSFILE;
	}
	for (int i = 0; i < n; i++) {
		if (n > 1)
			fprintf(out, "%s%s:\n", i ? "\n" : "", domains[i]);
		rc = worse(rc, one(d, o, domains[i], out));
	}
	dns_close(d);
	return rc;
}
