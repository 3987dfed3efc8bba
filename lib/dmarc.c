/* dmarc.c — RFC 7489 policy discovery, alignment and disposition (see
 * dmarc.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "addr.h"
#include "buf.h"
#include "dmarc.h"
#include "err.h"
#include "header.h"

#define PSL_LINE_MAX 512
#define DMARC_PSL_MAX (16u << 20)  /* bytes of list read: today's is 250 KB */

#define trace(o, ...) tracef((o)->trace, "dmarc", __VA_ARGS__)

/* ----------------------------------------------------- public suffixes */

/* Split name into labels (pointers into buf, lower-cased copy). */
static size_t labels(const char *name, char *buf, size_t cap, char **v)
{
	size_t n = 0;

	snprintf(buf, cap, "%s", name);
	for (char *p = buf; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = buf; *p && n < DMARC_LABELS_MAX; ) {
		v[n++] = p;
		p += strcspn(p, ".");
		if (*p)
			*p++ = '\0';
	}
	if (n > 0 && v[n - 1][0] == '\0')       /* trailing dot */
		n--;
	return n;
}

struct dmarc_psl {
	char *text;             /* the whole file, rules cut out of it in place */
	char **slot;            /* open addressing: lower-case rules ("com", "*.ck", "!www.ck") */
	size_t mask;            /* slots - 1: a power of two, at least 1.5 times the rules */
};

/* FNV-1a: the rules are short and few; a table built in one pass costs a
 * process far less than sorting the 10,000 of them by strcmp, which was
 * half of what one `mailauth verify` of one message executed. */
static size_t rule_hash(const char *r)
{
	uint64_t h = 14695981039346656037u;

	for (; *r; r++)
		h = (h ^ (unsigned char)*r) * 1099511628211u;
	return (size_t)h;
}

static char **rule_slot(const struct dmarc_psl *l, const char *r)
{
	size_t i = rule_hash(r) & l->mask;

	while (l->slot[i] && strcmp(l->slot[i], r) != 0)
		i = (i + 1) & l->mask;
	return &l->slot[i];
}

static int has_rule(const struct dmarc_psl *l, const char *r)
{
	return *rule_slot(l, r) != NULL;
}

/* Length of the rule that line p starts with, 0 if none (blank, comment,
 * or longer than any name). */
static size_t rule_len(const char *p)
{
	size_t len = 0;

	if (p[0] == '/' && p[1] == '/')
		return 0;
	while (p[len] && p[len] != ' ' && p[len] != '\t' && p[len] != '\r' && p[len] != '\n')
		len++;
	return len < PSL_LINE_MAX ? len : 0;
}

/* How many rules the text holds: the table gets at least half again as
 * many slots. */
static size_t rule_count(const char *p)
{
	size_t n = 0;

	for (; *p; p = strchrnul(p, '\n'), p += *p == '\n')
		n += rule_len(p) > 0;
	return n;
}

/* Read once into one buffer and cut in place: the list holds some 10,000
 * rules, and a copy of each made every process (or every message in
 * smtpd) pay for 10,000 allocations. */
struct dmarc_psl *dmarc_psl_load(const char *path)
{
	FILE *f = fopen(path ? path : DMARC_PSL_FILE, "r");
	struct dmarc_psl *l;
	struct buf b = { 0 };
	struct stat st;
	size_t got, slots = 16;
	char *p, *end;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size < DMARC_PSL_MAX)
		buf_reserve(&b, (size_t)st.st_size + 65536);    /* one allocation, no copy as it grows */
	do {
		char *w = buf_reserve(&b, 65536);

		got = fread(w, 1, 65536, f);
		buf_commit(&b, got);
	} while (got > 0 && b.len < DMARC_PSL_MAX);
	fclose(f);
	buf_addc(&b, '\0');
	l = xcalloc(1, sizeof *l);
	l->text = buf_take(&b);
	for (size_t n = rule_count(l->text); slots < n + n / 2; )
		slots *= 2;
	l->slot = xcalloc(slots, sizeof *l->slot);
	l->mask = slots - 1;
	for (p = l->text; *p; p = end) {
		size_t len;
		char **at;

		end = strchrnul(p, '\n');
		len = rule_len(p);
		if (*end)
			*end++ = '\0';
		if (len == 0)
			continue;
		p[len] = '\0';
		for (char *c = p; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (*(at = rule_slot(l, p)) == NULL)
			*at = p;
	}
	return l;
}

void dmarc_psl_free(struct dmarc_psl *l)
{
	if (!l)
		return;
	free(l->slot);
	free(l->text);
	free(l);
}

/* The number of labels of the public suffix of d[0..n) (publicsuffix.org's
 * algorithm: an exception rule wins and counts one label less, else the
 * longest matching rule, "*" by default). */
static size_t suffix_labels(const struct dmarc_psl *l, char **d, size_t n)
{
	char name[600], key[610];

	for (size_t i = 0; i < n; i++) {
		name[0] = '\0';
		for (size_t k = i; k < n; k++)
			snprintf(name + strlen(name), sizeof name - strlen(name), "%s%s", d[k],
			    k + 1 < n ? "." : "");
		snprintf(key, sizeof key, "!%s", name);
		if (has_rule(l, key))
			return n - i - 1;
		if (has_rule(l, name))
			return n - i;
		if (i > 0) {    /* "*.rest" matches one more label, d[i - 1] */
			snprintf(key, sizeof key, "*.%s", name);
			if (has_rule(l, key)) {
				/* unless that name is an exception */
				char ex[610];
				snprintf(ex, sizeof ex, "!%s.%s", d[i - 1], name);
				return has_rule(l, ex) ? n - i : n - i + 1;
			}
		}
	}
	return 1;
}

const char *dmarc_org_domain_in(const struct dmarc_psl *list, const char *domain, char *out,
    size_t cap)
{
	char buf[512], *d[DMARC_LABELS_MAX];
	size_t n = labels(domain, buf, sizeof buf, d), s;

	s = list ? suffix_labels(list, d, n) : 1;       /* no list: the last two labels */
	if (n <= s) {           /* the name is a public suffix itself */
		snprintf(out, cap, "%s", domain);
		return out;
	}
	out[0] = '\0';
	for (size_t i = n - s - 1; i < n; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", d[i], i + 1 < n ? "." : "");
	return out;
}

const char *dmarc_org_domain(const char *psl, const char *domain, char *out, size_t cap)
{
	struct dmarc_psl *list = dmarc_psl_load(psl);

	dmarc_org_domain_in(list, domain, out, cap);
	dmarc_psl_free(list);
	return out;
}

const struct dmarc_psl *dmarc_psl_need(struct dmarc_psl_lazy *z)
{
	if (!z->tried) {
		z->tried = 1;
		z->list = dmarc_psl_load(z->path);
	}
	return z->list;
}

/* ------------------------------------------------------------- checks */

/* The organizational domain of domain by o's list, read now if lazy. */
static const char *org_domain(const struct dmarc_opts *o, const char *domain, char *out,
    size_t cap)
{
	const struct dmarc_psl *l = o->psl_data;

	if (!l && o->psl_lazy)
		l = dmarc_psl_need(o->psl_lazy);
	return dmarc_org_domain_in(l, domain, out, cap);
}

static enum ar_result fail(struct dmarc_out *out, enum ar_result r, const char *why)
{
	snprintf(out->why, sizeof out->why, "%s", why);
	return out->res = r;
}

/* RFC 7489 6.6.1: the one From field's one address's domain. */
static int from_domain(const char *msg, size_t n, struct dmarc_out *out)
{
	size_t hlen = hdr_length(msg, n, NULL), froms = 0;
	struct hdr_iter it;
	struct hdr_field f, from;
	struct addr_list l = { 0 };
	int rc = -1;

	hdr_iter_init(&it, msg, hlen);
	while (hdr_next(&it, &f))
		if (hdr_is(&f, "From") && froms++ == 0)
			from = f;
	if (froms != 1)
		return -1;
	addr_parse(from.value, from.vallen, &l);
	if (addr_count(&l) == 1)
		for (size_t i = 0; i < l.n; i++)
			if (l.v[i].kind == ADDR_MAILBOX && l.v[i].domain && l.v[i].domain[0] != '[') {
				snprintf(out->from, sizeof out->from, "%s", l.v[i].domain);
				rc = 0;
			}
	addr_list_free(&l);
	return rc;
}

static int policy_word(const struct dkim_tag *g, char *dst, size_t cap)
{
	static const char *const words[] = { "none", "quarantine", "reject" };

	for (size_t i = 0; g && i < 3; i++)
		if (g->len == strlen(words[i]) && strncasecmp(g->val, words[i], g->len) == 0) {
			snprintf(dst, cap, "%s", words[i]);
			return 0;
		}
	return -1;
}

/* Parse a "v=DMARC1" record into out; -1 if it is not one we can use. */
static int parse_record(const char *txt, struct dmarc_out *out)
{
	struct dkim_tags t;
	const struct dkim_tag *g;
	const char *why;

	if (dkim_tags_parse(txt, strlen(txt), &t, &why) < 0 || t.n == 0 ||
	    strcmp(t.v[0].name, "v") != 0 || t.v[0].len != 6 ||
	    strncmp(t.v[0].val, "DMARC1", 6) != 0)
		return -1;
	if (policy_word(dkim_tag_get(&t, "p"), out->p, sizeof out->p) < 0)
		return -1;      /* 6.6.3: no valid p= (we send no reports, so rua= cannot save it) */
	if (policy_word(dkim_tag_get(&t, "sp"), out->sp, sizeof out->sp) < 0)
		out->sp[0] = '\0';
	out->adkim = out->aspf = 'r';
	if ((g = dkim_tag_get(&t, "adkim")) && g->len == 1 && (*g->val == 's' || *g->val == 'r'))
		out->adkim = *g->val;
	if ((g = dkim_tag_get(&t, "aspf")) && g->len == 1 && (*g->val == 's' || *g->val == 'r'))
		out->aspf = *g->val;
	out->pct = 100;
	if ((g = dkim_tag_get(&t, "pct")) && g->len >= 1 && g->len <= 3 &&
	    strspn(g->val, "0123456789") >= g->len) {
		int v = atoi(g->val);
		if (v <= 100)
			out->pct = v;
	}
	return 0;
}

/* The one DMARC record at _dmarc.domain: 1 found, 0 none, -1 temporary. */
static int find_record(const struct dmarc_opts *o, const char *domain, struct dmarc_out *out)
{
	char name[300];
	struct dns_answer a;
	enum dns_status st;
	int found = 0;

	snprintf(name, sizeof name, "_dmarc.%s", domain);
	trace(o, "policy: TXT %s", name);
	st = o->txt ? o->txt(o->txt_ctx, name, &a) : dns_txt(o->dns, name, &a);
	for (size_t i = 0; st == DNS_OK && i < a.n; i++)
		if (strncasecmp(a.text[i], "v=DMARC1", 8) == 0) {
			if (++found == 1 && parse_record(a.text[i], out) < 0)
				found = 99;     /* unusable */
			else if (found == 1)
				trace(o, "record: %s", a.text[i]);
		}
	dns_answer_free(&a);
	if (st == DNS_TEMPFAIL)
		return -1;
	if (found == 1)
		snprintf(out->record_at, sizeof out->record_at, "%s", name);
	return found == 1;      /* several records, or a broken one: none (6.6.3) */
}

static int aligned(const struct dmarc_opts *o, const char *a, const char *b, char mode)
{
	char oa[256], ob[256];

	if (mode == 's' || dns_name_eq(a, b))   /* equal names have equal organizations */
		return dns_name_eq(a, b);
	return dns_name_eq(org_domain(o, a, oa, sizeof oa), org_domain(o, b, ob, sizeof ob));
}

/* 6.6.4: pct applies the policy to a sample; the rest get the next
 * milder treatment. */
static void dispose(const struct dmarc_opts *o, struct dmarc_out *out)
{
	unsigned draw = 0;

	if (out->res != AR_FAIL) {
		snprintf(out->disposition, sizeof out->disposition, "none");
		return;
	}
	if (o->sample >= 0)
		draw = (unsigned)o->sample;
	else if (getrandom(&draw, sizeof draw, 0) != sizeof draw)
		draw = 0;
	draw %= 100;
	if ((int)draw < out->pct)
		snprintf(out->disposition, sizeof out->disposition, "%s", out->policy);
	else
		snprintf(out->disposition, sizeof out->disposition, "%s",
		    strcmp(out->policy, "reject") == 0 ? "quarantine" : "none");
}

enum ar_result dmarc_check(const struct dmarc_opts *o, const char *msg, size_t n,
    const struct dkim_result *dkim, size_t ndkim, enum ar_result spf, const char *spf_domain,
    struct dmarc_out *out)
{
	char org[256] = "";
	int r;

	memset(out, 0, sizeof *out);
	if (from_domain(msg, n, out) < 0)
		return fail(out, AR_PERMERROR, "not exactly one From address with a domain");
	if (o->trace) {         /* -v shows it; otherwise found only when needed */
		org_domain(o, out->from, org, sizeof org);
		trace(o, "header.from=%s, organizational domain %s", out->from, org);
	}
	r = find_record(o, out->from, out);
	if (r == 0 && !org[0])
		org_domain(o, out->from, org, sizeof org);
	if (r == 0 && !dns_name_eq(org, out->from))
		r = find_record(o, org, out);
	if (r < 0)
		return fail(out, AR_TEMPERROR, "policy lookup failed for now");
	if (r == 0)
		return fail(out, AR_NONE, "no DMARC record");
	if (out->sp[0] && !org[0])
		org_domain(o, out->from, org, sizeof org);
	/* 6.6.3: sp= is for subdomains, when the record is the organization's */
	snprintf(out->policy, sizeof out->policy, "%s", out->sp[0] &&
	    !dns_name_eq(org, out->from) ? out->sp : out->p);
	for (size_t i = 0; i < ndkim && !out->dkim_aligned; i++)
		out->dkim_aligned = dkim[i].res == AR_PASS &&
		    aligned(o, dkim[i].d, out->from, out->adkim);
	out->spf_aligned = spf == AR_PASS && spf_domain && aligned(o, spf_domain, out->from, out->aspf);
	trace(o, "dkim %saligned (adkim=%c), spf %saligned (aspf=%c)",
	    out->dkim_aligned ? "" : "not ", out->adkim, out->spf_aligned ? "" : "not ", out->aspf);
	out->res = out->dkim_aligned || out->spf_aligned ? AR_PASS : AR_FAIL;
	dispose(o, out);
	trace(o, "=> %s, policy %s, pct=%d, disposition %s", ar_name(out->res), out->policy,
	    out->pct, out->disposition);
	return out->res;
}
