/* authres.c — smtpd's domain authentication (--authres, --authres-policy,
 * --dkim-sign): SPF at MAIL FROM, DKIM, DMARC and ARC after DATA with the
 * verdict in an Authentication-Results field (RFC 8601), and DKIM signing
 * of what authenticated users submit.  The checks are mailauth's, from
 * lib/ (spf, dkim, dmarc, arc); this file only decides what smtpd does
 * with them:
 *
 *   SPF fail (-all)          550 5.7.23 at MAIL FROM   (RFC 7372)
 *   SPF temperror            451 4.7.24 at MAIL FROM
 *   DMARC fail, p=reject     550 5.7.26 after DATA
 *   DMARC fail, quarantine   X-Spam-Flag: YES, so the MDA files it into Junk
 *   DMARC temperror          451 4.4.3 after DATA
 *
 * and only with --authres-policy: --authres alone reports and accepts. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "arc.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "err.h"
#include "smtpd.h"
#include "spf.h"

#define ERR_MAX 256

struct authres_signer {
	char domain[DKIM_DOMAIN_MAX + 1];
	char selector[64];
	EVP_PKEY *key;
};

int authres_option(struct config *c, const char *opt, const char *arg)
{
	struct authres_signer *g;
	char err[ERR_MAX];
	const char *c1, *c2;

	if (strcmp(opt, "authres") == 0)
		return c->authres = 1, 0;
	if (strcmp(opt, "authres-policy") == 0)
		return c->authres = c->authres_policy = 1, 0;
	/* --dkim-sign DOMAIN:SELECTOR:KEYFILE; read now, before privileges go */
	c1 = strchr(arg, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || c1 == arg || c2 == c1 + 1 || !c2[1] || (size_t)(c1 - arg) > DKIM_DOMAIN_MAX ||
	    (size_t)(c2 - c1 - 1) >= sizeof g->selector)
		diex(EX_USAGE, "--dkim-sign %s: want DOMAIN:SELECTOR:KEYFILE", arg);
	g = xcalloc(1, sizeof *g);
	snprintf(g->domain, sizeof g->domain, "%.*s", (int)(c1 - arg), arg);
	snprintf(g->selector, sizeof g->selector, "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	if (!(g->key = dkim_key_load(c2 + 1, err, sizeof err)))
		diex(EX_NOINPUT, "--dkim-sign: %s", err);
	c->signer = g;
	return 0;
}

static struct dns *open_dns(const struct session *s)
{
	struct dns_opts o = { .server = s->cfg->dns_server };
	char err[ERR_MAX];
	struct dns *d = dns_open(&o, err, sizeof err);

	if (!d && s->cfg->verbose)
		warnx_("authres: dns: %s", err);
	return d;
}

int authres_mail(struct session *s)
{
	struct spf_opts o = { .receiver = s->cfg->hostname };
	struct spf_out r;
	enum ar_result res;

	s->spf_result = AR_NONE;
	s->spf_ar[0] = '\0';
	/* authenticated users and pipes (no address to check) skip SPF */
	if (!s->cfg->authres || s->authuser[0] || !s->peer.addr[0])
		return 0;
	if (!(o.dns = open_dns(s))) {
		res = AR_TEMPERROR;
	} else {
		res = spf_check(&o, s->peer.addr, s->from, s->helo, &r);
		dns_close(o.dns);
	}
	s->spf_result = res;
	snprintf(s->spf_ar, sizeof s->spf_ar, "spf=%s smtp.%s=%s", ar_name(res),
	    s->from[0] ? "mailfrom" : "helo", s->from[0] ? s->from : s->helo);
	log_line(s, "%s client=%s", s->spf_ar, s->peer.addr);
	if (!s->cfg->authres_policy)
		return 0;
	if (res == AR_FAIL) {
		reply(s, 550, "5.7.23 SPF: %s does not allow %s to send its mail",
		    r.domain, s->peer.addr);
		return -1;
	}
	if (res == AR_TEMPERROR) {
		reply(s, 451, "4.7.24 SPF: DNS lookups failed for now, try again later");
		return -1;
	}
	return 0;
}

/* Put text (LF line ends, ending with LF) before m's first line. */
static void prepend(struct buf *m, const struct buf *text)
{
	struct buf n = { 0 };

	buf_add(&n, text->p, text->len);
	buf_add(&n, m->p, m->len);
	buf_free(m);
	*m = n;
}

static int sign(struct session *s, struct buf *m)
{
	const struct authres_signer *g = s->cfg->signer;
	struct dkim_sign_opts o = { .domain = g->domain, .selector = g->selector, .key = g->key,
		.hc = CANON_RELAXED, .bc = CANON_RELAXED, .body_len = -1 };
	struct buf f = { 0 };
	char err[ERR_MAX];

	if (dkim_sign(m->p, m->len, &o, &f, err, sizeof err) < 0) {
		log_line(s, "dkim-sign: not signed: %s", err);
		return 0;       /* a message without From is still delivered */
	}
	prepend(m, &f);
	buf_free(&f);
	return 0;
}

/* The Authentication-Results field for m, and what the policy says. */
static int check(struct session *s, struct buf *m, char *why, size_t cap)
{
	struct dkim_verify_opts v = { 0 };
	struct dmarc_opts dopt = { .sample = -1 };
	struct dkim_result *res = NULL;
	struct dmarc_out dm;
	struct arc_out arc;
	struct buf ar = { 0 };
	struct dmarc_psl_lazy psl = { 0 };     /* read only if an organizational domain is needed */
	size_t nres = 0;
	const char *sd = s->from[0] ? addr_domain(s->from) : s->helo;
	int code = 0;

	if (!(v.dns = open_dns(s)))
		return 0;
	dopt.dns = v.dns;
	dopt.psl_lazy = &psl;
	dkim_verify(m->p, m->len, &v, &res, &nres);
	dmarc_check(&dopt, m->p, m->len, res, nres, s->spf_result, sd, &dm);
	arc_verify(m->p, m->len, &v, &arc);
	buf_printf(&ar, "Authentication-Results: %s", s->cfg->hostname);
	if (s->spf_ar[0])
		buf_printf(&ar, ";\n\t%s", s->spf_ar);
	for (size_t i = 0; i < nres; i++)
		buf_printf(&ar, ";\n\tdkim=%s%s%s%s header.d=%s header.s=%s header.b=%s",
		    ar_name(res[i].res), res[i].reason[0] ? " reason=\"" : "", res[i].reason,
		    res[i].reason[0] ? "\"" : "", res[i].d, res[i].s, res[i].b);
	if (nres == 0)
		buf_adds(&ar, ";\n\tdkim=none");
	buf_printf(&ar, ";\n\tdmarc=%s", ar_name(dm.res));
	if (dm.res == AR_PASS || dm.res == AR_FAIL)
		buf_printf(&ar, " (p=%s dis=%s)", dm.p, dm.disposition);
	if (dm.from[0])
		buf_printf(&ar, " header.from=%s", dm.from);
	buf_printf(&ar, ";\n\tarc=%s", ar_name(arc.cv));
	if (arc.cv == AR_PASS)
		buf_printf(&ar, " (i=%d)", arc.instance);
	buf_adds(&ar, "\n");
	log_line(s, "authres: dmarc=%s dis=%s header.from=%s", ar_name(dm.res),
	    dm.disposition[0] ? dm.disposition : "none", dm.from);
	if (s->cfg->authres_policy && dm.res == AR_FAIL && strcmp(dm.disposition, "reject") == 0) {
		snprintf(why, cap, "5.7.26 DMARC: %s asks to reject mail that fails SPF and DKIM",
		    dm.from);
		code = 550;
	} else if (s->cfg->authres_policy && dm.res == AR_TEMPERROR) {
		snprintf(why, cap, "4.4.3 DMARC: DNS lookups failed for now, try again later");
		code = 451;
	} else if (s->cfg->authres_policy && dm.res == AR_FAIL &&
	    strcmp(dm.disposition, "quarantine") == 0) {
		/* the X-Spam path: maildeliver files the message into Junk */
		buf_printf(&ar, "X-Spam-Flag: YES\nX-Spam-Status: Yes, DMARC quarantine (%s)\n",
		    dm.from);
	}
	prepend(m, &ar);
	buf_free(&ar);
	free(res);
	dmarc_psl_free(psl.list);
	dns_close(v.dns);
	return code;
}

int authres_message(struct session *s, struct buf *m, char *why, size_t cap)
{
	if (s->authuser[0])
		return s->cfg->signer ? sign(s, m) : 0;
	if (!s->cfg->authres || !m->p)
		return 0;
	return check(s, m, why, cap);
}
