/* route.c — where each recipient goes: a fixed server (-s, --pipe), or the
 * MX hosts of its domain, as an MTA routes (RFC 5321 5.1).
 *
 * Recipients are grouped by domain.  For each domain the MX hosts are
 * tried in order, every address of a host in turn; a host that cannot be
 * reached, or that answers 4xx (to the session or to some recipients),
 * passes the recipients still without a final answer to the next host. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns.h"
#include "err.h"
#include "send.h"

int rcpt_exit(const struct rcpt *rv, size_t n)
{
	int ex = 0;

	for (size_t i = 0; i < n; i++) {
		int e = 0;

		if (rv[i].state == RS_PERM)
			e = rv[i].dataerr ? 65 : 69;
		else if (rv[i].state == RS_TEMP || rv[i].state == RS_PENDING)
			e = 75;
		/* worst wins: 65 > 69 > 75 > 0 */
		if (e != 0 && (ex == 0 || e < ex))
			ex = e;
	}
	return ex;
}

static void fail_rcpt(struct rcpt *r, enum rstate st, const char *enh, const char *host,
    const char *text)
{
	r->state = st;
	r->code = 0;
	snprintf(r->enh, sizeof r->enh, "%s", enh);
	snprintf(r->host, sizeof r->host, "%s", host);
	snprintf(r->text, sizeof r->text, "%s", text);
}

/* The recipients still worth trying become pending again; how many. */
static size_t retryable(struct rcpt *rv, size_t n, const char *domain)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const char *at = strrchr(rv[i].addr, '@');

		if (domain && (at == NULL || strcasecmp(at + 1, domain) != 0))
			continue;
		if (rv[i].state == RS_TEMP || rv[i].state == RS_PENDING) {
			rv[i].state = RS_PENDING;
			k++;
		}
	}
	return k;
}

/* Park the recipients of other domains so a session skips them. */
static void mark_others(struct rcpt *rv, size_t n, const char *domain, int park)
{
	for (size_t i = 0; i < n; i++) {
		const char *at = strrchr(rv[i].addr, '@');

		if (at && strcasecmp(at + 1, domain) == 0)
			continue;
		if (park && rv[i].state == RS_PENDING)
			rv[i].state = RS_TEMP, rv[i].code = -1;
		else if (!park && rv[i].state == RS_TEMP && rv[i].code == -1)
			rv[i].state = RS_PENDING, rv[i].code = 0;
	}
}

static void fixed_server(const struct opts *o, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n)
{
	struct peer p;
	char err[300], host[256];
	int port, r;

	if (o->pipe_cmd) {
		r = net_pipe(o->pipe_cmd, &p, err, sizeof err);
	} else {
		int dport = o->tls == TLSM_IMPLICIT ? 465 : o->lmtp ? 24 : 25;

		if (hostport_split(o->server, host, sizeof host, &port, dport) < 0) {
			snprintf(err, sizeof err, "bad server: %s", o->server);
			r = -1;
		} else {
			r = net_connect_host(host, port, SEND_CONNECT_SECS, &p, err, sizeof err);
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			fail_rcpt(&rv[i], RS_TEMP, "4.4.1", o->server ? o->server : "pipe", err);
		return;
	}
	smtp_session(o, &p, ctx, from, m, rv, n);
	peer_close(&p);
}

/* Try every address of one MX host until a session runs; 1 if one did. */
static int try_host(const struct opts *o, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n, const struct dns_mx *mx,
    const char *domain)
{
	int port = o->port ? o->port : 25;
	char err[300];

	for (size_t a = 0; a < mx->addrs.n; a++) {
		struct peer p;

		if (retryable(rv, n, domain) == 0)
			return 0;
		if (net_connect_addr(mx->host, mx->addrs.v[a].text, port, SEND_CONNECT_SECS, &p,
		    err, sizeof err) < 0) {
			if (o->verbose)
				fprintf(stderr, "* %s\n", err);
			for (size_t i = 0; i < n; i++)
				if (rv[i].state == RS_PENDING)
					fail_rcpt(&rv[i], RS_TEMP, "4.4.1", mx->host, err);
			continue;
		}
		if (smtp_session(o, &p, ctx, from, m, rv, n) != SESS_FAIL) {
			peer_close(&p);
			return 1;   /* the host answered: its other addresses are the same host */
		}
		peer_close(&p);
	}
	return 0;
}

static void by_mx(const struct opts *o, struct dns *d, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n, const char *domain)
{
	/* with --helo we know our own name: an MX list that leads back to us
	 * is cut there (RFC 5321 5.1) */
	struct dns_route route = { .want_addrs = 1, .self = o->helo };
	struct dns_mxlist l = { 0 };
	enum dns_status st = dns_mx(d, domain, &route, &l);
	char why[400];

	if (st != DNS_OK) {
		snprintf(why, sizeof why, "MX lookup for %s: %s%s%s", domain, dns_strstatus(st),
		    *dns_error(d) ? ": " : "", dns_error(d));
		for (size_t i = 0; i < n; i++)
			if (rv[i].state == RS_PENDING)
				fail_rcpt(&rv[i], st == DNS_TEMPFAIL ? RS_TEMP : RS_PERM,
				    st == DNS_TEMPFAIL ? "4.4.3" : st == DNS_LOOP ? "5.4.6" : "5.1.2",
				    domain, why);
		dns_mxlist_free(&l);
		return;
	}
	for (size_t h = 0; h < l.n; h++) {
		if (retryable(rv, n, domain) == 0)
			break;
		if (l.v[h].astatus != DNS_OK) {
			if (o->verbose)
				fprintf(stderr, "* MX %u %s: no address (%s)\n", l.v[h].pref,
				    l.v[h].host, dns_strstatus(l.v[h].astatus));
			continue;
		}
		if (o->verbose)
			fprintf(stderr, "* trying MX %u %s\n", l.v[h].pref, l.v[h].host);
		/* --quit-after studies one server: the first that answers */
		if (try_host(o, ctx, from, m, rv, n, &l.v[h], domain) && o->quit_after != ST_NONE)
			break;
	}
	for (size_t i = 0; i < n && o->quit_after == ST_NONE; i++)
		if (rv[i].state == RS_PENDING)
			fail_rcpt(&rv[i], RS_TEMP, "4.4.1", domain, "no MX host could be reached");
	dns_mxlist_free(&l);
}

/* The address in a domain literal "[192.0.2.1]" or "[IPv6:2001:db8::1]"
 * (RFC 5321 4.1.3) into a; 0, or -1 for a literal we cannot reach (a
 * General-address-literal tag other than IPv6, or a malformed one). */
static int literal_addr(const char *lit, struct dns_addr *a)
{
	char text[sizeof a->text + 8];
	size_t n = strlen(lit);
	const char *p = lit + 1;

	if (n < 3 || lit[n - 1] != ']' || n - 2 >= sizeof text)
		return -1;
	memset(a, 0, sizeof *a);
	a->family = AF_INET;
	if (strncasecmp(p, "IPv6:", 5) == 0)
		a->family = AF_INET6, p += 5;
	memcpy(text, p, (size_t)(lit + n - 1 - p));
	text[lit + n - 1 - p] = '\0';
	if (inet_pton(a->family, text, a->family == AF_INET ? (void *)&a->a.v4 : (void *)&a->a.v6) != 1)
		return -1;
	inet_ntop(a->family, &a->a, a->text, sizeof a->text);
	return 0;
}

/* RFC 5321 5.1: an address literal names the host itself; no MX is
 * looked up ("sans tenir compte des MX"). */
static void by_literal(const struct opts *o, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n, const char *domain)
{
	struct dns_addr a;
	struct dns_mx host = { .host = (char *)domain, .implicit = 1, .astatus = DNS_OK,
		.addrs = { &a, 1 } };

	if (literal_addr(domain, &a) < 0) {
		for (size_t i = 0; i < n; i++)
			if (rv[i].state == RS_PENDING)
				fail_rcpt(&rv[i], RS_PERM, "5.1.2", domain,
				    "bad or unsupported address literal (want [IPv4] or [IPv6:addr])");
		return;
	}
	if (o->verbose)
		fprintf(stderr, "* address literal %s: no MX lookup (RFC 5321 5.1)\n", domain);
	try_host(o, ctx, from, m, rv, n, &host, domain);
	for (size_t i = 0; i < n; i++)
		if (rv[i].state == RS_PENDING)
			fail_rcpt(&rv[i], RS_TEMP, "4.4.1", domain, "the host could not be reached");
}

/* Send to every pending recipient whose domain is an address literal
 * (when literal) or a name (when !literal), domain by domain. */
static void by_domain(const struct opts *o, struct dns *d, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n, int literal)
{
	for (size_t i = 0; i < n; i++) {
		const char *at = strrchr(rv[i].addr, '@');

		if (rv[i].state != RS_PENDING)
			continue;
		if (at == NULL || at[1] == '\0') {
			fail_rcpt(&rv[i], RS_PERM, "5.1.3", "", "no domain in address (use -s to send "
			    "to a server)");
			continue;
		}
		if ((at[1] == '[') != literal)
			continue;
		/* one domain at a time; the others wait parked */
		mark_others(rv, n, at + 1, 1);
		if (literal)
			by_literal(o, ctx, from, m, rv, n, at + 1);
		else
			by_mx(o, d, ctx, from, m, rv, n, at + 1);
		mark_others(rv, n, at + 1, 0);
	}
}

static int any_pending(const struct rcpt *rv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rv[i].state == RS_PENDING)
			return 1;
	return 0;
}

void deliver(const struct opts *o, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n)
{
	/* -vv shows the DNS questions and answers too, like dig */
	struct dns_opts dopt = { .server = o->dns, .trace = o->verbose > 1 ? stderr : NULL };
	struct dns *d;
	char err[300];

	if (o->server || o->pipe_cmd) {
		fixed_server(o, ctx, from, m, rv, n);
		return;
	}
	/* literals first: they need no DNS server at all */
	by_domain(o, NULL, ctx, from, m, rv, n, 1);
	if (!any_pending(rv, n))
		return;
	if ((d = dns_open(&dopt, err, sizeof err)) == NULL) {
		for (size_t i = 0; i < n; i++)
			if (rv[i].state == RS_PENDING)
				fail_rcpt(&rv[i], RS_TEMP, "4.4.3", "dns", err);
		return;
	}
	by_domain(o, d, ctx, from, m, rv, n, 0);
	dns_close(d);
}
