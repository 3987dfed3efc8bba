/* spf.c — RFC 7208 check_host() (see spf.h).
 *
 * Design note.  A record is read twice: first its whole syntax is checked
 * (4.6: any syntax error anywhere is a permerror before anything is
 * evaluated), then its terms are evaluated left to right.  Every DNS
 * query a term causes goes through counted helpers, so the limits of
 * 4.6.4 hold across include and redirect: the counters live in one
 * struct spf for the whole evaluation, never in the recursion. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "spf.h"

#define SPF_DEPTH_MAX 12        /* include/redirect nesting; the 10 lookups end it first */

enum mech { M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS,
	MOD_REDIRECT, MOD_EXP, MOD_OTHER };

struct term {
	enum mech kind;
	char qual;              /* + - ~ ? */
	const char *arg;        /* domain-spec / network, or NULL */
	size_t arglen;
	int cidr4, cidr6;       /* -1: not given */
};

struct spf {
	const struct spf_opts *o;
	int fam;                        /* AF_INET or AF_INET6 */
	unsigned char ip[16];
	char ipc[INET6_ADDRSTRLEN];     /* the address as printed (%{c}) */
	const char *sender, *helo;
	char local[256], sdomain[SPF_DOMAIN_MAX + 2];
	char ptrname[SPF_DOMAIN_MAX + 2];       /* %{p}, once found */
	int lookups, voids, depth;
	struct spf_out *out;
};

static void trace(const struct spf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trace(const struct spf *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->o->trace)
		return;
	va_start(ap, fmt);
	fprintf(s->o->trace, "spf: %*s", s->depth * 2, "");
	vfprintf(s->o->trace, fmt, ap);
	fputc('\n', s->o->trace);
	va_end(ap);
}

static enum ar_result error(struct spf *s, enum ar_result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum ar_result error(struct spf *s, enum ar_result r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->out->why, sizeof s->out->why, fmt, ap);
	va_end(ap);
	trace(s, "%s: %s", ar_name(r), s->out->why);
	return r;
}

/* ------------------------------------------------------------- syntax */

static int name_is(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(p, name, n) == 0;
}

/* 7.1 macro-string: "%{" letter *DIGIT ["r"] *delimiter "}", "%%", "%_",
 * "%-", or a visible character. */
static int macro_syntax(const char *p, size_t n, int exp)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c != '%') {
			if (c < 0x21 || c > 0x7e) {
				if (!(exp && c == ' '))
					return -1;
			}
			continue;
		}
		if (++i >= n)
			return -1;
		if (p[i] == '%' || p[i] == '_' || p[i] == '-')
			continue;
		if (p[i] != '{' || ++i >= n ||
		    !strchr(exp ? "slodiphvcrtSLODIPHVCRT" : "slodiphvSLODIPHV", p[i]))
			return -1;
		for (i++; i < n && isdigit((unsigned char)p[i]); i++)
			;
		if (i < n && (p[i] == 'r' || p[i] == 'R'))
			i++;
		while (i < n && strchr(".-+,/_=", p[i]))
			i++;
		if (i >= n || p[i] != '}')
			return -1;
	}
	return 0;
}

/* 7.1 domain-end: "." toplabel ["."] or a macro at the end. */
static int domain_spec_syntax(const char *p, size_t n)
{
	size_t e = n, b;
	int alpha = 0;

	if (n == 0 || macro_syntax(p, n, 0) < 0)
		return -1;
	if (p[n - 1] == '}')
		return 0;
	if (e > 0 && p[e - 1] == '.')
		e--;
	for (b = e; b > 0 && p[b - 1] != '.'; b--)
		;
	if (b == 0 || b == e || p[b] == '-' || p[e - 1] == '-')
		return -1;
	for (size_t i = b; i < e; i++) {
		if (!isalnum((unsigned char)p[i]) && p[i] != '-')
			return -1;
		alpha |= isalpha((unsigned char)p[i]) != 0;
	}
	return alpha ? 0 : -1;
}

/* "/N" with no leading zero, N <= max; *v gets N.  -1 if malformed. */
static int cidr(const char *p, size_t n, int max, int *v)
{
	int x = 0;

	if (n < 1 || n > 3 || (p[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		x = x * 10 + (p[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* Split "[:domain-spec][/cidr4][//cidr6]" (rest[0..n)) into t. */
static int dual_cidr(const char *rest, size_t n, struct term *t, int allow6)
{
	const char *dd = NULL, *end = rest + n;

	for (const char *p = rest; p + 1 < end; p++)
		if (p[0] == '/' && p[1] == '/')
			dd = p;
	if (dd) {
		if (!allow6 || cidr(dd + 2, (size_t)(end - dd - 2), 128, &t->cidr6) < 0)
			return -1;
		end = dd;
	}
	for (const char *p = end; p > rest; p--)
		if (p[-1] == '/') {
			if (cidr(p, (size_t)(end - p), 32, &t->cidr4) < 0)
				return -1;
			end = p - 1;
			break;
		} else if (!isdigit((unsigned char)p[-1])) {
			break;
		}
	if (end > rest) {
		if (rest[0] != ':')
			return -1;
		t->arg = rest + 1;
		t->arglen = (size_t)(end - rest - 1);
		return domain_spec_syntax(t->arg, t->arglen);
	}
	return 0;
}

static int ip_network(const char *p, size_t n, struct term *t, int v6)
{
	char a[INET6_ADDRSTRLEN + 8];
	unsigned char buf[16];
	const char *slash = memchr(p, '/', n);
	size_t al = slash ? (size_t)(slash - p) : n;

	if (al == 0 || al >= sizeof a)
		return -1;
	memcpy(a, p, al);
	a[al] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, buf) != 1)
		return -1;
	t->arg = p;
	t->arglen = al;
	if (slash && cidr(slash + 1, n - al - 1, v6 ? 128 : 32, v6 ? &t->cidr6 : &t->cidr4) < 0)
		return -1;
	return 0;
}

static const struct { const char *name; enum mech kind; } mechs[] = {
	{ "all", M_ALL }, { "include", M_INCLUDE }, { "a", M_A }, { "mx", M_MX },
	{ "ptr", M_PTR }, { "ip4", M_IP4 }, { "ip6", M_IP6 }, { "exists", M_EXISTS },
};

/* Parse one term p[0..n) into t.  0, or -1 with *why. */
static int parse_term(const char *p, size_t n, struct term *t, const char **why)
{
	size_t nl = 0;

	memset(t, 0, sizeof *t);
	t->cidr4 = t->cidr6 = -1;
	t->qual = '+';
	while (nl < n && (isalnum((unsigned char)p[nl]) || p[nl] == '-' || p[nl] == '_' ||
	    p[nl] == '.'))
		nl++;
	if (nl > 0 && nl < n && p[nl] == '=' && isalpha((unsigned char)p[0])) {
		/* 4.6.1 modifier: name "=" macro-string */
		t->kind = name_is(p, nl, "redirect") ? MOD_REDIRECT : name_is(p, nl, "exp") ?
		    MOD_EXP : MOD_OTHER;
		t->arg = p + nl + 1;
		t->arglen = n - nl - 1;
		if (t->kind == MOD_OTHER ? macro_syntax(t->arg, t->arglen, 0) < 0 :
		    domain_spec_syntax(t->arg, t->arglen) < 0) {
			*why = "bad modifier value";
			return -1;
		}
		return 0;
	}
	if (n > 0 && strchr("+-~?", p[0])) {
		t->qual = p[0];
		p++;
		n--;
	}
	for (nl = 0; nl < n && isalnum((unsigned char)p[nl]); nl++)
		;
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++) {
		if (!name_is(p, nl, mechs[i].name))
			continue;
		t->kind = mechs[i].kind;
		switch (t->kind) {
		case M_ALL:
			if (nl == n)
				return 0;
			break;
		case M_INCLUDE:
		case M_EXISTS:
			if (nl < n && p[nl] == ':' &&
			    domain_spec_syntax(p + nl + 1, n - nl - 1) == 0) {
				t->arg = p + nl + 1;
				t->arglen = n - nl - 1;
				return 0;
			}
			break;
		case M_A:
		case M_MX:
			if (dual_cidr(p + nl, n - nl, t, 1) == 0)
				return 0;
			break;
		case M_PTR:
			if (nl == n)
				return 0;
			if (p[nl] == ':' && domain_spec_syntax(p + nl + 1, n - nl - 1) == 0) {
				t->arg = p + nl + 1;
				t->arglen = n - nl - 1;
				return 0;
			}
			break;
		case M_IP4:
		case M_IP6:
			if (nl < n && p[nl] == ':' &&
			    ip_network(p + nl + 1, n - nl - 1, t, t->kind == M_IP6) == 0)
				return 0;
			break;
		default:
			break;
		}
		*why = "bad mechanism argument";
		return -1;
	}
	*why = "unknown mechanism";
	return -1;
}

/* The terms of rec after "v=spf1", one at a time: *p advances. */
static int next_term(const char **p, const char **t, size_t *n)
{
	while (**p == ' ')
		(*p)++;
	if (!**p)
		return 0;
	*t = *p;
	*n = strcspn(*p, " ");
	*p += *n;
	return 1;
}

static int is_spf1(const char *rec)
{
	return strncasecmp(rec, "v=spf1", 6) == 0 && (rec[6] == ' ' || rec[6] == '\0');
}

int spf_record_syntax(const char *rec, const char **why)
{
	const char *p = rec + 6, *t;
	size_t n;
	int redirects = 0, exps = 0;
	struct term x;

	if (!is_spf1(rec)) {
		*why = "not an SPF record";
		return -1;
	}
	for (const char *c = rec; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) {
			*why = "control or 8-bit byte in the record";
			return -1;
		}
	while (next_term(&p, &t, &n)) {
		if (parse_term(t, n, &x, why) < 0)
			return -1;
		redirects += x.kind == MOD_REDIRECT;
		exps += x.kind == MOD_EXP;
	}
	if (redirects > 1 || exps > 1) {        /* 6: "MUST NOT appear more than once" */
		*why = "redirect= or exp= given twice";
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- macros */

/* Append value v transformed by digits/reverse/delimiters (7.3). */
static void transform(const char *v, unsigned keep, int rev, const char *delims,
    int upper, struct buf *out)
{
	const char *part[SPF_MACRO_PARTS];
	size_t len[SPF_MACRO_PARTS], np = 0, from;
	const char *p = v;

	for (;;) {
		size_t l = strcspn(p, delims);
		if (np < SPF_MACRO_PARTS) {
			part[np] = p;
			len[np++] = l;
		}
		if (!p[l])
			break;
		p += l + 1;
	}
	if (rev)
		for (size_t i = 0; i < np / 2; i++) {
			const char *tp = part[i];
			size_t tl = len[i];
			part[i] = part[np - 1 - i];
			len[i] = len[np - 1 - i];
			part[np - 1 - i] = tp;
			len[np - 1 - i] = tl;
		}
	from = keep && keep < np ? np - keep : 0;
	for (size_t i = from; i < np; i++) {
		if (i > from)
			buf_addc(out, '.');
		for (size_t k = 0; k < len[i]; k++) {
			unsigned char c = (unsigned char)part[i][k];
			if (upper && !isalnum(c) && !strchr("-._~", c))
				buf_printf(out, "%%%02X", c);   /* 7.3: URL-escaped */
			else
				buf_addc(out, c);
		}
	}
}

static int ptr_validate(struct spf *s, const char *target, char *found, size_t cap);

/* The value of macro letter c. */
static void macro_value(struct spf *s, char c, const char *domain, struct buf *v)
{
	switch (tolower((unsigned char)c)) {
	case 's': buf_adds(v, s->sender); break;
	case 'l': buf_adds(v, s->local); break;
	case 'o': buf_adds(v, s->sdomain); break;
	case 'd': buf_adds(v, domain); break;
	case 'h': buf_adds(v, s->helo ? s->helo : ""); break;
	case 'v': buf_adds(v, s->fam == AF_INET ? "in-addr" : "ip6"); break;
	case 'c': buf_adds(v, s->ipc); break;
	case 'r': buf_adds(v, s->o->receiver ? s->o->receiver : "unknown"); break;
	case 't': buf_printf(v, "%lld", (long long)(s->o->now ? s->o->now : time(NULL))); break;
	case 'i':
		if (s->fam == AF_INET) {
			buf_adds(v, s->ipc);
		} else {
			for (int i = 0; i < 16; i++)    /* 7.3: dot-format nibbles */
				buf_printf(v, "%s%x.%x", i ? "." : "", s->ip[i] >> 4, s->ip[i] & 15);
		}
		break;
	case 'p':
		if (!s->ptrname[0])
			ptr_validate(s, domain, s->ptrname, sizeof s->ptrname);
		buf_adds(v, s->ptrname[0] ? s->ptrname : "unknown");
		break;
	}
}

/* Expand macro-string p[0..n) (syntax already checked) into out. */
static void expand(struct spf *s, const char *p, size_t n, const char *domain, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		struct buf v = { 0 };
		char letter, delims[8] = "";
		unsigned keep = 0;
		int rev = 0, nd = 0;

		if (p[i] != '%') {
			buf_addc(out, p[i]);
			continue;
		}
		i++;
		if (p[i] != '{') {
			buf_adds(out, p[i] == '%' ? "%" : p[i] == '_' ? " " : "%20");
			continue;
		}
		letter = p[++i];
		for (i++; isdigit((unsigned char)p[i]); i++)
			keep = keep > SPF_MACRO_PARTS ? keep : keep * 10 + (unsigned)(p[i] - '0');
		if (p[i] == 'r' || p[i] == 'R') {
			rev = 1;
			i++;
		}
		for (; p[i] != '}'; i++)
			if (nd < 7 && !strchr(delims, p[i]))
				delims[nd++] = p[i];
		if (!nd)
			delims[0] = '.';
		buf_adds(&v, "");
		macro_value(s, letter, domain, &v);
		transform(v.p, keep, rev, delims, isupper((unsigned char)letter), out);
		buf_free(&v);
	}
	buf_adds(out, "");
}

/* A domain-spec expanded, cut to 253 bytes from the left (7.3). */
static void expand_domain(struct spf *s, const struct term *t, const char *domain, char *out,
    size_t cap)
{
	struct buf b = { 0 };
	const char *p;

	if (!t->arg) {
		snprintf(out, cap, "%s", domain);
		return;
	}
	expand(s, t->arg, t->arglen, domain, &b);
	p = b.p;
	while (strlen(p) > SPF_DOMAIN_MAX && strchr(p, '.'))
		p = strchr(p, '.') + 1;
	snprintf(out, cap, "%s", p);
	buf_free(&b);
}

/* ---------------------------------------------------------------- DNS */

/* One query of a term.  Returns DNS_OK (records in a), DNS_NODATA /
 * DNS_NXDOMAIN (a void lookup, counted), DNS_TEMPFAIL; -1 in *limit when
 * the void limit is passed. */
static enum dns_status query(struct spf *s, const char *name, int type, struct dns_answer *a,
    int *over)
{
	enum dns_status st = dns_query(s->o->dns, name, type, a);

	*over = 0;
	if (st == DNS_NXDOMAIN || st == DNS_NODATA || st == DNS_BADNAME) {
		s->voids++;
		s->out->voids = s->voids;
		trace(s, "void lookup %d of %d: %s", s->voids, SPF_VOIDS_MAX, name);
		*over = s->voids > SPF_VOIDS_MAX;
		return DNS_NODATA;
	}
	return st;
}

/* Count a term that queries DNS (4.6.4); nonzero when over the limit. */
static int count_lookup(struct spf *s)
{
	s->out->lookups = ++s->lookups;
	return s->lookups > SPF_LOOKUPS_MAX;
}

static int in_net(const struct spf *s, int fam, const unsigned char *net, int bits)
{
	int full = bits / 8, rest = bits % 8;

	if (fam != s->fam)
		return 0;
	if (memcmp(s->ip, net, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((s->ip[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

static int text_in_net(const struct spf *s, const char *text, int c4, int c6)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, text, a) == 1)
		return in_net(s, AF_INET, a, c4 < 0 ? 32 : c4);
	if (inet_pton(AF_INET6, text, a) == 1)
		return in_net(s, AF_INET6, a, c6 < 0 ? 128 : c6);
	return 0;
}

/* Does host have an address that matches (cidr), asked as the client's
 * family?  1, 0, or -1 temperror; void lookups counted when count. */
static int host_matches(struct spf *s, const char *host, int c4, int c6, int count, int *over)
{
	struct dns_answer a;
	enum dns_status st;
	int hit = 0, type = s->fam == AF_INET ? ns_t_a : ns_t_aaaa;

	*over = 0;
	st = count ? query(s, host, type, &a, over) : dns_query(s->o->dns, host, type, &a);
	if (st == DNS_TEMPFAIL) {
		dns_answer_free(&a);
		return -1;
	}
	for (size_t i = 0; st == DNS_OK && i < a.n && !hit; i++)
		hit = text_in_net(s, a.text[i], c4, c6);
	dns_answer_free(&a);
	return hit;
}

static int under(const char *name, const char *target)
{
	size_t nl = strlen(name), tl = strlen(target);

	return dns_name_eq(name, target) || (nl > tl && name[nl - tl - 1] == '.' &&
	    strncasecmp(name + nl - tl, target, tl) == 0);
}

/* 5.5: the client's PTR names (at most 10) whose own addresses include
 * the client.  Returns 1 with the first one equal to or under target in
 * found, else 0 with any validated name (or "") in found. */
static int ptr_validate(struct spf *s, const char *target, char *found, size_t cap)
{
	char rev[DNS_NAME_MAX];
	struct dns_answer a;
	int over, hit = 0;

	found[0] = '\0';
	if (dns_bl_name(s->ipc, s->fam == AF_INET ? "in-addr.arpa" : "ip6.arpa", rev,
	    sizeof rev) < 0 || dns_query(s->o->dns, rev, ns_t_ptr, &a) != DNS_OK) {
		dns_answer_free(&a);
		return 0;
	}
	for (size_t i = 0; i < a.n && i < SPF_NAMES_MAX && !hit; i++) {
		char *name = a.text[i];
		size_t nl = strlen(name);
		if (nl > 1 && name[nl - 1] == '.')
			name[nl - 1] = '\0';
		if (host_matches(s, name, -1, -1, 0, &over) != 1)
			continue;
		hit = under(name, target);
		if (hit || !found[0])
			snprintf(found, cap, "%s", name);
	}
	dns_answer_free(&a);
	return hit;
}

/* ------------------------------------------------------------ evaluate */

static enum ar_result check_host(struct spf *s, const char *domain, int included);

static int over_limit(struct spf *s, enum ar_result *res)
{
	*res = error(s, AR_PERMERROR, "more than %d DNS-querying terms (RFC 7208 4.6.4)",
	    SPF_LOOKUPS_MAX);
	return -1;
}

static int void_limit(struct spf *s, enum ar_result *res)
{
	*res = error(s, AR_PERMERROR, "more than %d void lookups (RFC 7208 4.6.4)",
	    SPF_VOIDS_MAX);
	return -1;
}

static int temp(struct spf *s, enum ar_result *res, const char *name)
{
	*res = error(s, AR_TEMPERROR, "DNS lookup of %s failed for now", name);
	return -1;
}

static int match_include(struct spf *s, const char *target, enum ar_result *res)
{
	enum ar_result r = check_host(s, target, 1);

	switch (r) {
	case AR_PASS:
		return 1;
	case AR_TEMPERROR:
	case AR_PERMERROR:
		*res = r;
		return -1;
	case AR_NONE:           /* 5.2: an include of nothing is an error */
		*res = error(s, AR_PERMERROR, "include:%s has no SPF record", target);
		return -1;
	default:
		return 0;
	}
}

static int match_mx(struct spf *s, const struct term *t, const char *target, enum ar_result *res)
{
	struct dns_answer a;
	int over, hit = 0;
	enum dns_status st = query(s, target, ns_t_mx, &a, &over);

	if (st == DNS_TEMPFAIL || over) {
		dns_answer_free(&a);
		return over ? void_limit(s, res) : temp(s, res, target);
	}
	if (a.n > SPF_NAMES_MAX) {
		dns_answer_free(&a);
		*res = error(s, AR_PERMERROR, "%s has more than %d MX records (RFC 7208 4.6.4)",
		    target, SPF_NAMES_MAX);
		return -1;
	}
	for (size_t i = 0; i < a.n && !hit; i++) {
		const char *host = strchr(a.text[i], ' ');
		if (!host || strcmp(host + 1, ".") == 0)
			continue;
		hit = host_matches(s, host + 1, t->cidr4, t->cidr6, 0, &over);
		if (hit < 0) {
			dns_answer_free(&a);
			return temp(s, res, host + 1);
		}
	}
	dns_answer_free(&a);
	return hit;
}

static int match_ipnet(struct spf *s, const struct term *t)
{
	char a[INET6_ADDRSTRLEN];
	unsigned char net[16];
	int v6 = t->kind == M_IP6;

	snprintf(a, sizeof a, "%.*s", (int)t->arglen, t->arg);
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, net) != 1)
		return 0;
	return in_net(s, v6 ? AF_INET6 : AF_INET, net, v6 ? (t->cidr6 < 0 ? 128 : t->cidr6) :
	    (t->cidr4 < 0 ? 32 : t->cidr4));
}

/* 1 match, 0 no match, -1 error with *res set. */
static int match(struct spf *s, const struct term *t, const char *domain, enum ar_result *res)
{
	char target[SPF_DOMAIN_MAX + 2], found[SPF_DOMAIN_MAX + 2];
	struct dns_answer a;
	int over, r;

	if (t->kind == M_ALL)
		return 1;
	if (t->kind == M_IP4 || t->kind == M_IP6)
		return match_ipnet(s, t);
	if (count_lookup(s))
		return over_limit(s, res);
	expand_domain(s, t, domain, target, sizeof target);
	switch (t->kind) {
	case M_INCLUDE:
		return match_include(s, target, res);
	case M_A:
		r = host_matches(s, target, t->cidr4, t->cidr6, 1, &over);
		return over ? void_limit(s, res) : r < 0 ? temp(s, res, target) : r;
	case M_MX:
		return match_mx(s, t, target, res);
	case M_PTR:
		return ptr_validate(s, target, found, sizeof found);
	case M_EXISTS:
		r = query(s, target, ns_t_a, &a, &over);
		dns_answer_free(&a);
		return over ? void_limit(s, res) : r == DNS_TEMPFAIL ? temp(s, res, target) :
		    r == DNS_OK;
	default:
		return 0;
	}
}

/* 6.2: the explanation for a fail, errors ignored. */
static void explain(struct spf *s, const struct term *t, const char *domain)
{
	char target[SPF_DOMAIN_MAX + 2];
	struct dns_answer a;
	struct buf b = { 0 };

	expand_domain(s, t, domain, target, sizeof target);
	if (dns_txt(s->o->dns, target, &a) == DNS_OK && a.n == 1 &&
	    macro_syntax(a.text[0], strlen(a.text[0]), 1) == 0) {
		expand(s, a.text[0], strlen(a.text[0]), domain, &b);
		snprintf(s->out->exp, sizeof s->out->exp, "%s", b.p);
		trace(s, "exp=%s: %s", target, s->out->exp);
	}
	dns_answer_free(&a);
	buf_free(&b);
}

static enum ar_result qualifier(char q)
{
	return q == '-' ? AR_FAIL : q == '~' ? AR_SOFTFAIL : q == '?' ? AR_NEUTRAL : AR_PASS;
}

/* 4.3: a name we can look up: labels of 1 to 63, at most 253, two labels. */
static int domain_ok(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > SPF_DOMAIN_MAX + 1 || !strchr(d, '.') || d[0] == '.')
		return 0;
	for (const char *p = d; *p; p++) {
		if (*p == '.') {
			if (label == 0 && p[1])
				return 0;
			label = 0;
		} else if (++label > 63) {
			return 0;
		}
	}
	return 1;
}

/* Find the one "v=spf1" record of domain in *rec (caller frees). */
static enum ar_result get_record(struct spf *s, const char *domain, char **rec)
{
	struct dns_answer a;
	enum dns_status st;
	size_t found = 0;

	*rec = NULL;
	if (!domain_ok(domain))
		return error(s, AR_NONE, "%s is not a domain name we can look up", domain);
	trace(s, "check_host(%s, %s): TXT %s", s->ipc, domain, domain);
	st = dns_txt(s->o->dns, domain, &a);
	for (size_t i = 0; st == DNS_OK && i < a.n; i++)
		if (is_spf1(a.text[i]) && found++ == 0)
			*rec = xstrdup(a.text[i]);
	dns_answer_free(&a);
	if (st == DNS_TEMPFAIL)
		return error(s, AR_TEMPERROR, "TXT lookup of %s failed for now", domain);
	if (found > 1) {        /* 4.5 */
		free(*rec);
		*rec = NULL;
		return error(s, AR_PERMERROR, "%s has %zu SPF records", domain, found);
	}
	if (!found)
		return error(s, AR_NONE, "%s has no SPF record", domain);
	trace(s, "record: %s", *rec);
	return AR_PASS;
}

/* Evaluate rec's terms for domain (4.6.2, 4.7, 6.1). */
static enum ar_result run_terms(struct spf *s, const char *rec, const char *domain, int included)
{
	const char *p = rec + 6, *tt, *why;
	struct term t, redirect = { 0 }, exp = { 0 };
	size_t n;
	enum ar_result res = AR_NEUTRAL;
	int m;

	while (next_term(&p, &tt, &n)) {
		parse_term(tt, n, &t, &why);
		if (t.kind == MOD_REDIRECT || t.kind == MOD_EXP) {
			*(t.kind == MOD_REDIRECT ? &redirect : &exp) = t;
			continue;
		}
		if (t.kind == MOD_OTHER)
			continue;
		m = match(s, &t, domain, &res);
		trace(s, "%.*s: %s", (int)n, tt, m < 0 ? ar_name(res) : m ? "match" : "no match");
		if (m < 0)
			return res;
		if (m) {
			snprintf(s->out->mechanism, sizeof s->out->mechanism, "%.*s", (int)n, tt);
			res = qualifier(t.qual);
			if (res == AR_FAIL && !included && exp.arg) {
				/* exp= may come after the mechanism */
				explain(s, &exp, domain);
			} else if (res == AR_FAIL && !included) {
				const char *q = p, *t2;
				size_t n2;
				struct term x;
				while (next_term(&q, &t2, &n2))
					if (parse_term(t2, n2, &x, &why) == 0 && x.kind == MOD_EXP)
						explain(s, &x, domain);
			}
			return res;
		}
	}
	if (redirect.arg) {
		char target[SPF_DOMAIN_MAX + 2];
		if (count_lookup(s))
			return error(s, AR_PERMERROR, "more than %d DNS-querying terms (RFC 7208 4.6.4)",
			    SPF_LOOKUPS_MAX);
		expand_domain(s, &redirect, domain, target, sizeof target);
		trace(s, "redirect=%s", target);
		res = check_host(s, target, included);
		if (res == AR_NONE)     /* 6.1 */
			return error(s, AR_PERMERROR, "redirect=%s has no SPF record", target);
		return res;
	}
	s->out->mechanism[0] = '\0';
	return AR_NEUTRAL;              /* 4.7: nothing matched */
}

static enum ar_result check_host(struct spf *s, const char *domain, int included)
{
	enum ar_result res;
	const char *why;
	char *rec;

	if (s->depth >= SPF_DEPTH_MAX)
		return error(s, AR_PERMERROR, "include/redirect nested too deep");
	if ((res = get_record(s, domain, &rec)) != AR_PASS)
		return res;
	if (spf_record_syntax(rec, &why) < 0) {
		free(rec);
		return error(s, AR_PERMERROR, "%s: %s", domain, why);
	}
	s->depth++;
	res = run_terms(s, rec, domain, included);
	s->depth--;
	free(rec);
	return res;
}

static int set_ip(struct spf *s, const char *ip)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, s->ip) == 1) {
		s->fam = AF_INET;
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		s->fam = AF_INET6;
		memcpy(s->ip, a, 16);
		if (memcmp(a, v4mapped, 12) == 0) {     /* an IPv4 client on a v6 socket */
			s->fam = AF_INET;
			memcpy(s->ip, a + 12, 4);
		}
	} else {
		return -1;
	}
	inet_ntop(s->fam, s->ip, s->ipc, sizeof s->ipc);
	return 0;
}

enum ar_result spf_check(const struct spf_opts *o, const char *ip, const char *sender,
    const char *helo, struct spf_out *out)
{
	struct spf s = { .o = o, .out = out, .helo = helo };
	char full[512];
	const char *at;

	memset(out, 0, sizeof *out);
	if (set_ip(&s, ip) < 0)
		return out->res = error(&s, AR_PERMERROR, "%s is not an IP address", ip);
	snprintf(out->identity, sizeof out->identity, "%s", sender && *sender ? "mailfrom" : "helo");
	if (!sender || !*sender)        /* 2.4: the null sender is postmaster@helo */
		snprintf(full, sizeof full, "postmaster@%s", helo ? helo : "");
	else if (!strchr(sender, '@') || sender[0] == '@')  /* 4.3: no local-part */
		snprintf(full, sizeof full, "postmaster@%s", sender[0] == '@' ? sender + 1 : sender);
	else
		snprintf(full, sizeof full, "%s", sender);
	s.sender = full;
	at = strrchr(full, '@');
	snprintf(s.local, sizeof s.local, "%.*s", (int)(at - full), full);
	snprintf(s.sdomain, sizeof s.sdomain, "%s", at + 1);
	snprintf(out->domain, sizeof out->domain, "%s", s.sdomain);
	out->res = check_host(&s, s.sdomain, 0);
	trace(&s, "result: %s", ar_name(out->res));
	return out->res;
}

/* A value for Received-SPF's key-value list: quoted when not a dot-atom. */
static void kv(struct buf *b, const char *key, const char *v)
{
	int atom = *v != '\0';

	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-/=?^_`{|}~.:@", *p))
			atom = 0;
	buf_printf(b, " %s=", key);
	if (atom) {
		buf_adds(b, v);
		return;
	}
	buf_addc(b, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(b, '\\');
		if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
			buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

void spf_received(const struct spf_out *r, const char *ip, const char *sender,
    const char *helo, const char *receiver, struct buf *b)
{
	static const char *const says[] = {
		[AR_PASS] = "designates ", [AR_FAIL] = "does not designate ",
		[AR_SOFTFAIL] = "does not designate ", [AR_NEUTRAL] = "neither permits nor denies ",
	};
	static const char *const tail[] = {
		[AR_PASS] = " as permitted sender", [AR_FAIL] = " as permitted sender",
		[AR_SOFTFAIL] = " as permitted sender", [AR_NEUTRAL] = "",
	};

	buf_printf(b, "Received-SPF: %s (%s: ", ar_name(r->res), receiver ? receiver : "mailauth");
	if (r->res < sizeof says / sizeof says[0] && says[r->res]) {
		buf_printf(b, "domain of %s ", r->domain);
		buf_printf(b, "%s%s%s", says[r->res], ip, tail[r->res]);
	} else {
		buf_adds(b, r->why[0] ? r->why : ar_name(r->res));
	}
	buf_adds(b, ")\n\t");
	kv(b, "client-ip", ip);
	buf_adds(b, ";");
	if (sender && *sender) {
		kv(b, "envelope-from", sender);
		buf_adds(b, ";");
	}
	if (helo) {
		kv(b, "helo", helo);
		buf_adds(b, ";");
	}
	if (receiver) {
		kv(b, "receiver", receiver);
		buf_adds(b, ";");
	}
	kv(b, "identity", r->identity);
	if (r->mechanism[0]) {
		buf_adds(b, ";");
		kv(b, "mechanism", r->mechanism);
	}
}
