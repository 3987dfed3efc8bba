/* search.c — SEARCH and UID SEARCH with every key of RFC 3501 6.4.4.
 *
 * The keys are compiled into a tree once, then evaluated per message.  A
 * message file is only opened when a key needs its text, and then parsed
 * once: header keys match case-insensitively on the unfolded, RFC 2047
 * decoded fields; BODY and TEXT on the decoded (base64, QP, charset) text
 * of the parts.  The fields the header cache keeps (hcache.c) are read
 * from the file once a session, and the texts matched in them made once:
 * a second header search touches no file. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "charset.h"
#include "err.h"
#include "header.h"
#include "imapd.h"
#include "mime.h"
#include "rfc2047.h"

#define SEARCH_DEPTH_MAX 100   /* nested OR/NOT/(): clients chain ORs deeper than lists nest */

enum sop {
	K_ALL, K_AND, K_OR, K_NOT, K_FLAG, K_NOFLAG, K_NEW, K_OLD, K_HEADER, K_BODY, K_TEXT,
	K_BEFORE, K_ON, K_SINCE, K_SENTBEFORE, K_SENTON, K_SENTSINCE, K_LARGER, K_SMALLER,
	K_SEQ, K_UID, K_NONE, K_KEYWORD, K_UNKEYWORD, K_MODSEQ,
	K_SAVED         /* "$", RFC 5182 */
};

struct skey {
	enum sop op;
	unsigned flag;
	char *field;            /* K_HEADER */
	char *str;              /* lower-cased needle */
	size_t len;
	long long num;          /* sizes; dates as days since the epoch */
	struct seqset set;
	struct skey *kids;      /* K_AND: n kids; K_OR: 2; K_NOT: 1 */
	size_t nkids;
};

static void skey_free(struct skey *k)
{
	for (size_t i = 0; i < k->nkids; i++)
		skey_free(&k->kids[i]);
	free(k->kids);
	free(k->field);
	free(k->str);
	seqset_free(&k->set);
}

static int parse_key(const struct imap_arg *a, size_t n, size_t *i, struct skey *k, int depth);

/* Days since 1970-01-01 of a proleptic Gregorian date, negative before it
 * (timegm divided by 86400 would round those towards zero). */
static long long civil_day(int year, int month, int day)
{
	struct tm tm = { .tm_mday = day, .tm_mon = month - 1, .tm_year = year - 1900 };
	time_t t = timegm(&tm);

	return (long long)(t >= 0 ? t / 86400 : -((-t + 86399) / 86400));
}

/* "1-Feb-1994" (RFC 3501 9, date) as days since 1970-01-01 in *day; -1 if
 * malformed or not a real day ("31-Feb-2024"). */
static int parse_day(const char *s, long long *day)
{
	const char *p = s;
	int d, y, month;

	/* date-day "-" date-month "-" date-year: 1*2DIGIT "-" 3ALPHA "-" 4DIGIT */
	if ((d = imap_digits(&p, 1, 2, NULL)) < 0 || strlen(p) != 9 || p[0] != '-' || p[4] != '-' ||
	    (month = imap_month(p + 1)) == 0)
		return -1;
	p += 5;
	if ((y = imap_digits(&p, 4, 4, NULL)) < 0 || *p != '\0' || !imap_day_ok(y, month, d))
		return -1;
	*day = civil_day(y, month, d);
	return 0;
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = xstrndup(s, n);

	for (size_t i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	return d;
}

static int take_string(const struct imap_arg *a, size_t n, size_t *i, struct skey *k)
{
	if (*i >= n || !arg_astring(&a[*i]))
		return -1;
	k->str = lower_dup(a[*i].s, a[*i].len);
	k->len = a[*i].len;
	(*i)++;
	return 0;
}

static const struct { const char *name; enum sop op; unsigned flag; } simple_keys[] = {
	{ "ALL", K_ALL, 0 }, { "ANSWERED", K_FLAG, FL_ANSWERED }, { "DELETED", K_FLAG, FL_DELETED },
	{ "DRAFT", K_FLAG, FL_DRAFT }, { "FLAGGED", K_FLAG, FL_FLAGGED }, { "RECENT", K_FLAG, FL_RECENT },
	{ "SEEN", K_FLAG, FL_SEEN }, { "UNANSWERED", K_NOFLAG, FL_ANSWERED },
	{ "UNDELETED", K_NOFLAG, FL_DELETED }, { "UNDRAFT", K_NOFLAG, FL_DRAFT },
	{ "UNFLAGGED", K_NOFLAG, FL_FLAGGED }, { "UNSEEN", K_NOFLAG, FL_SEEN },
	{ "NEW", K_NEW, 0 }, { "OLD", K_OLD, 0 },
};

static const struct { const char *name; enum sop op; } arg_keys[] = {
	{ "BEFORE", K_BEFORE }, { "ON", K_ON }, { "SINCE", K_SINCE },
	{ "SENTBEFORE", K_SENTBEFORE }, { "SENTON", K_SENTON }, { "SENTSINCE", K_SENTSINCE },
	{ "LARGER", K_LARGER }, { "SMALLER", K_SMALLER },
	{ "BODY", K_BODY }, { "TEXT", K_TEXT },
};

static const char *const header_keys[] = { "BCC", "CC", "FROM", "SUBJECT", "TO" };

static int parse_arg_key(const struct imap_arg *a, size_t n, size_t *i, struct skey *k)
{
	if (k->op == K_BODY || k->op == K_TEXT)
		return take_string(a, n, i, k);
	if (*i >= n || !arg_astring(&a[*i]))
		return -1;
	const char *v = a[(*i)++].s;
	if (k->op == K_LARGER || k->op == K_SMALLER) {
		char *end;
		errno = 0;
		k->num = strtoll(v, &end, 10);      /* number64 (RFC 9051) */
		return (*end || !isdigit((unsigned char)*v) || errno == ERANGE) ? -1 : 0;
	}
	return parse_day(v, &k->num);
}

static int parse_key(const struct imap_arg *a, size_t n, size_t *i, struct skey *k, int depth)
{
	const struct imap_arg *x;

	memset(k, 0, sizeof *k);
	if (*i >= n || depth > SEARCH_DEPTH_MAX)
		return -1;
	x = &a[(*i)++];
	if (x->type == ARG_LIST) {
		size_t j = 0;
		k->op = K_AND;
		while (j < x->nkids) {
			k->kids = xrealloc(k->kids, (k->nkids + 1) * sizeof *k->kids);
			if (parse_key(x->kids, x->nkids, &j, &k->kids[k->nkids++], depth + 1) < 0)
				return -1;
		}
		return x->nkids ? 0 : -1;
	}
	if (x->type != ARG_ATOM)
		return -1;
	for (size_t j = 0; j < sizeof simple_keys / sizeof *simple_keys; j++)
		if (arg_is(x, simple_keys[j].name)) {
			k->op = simple_keys[j].op;
			k->flag = simple_keys[j].flag;
			return 0;
		}
	for (size_t j = 0; j < sizeof arg_keys / sizeof *arg_keys; j++)
		if (arg_is(x, arg_keys[j].name)) {
			k->op = arg_keys[j].op;
			return parse_arg_key(a, n, i, k);
		}
	for (size_t j = 0; j < sizeof header_keys / sizeof *header_keys; j++)
		if (arg_is(x, header_keys[j])) {
			k->op = K_HEADER;
			k->field = xstrdup(header_keys[j]);
			return take_string(a, n, i, k);
		}
	if (arg_is(x, "HEADER")) {
		k->op = K_HEADER;
		if (*i >= n || !arg_astring(&a[*i]))
			return -1;
		k->field = xstrdup(a[(*i)++].s);
		return take_string(a, n, i, k);
	}
	if (arg_is(x, "KEYWORD") || arg_is(x, "UNKEYWORD")) {
		k->op = arg_is(x, "KEYWORD") ? K_KEYWORD : K_UNKEYWORD;
		if (*i >= n || a[*i].type != ARG_ATOM)
			return -1;
		k->field = xstrdup(a[(*i)++].s);
		return 0;
	}
	if (arg_is(x, "NOT") || arg_is(x, "OR")) {
		size_t want = arg_is(x, "OR") ? 2 : 1;
		k->op = want == 2 ? K_OR : K_NOT;
		k->kids = xcalloc(want, sizeof *k->kids);
		for (; k->nkids < want; k->nkids++)
			if (parse_key(a, n, i, &k->kids[k->nkids], depth + 1) < 0) {
				k->nkids++;
				return -1;
			}
		return 0;
	}
	if (arg_is(x, "MODSEQ")) {
		/* RFC 7162 3.1.5: MODSEQ ["entry-name" priv|shared|all] n; the
		 * entry only narrows to one flag's MODSEQ, which is not kept
		 * apart here: the message's is used */
		k->op = K_MODSEQ;
		if (*i + 2 < n &&
		    (a[*i].type == ARG_STRING || (a[*i].type == ARG_ATOM && a[*i].s[0] == '/')) &&
		    (arg_is(&a[*i + 1], "priv") || arg_is(&a[*i + 1], "shared") ||
		    arg_is(&a[*i + 1], "all")))
			*i += 2;
		return *i < n && (k->num = arg_modseq(&a[(*i)++], 1)) >= 0 ? 0 : -1;
	}
	if (arg_is(x, "UID")) {
		k->op = K_UID;
		if (*i < n && arg_is(&a[*i], "$")) {
			(*i)++;
			k->op = K_SAVED;
			return 0;
		}
		return *i < n && a[*i].type == ARG_ATOM ? seqset_parse(a[(*i)++].s, &k->set) : -1;
	}
	if (arg_is(x, "$")) {
		k->op = K_SAVED;
		return 0;
	}
	k->op = K_SEQ;
	return seqset_parse(x->s, &k->set);
}

/* ---- evaluation ---- */

struct sctx {
	struct session *s;
	struct msg *m;
	size_t seq;
	uint32_t maxuid;
	const char *data;
	size_t len, hlen;
	int state;              /* 0 not mapped, 1 mapped, -1 gone */
	int parsed;             /* mm holds the MIME tree (only BODY and TEXT need it) */
	struct mime_msg mm;
	int hstate;             /* hv: 0 not asked, 1 held, -1 gone */
	struct hview hv;        /* the fields the header cache keeps (store_headers) */
	int astate;             /* aux: 0 not made, 1 made, -1 gone */
	const char *aux;        /* the search texts of those fields (derive) */
	size_t auxlen;
	struct buf auxtmp;      /* aux when the cache did not keep it */
};

static int load(struct sctx *x)
{
	if (x->state == 0) {
		if (store_map(&x->s->sel, x->m, &x->data, &x->len) < 0) {
			x->state = -1;
			return -1;
		}
		x->hlen = hdr_length(x->data, x->len, NULL);
		x->state = 1;
	}
	return x->state;
}

static int load_mime(struct sctx *x)
{
	if (load(x) < 0)
		return -1;
	if (!x->parsed) {
		mime_parse(x->data, x->len, &x->mm);
		x->parsed = 1;
	}
	return 0;
}

/* The header to read field name in: the cached fields when it is one of
 * them (no file opened if they were read before), else the file's. */
static int load_fields(struct sctx *x, const char *name, const char **hdr, size_t *len)
{
	if (!hcache_field(name)) {
		if (load(x) < 0)
			return -1;
		*hdr = x->data;
		*len = x->hlen;
		return 0;
	}
	if (x->hstate == 0)
		x->hstate = store_headers(&x->s->sel, x->m, x->s->o->header_cache, &x->hv) < 0 ? -1 : 1;
	*hdr = x->hv.p;
	*len = x->hv.len;
	return x->hstate < 0 ? -1 : 0;
}

static void unload(struct sctx *x)
{
	if (x->hstate == 1)
		store_headers_done(&x->hv);
	x->hstate = 0;
	buf_free(&x->auxtmp);
	x->astate = 0;
	if (x->parsed)
		mime_free(&x->mm);
	if (x->state == 1)
		store_unmap(x->data, x->len);
	x->state = x->parsed = 0;
}

/* Case-insensitive (ASCII) search of needle (lower case) in hay. */
static int ci_find(const char *hay, size_t n, const char *needle, size_t m)
{
	if (m == 0)
		return 1;
	for (size_t i = 0; i + m <= n; i++) {
		if (tolower((unsigned char)hay[i]) != (unsigned char)needle[0])
			continue;
		size_t k = 1;
		while (k < m && tolower((unsigned char)hay[i + k]) == (unsigned char)needle[k])
			k++;
		if (k == m)
			return 1;
	}
	return 0;
}

static int is_address_key(const char *field)
{
	return strcmp(field, "FROM") == 0 || strcmp(field, "TO") == 0 || strcmp(field, "CC") == 0 ||
	    strcmp(field, "BCC") == 0;
}

/* One address as ENVELOPE gives it, "name <local@domain>", without
 * comments, folding or quoting. */
static void address_form(const struct addr *a, struct buf *b)
{
	b->len = 0;
	if (a->name != NULL) {
		rfc2047_decode(a->name, strlen(a->name), b);
		buf_addc(b, ' ');
	}
	buf_addc(b, '<');
	addr_spec(a, b);
	buf_addc(b, '>');
}

/* The texts a header key is matched against, for each occurrence of the
 * field name in hdr[0..hlen): kind 0, the unfolded, RFC 2047 decoded value;
 * then, for From, To, Cc and Bcc, kind 1, each mailbox as ENVELOPE gives it
 * (address_form), so a client that searches FROM for an address it read in
 * ENVELOPE finds it however the header wrote it ("<user (comment)@
 * (comment) domain.org>").  fn is called for each text, address forms
 * only made while fn returns 0; the first nonzero return ends the walk and
 * is returned.  match_header matches with it and derive records with it. */
typedef int (*text_fn)(void *ctx, int kind, const char *p, size_t n);

static int field_texts(const char *hdr, size_t hlen, const char *name, text_fn fn, void *ctx)
{
	struct hdr_iter it;
	struct hdr_field f;
	int addresses = is_address_key(name), r = 0;

	hdr_iter_init(&it, hdr, hlen);
	while (r == 0 && hdr_next(&it, &f)) {
		struct buf raw = { 0 }, dec = { 0 };

		if (f.name == NULL || !hdr_is(&f, name))
			continue;
		hdr_unfold(f.value, f.vallen, 0, &raw);
		rfc2047_decode(raw.p ? raw.p : "", raw.len, &dec);
		r = fn(ctx, 0, dec.p ? dec.p : "", dec.len);
		if (r == 0 && addresses) {
			struct addr_list l = { 0 };
			struct buf b = { 0 };

			addr_parse(raw.p ? raw.p : "", raw.len, &l);
			for (size_t i = 0; i < l.n && r == 0; i++) {
				if (l.v[i].kind != ADDR_MAILBOX)
					continue;
				address_form(&l.v[i], &b);
				r = fn(ctx, 1, b.p, b.len);
			}
			buf_free(&b);
			addr_list_free(&l);
		}
		buf_free(&raw);
		buf_free(&dec);
	}
	return r;
}

/* The texts header keys match in the fields the cache keeps, derived
 * once per message and field and kept beside its fields: two bytes, the
 * bits (1 << field number, hcache_field) of the fields derived so far,
 * then for each occurrence of those fields a record "field number, kind,
 * length (4 bytes), text", the text lower-cased (ASCII, as ci_find
 * compares).  Kind 0: the unfolded, RFC 2047 decoded value; kind 1 (From,
 * To, Cc, Bcc): one address as address_form writes it (field_texts).  Only the field
 * a key asks for is derived: the first search pays for no other. */
enum { AUX_MASK = 2, AUX_HEAD = 6 };

static void aux_add(struct buf *out, int field, int kind, const char *p, size_t n)
{
	unsigned char h[AUX_HEAD] = { (unsigned char)field, (unsigned char)kind,
	    (unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
	    (unsigned char)n };

	buf_add(out, (const char *)h, sizeof h);
	size_t at = out->len;
	buf_add(out, p, n);
	for (size_t i = at; i < out->len; i++)
		out->p[i] = (char)tolower((unsigned char)out->p[i]);
}

struct derive_ctx {
	struct buf *out;
	int         fi;
};

static int record_text(void *arg, int kind, const char *p, size_t n)
{
	struct derive_ctx *d = arg;

	aux_add(d->out, d->fi, kind, p, n);
	return 0;
}

/* Append the records of field name (number fi) of hdr[0..hlen). */
static void derive(const char *hdr, size_t hlen, const char *name, int fi, struct buf *out)
{
	struct derive_ctx d = { out, fi };

	(void)field_texts(hdr, hlen, name, record_text, &d);
}

/* A header key on a field the cache keeps: the same answer as the loop
 * of match_header, from the derived texts. */
static int match_cached(struct sctx *x, const struct skey *k, int fi)
{
	unsigned mask;

	if (x->astate == 0) {
		x->astate = -1;
		if (x->m->gone)
			return 0;       /* as store_headers: the file is not there */
		if ((x->aux = hcache_aux(&x->s->sel, x->m->uid, &x->auxlen)) == NULL) {
			x->aux = "\0";  /* no field derived yet (two NULs) */
			x->auxlen = AUX_MASK;
		}
		x->astate = 1;
	}
	if (x->astate < 0)
		return 0;
	mask = (unsigned char)x->aux[0] | (unsigned)(unsigned char)x->aux[1] << 8;
	if (!(mask & (1u << fi))) {
		const char *hdr;
		size_t hlen;
		struct buf b = { 0 };

		if (load_fields(x, k->field, &hdr, &hlen) < 0)
			return 0;
		buf_reserve(&b, x->auxlen + 128);      /* room for most fields: one allocation */
		buf_add(&b, x->aux, x->auxlen);         /* x->aux may be in auxtmp */
		mask |= 1u << fi;
		b.p[0] = (char)(mask & 0xff);
		b.p[1] = (char)(mask >> 8);
		derive(hdr, hlen, k->field, fi, &b);
		buf_free(&x->auxtmp);
		x->auxtmp = b;
		x->auxlen = b.len;
		x->aux = hcache_set_aux(&x->s->sel, x->m->uid, &x->auxtmp, x->s->o->header_cache);
		if (x->aux == NULL)
			x->aux = x->auxtmp.p;
	}
	int addresses = is_address_key(k->field);
	for (size_t at = AUX_MASK; at + AUX_HEAD <= x->auxlen;) {
		const unsigned char *h = (const unsigned char *)x->aux + at;
		size_t n = (size_t)h[2] << 24 | (size_t)h[3] << 16 | (size_t)h[4] << 8 | h[5];
		const char *t = x->aux + at + AUX_HEAD;

		at += AUX_HEAD + n;
		if (h[0] != fi || (h[1] == 1 && !addresses))
			continue;
		if (k->len == 0 || memmem(t, n, k->str, k->len) != NULL)
			return 1;
	}
	return 0;
}

static int find_text(void *arg, int kind, const char *p, size_t n)
{
	const struct skey *k = arg;

	(void)kind;
	return ci_find(p, n, k->str, k->len);
}

static int match_header(struct sctx *x, const struct skey *k)
{
	const char *hdr;
	size_t hlen;
	int fi;

	/* (with no cache, field_texts: the texts are made once, used once) */
	if (x->s->o->header_cache > 0 && (fi = hcache_field(k->field)) != 0)
		return match_cached(x, k, fi);
	if (load_fields(x, k->field, &hdr, &hlen) < 0)
		return 0;
	return field_texts(hdr, hlen, k->field, find_text, (void *)k);
}

static int collect(void *arg, const char *p, size_t n)
{
	buf_add(arg, p, n);
	return 0;
}

/* The decoded text of every leaf part, as UTF-8, searched for the needle. */
static int match_body(struct sctx *x, const struct skey *k)
{
	int found = 0;

	if (load_mime(x) < 0)
		return 0;
	for (const struct mime_part *p = x->mm.root; p && !found; p = p->order) {
		struct buf raw = { 0 }, utf = { 0 };

		if (mime_is_multipart(p) || mime_is_message(p))
			continue;
		mime_decode(p, collect, &raw, NULL);
		if (strcmp(p->type, "text") == 0 && p->charset && !charset_is_utf8(p->charset)) {
			charset_to_utf8(p->charset, raw.p ? raw.p : "", raw.len, &utf);
			found = ci_find(utf.p ? utf.p : "", utf.len, k->str, k->len);
		} else {
			found = ci_find(raw.p ? raw.p : "", raw.len, k->str, k->len);
		}
		buf_free(&raw);
		buf_free(&utf);
	}
	return found;
}

static int match_text(struct sctx *x, const struct skey *k)
{
	struct buf dec = { 0 };
	int found;

	if (load(x) < 0)
		return 0;
	rfc2047_decode(x->data, x->hlen, &dec);
	found = ci_find(dec.p ? dec.p : "", dec.len, k->str, k->len);
	buf_free(&dec);
	return found || match_body(x, k);
}

/* The day of the Date: field, as written in its zone (RFC 3501 6.4.4: the
 * time and zone are left out) into *day; -1 if there is no Date: or it
 * cannot be read (imap_sent_date), and then no SENT* key matches. */
static int sent_day(struct sctx *x, long long *day)
{
	struct buf v = { 0 };
	struct sent_date d;
	const char *hdr;
	size_t hlen;
	int rc = -1;

	if (load_fields(x, "Date", &hdr, &hlen) < 0)
		return -1;
	if (hdr_get(hdr, hlen, "Date", &v) && imap_sent_date(v.p, &d) == 0) {
		*day = civil_day(d.year, d.month, d.day);
		rc = 0;
	}
	buf_free(&v);
	return rc;
}

/* INTERNALDATE's day in the server's zone (RFC 3501 ignores time and zone). */
static long long internal_day(struct sctx *x)
{
	time_t t = store_date(&x->s->sel, x->m);
	struct tm tm;

	localtime_r(&t, &tm);
	return civil_day(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static int has_keyword(const struct sctx *x, const char *name)
{
	for (int i = 0; i < KW_MAX; i++)
		if (x->s->sel.kw[i] && strcasecmp(x->s->sel.kw[i], name) == 0)
			return (x->m->flags & FL_KW(i)) != 0;
	return 0;
}

static int eval(struct sctx *x, const struct skey *k)
{
	long long d;

	switch (k->op) {
	case K_ALL: return 1;
	case K_NONE: return 0;
	case K_AND:
		for (size_t i = 0; i < k->nkids; i++)
			if (!eval(x, &k->kids[i]))
				return 0;
		return 1;
	case K_OR: return eval(x, &k->kids[0]) || eval(x, &k->kids[1]);
	case K_NOT: return !eval(x, &k->kids[0]);
	case K_FLAG: return (x->m->flags & k->flag) != 0;
	case K_NOFLAG: return (x->m->flags & k->flag) == 0;
	case K_NEW: return (x->m->flags & (FL_RECENT | FL_SEEN)) == FL_RECENT;
	case K_OLD: return !(x->m->flags & FL_RECENT);
	case K_HEADER: return match_header(x, k);
	case K_BODY: return match_body(x, k);
	case K_TEXT: return match_text(x, k);
	case K_BEFORE: return internal_day(x) < k->num;
	case K_ON: return internal_day(x) == k->num;
	case K_SINCE: return internal_day(x) >= k->num;
	case K_SENTBEFORE: return sent_day(x, &d) == 0 && d < k->num;
	case K_SENTON: return sent_day(x, &d) == 0 && d == k->num;
	case K_SENTSINCE: return sent_day(x, &d) == 0 && d >= k->num;
	case K_LARGER: return (long long)store_wsize(&x->s->sel, x->m) > k->num;
	case K_SMALLER: return (long long)store_wsize(&x->s->sel, x->m) < k->num;
	case K_SEQ: return seqset_has(&k->set, (uint32_t)x->seq, (uint32_t)x->s->sel.n);
	case K_UID: return seqset_has(&k->set, x->m->uid, x->maxuid);
	case K_KEYWORD: return has_keyword(x, k->field);
	case K_UNKEYWORD: return !has_keyword(x, k->field);
	case K_MODSEQ: return x->m->modseq >= (uint64_t)k->num;
	case K_SAVED: return searchres_has(x->s, x->m->uid);
	}
	return 0;
}

/* Search strings sent in another charset, as UTF-8: those with 8-bit bytes
 * only, so the key names stay as they are (the ASCII-based charsets that
 * clients use leave ASCII alone). */
static void args_to_utf8(const char *cs, struct imap_arg *a)
{
	if (a->type == ARG_LIST) {
		for (size_t k = 0; k < a->nkids; k++)
			args_to_utf8(cs, &a->kids[k]);
		return;
	}
	for (size_t k = 0; k < a->len; k++)
		if ((unsigned char)a->s[k] >= 0x80) {
			struct buf u = { 0 };

			charset_to_utf8(cs, a->s, a->len, &u);
			buf_addc(&u, '\0');
			free(a->s);
			a->len = u.len - 1;
			a->s = buf_take(&u);
			return;
		}
}

int search_charset(struct session *s, const char *tag, const struct imap_arg *cs,
    struct imap_arg *a, size_t n)
{
	struct buf probe = { 0 };
	int known = arg_astring(cs) && charset_to_utf8(cs->s, "", 0, &probe) >= 0;

	buf_free(&probe);
	if (!known) {
		reply(s, tag, "NO [BADCHARSET (UTF-8 US-ASCII ISO-8859-1)] Unsupported charset");
		return -1;
	}
	if (!charset_is_utf8(cs->s))
		for (size_t k = 0; k < n; k++)
			args_to_utf8(cs->s, &a[k]);
	return 0;
}

/* Whether k uses MODSEQ (RFC 7162 3.1.5: then results carry one). */
static int uses_modseq(const struct skey *k)
{
	if (k->op == K_MODSEQ)
		return 1;
	for (size_t i = 0; i < k->nkids; i++)
		if (uses_modseq(&k->kids[i]))
			return 1;
	return 0;
}

struct search_key {
	struct skey root;
	int modseq;             /* uses MODSEQ (RFC 7162 3.1.5: then results carry one) */
	int volatile_;          /* holds sequence numbers or UID sets (which "*" ties to the view) */
};

static int key_volatile(const struct skey *k)
{
	if (k->op == K_SEQ || k->op == K_UID || k->op == K_SAVED)
		return 1;
	for (size_t i = 0; i < k->nkids; i++)
		if (key_volatile(&k->kids[i]))
			return 1;
	return 0;
}

struct search_key *search_compile(const struct imap_arg *a, size_t n)
{
	struct search_key *k;
	size_t i = 0;

	if (n == 0)
		return NULL;
	k = xcalloc(1, sizeof *k);
	k->root.op = K_AND;
	while (i < n) {
		k->root.kids = xrealloc(k->root.kids, (k->root.nkids + 1) * sizeof *k->root.kids);
		if (parse_key(a, n, &i, &k->root.kids[k->root.nkids++], 0) < 0) {
			search_key_free(k);
			return NULL;
		}
	}
	k->volatile_ = key_volatile(&k->root);
	k->modseq = uses_modseq(&k->root);
	return k;
}

int search_key_volatile(const struct search_key *k)
{
	return k->volatile_;
}

void search_key_free(struct search_key *k)
{
	if (k == NULL)
		return;
	skey_free(&k->root);
	free(k);
}

int search_match(struct session *s, const struct search_key *k, size_t idx)
{
	struct sctx x = { .s = s, .m = &s->sel.m[idx], .seq = idx + 1,
	    .maxuid = s->sel.n ? s->sel.m[s->sel.n - 1].uid : 0 };
	int hit = eval(&x, &k->root);

	unload(&x);
	return hit;
}

static void run_key(struct session *s, const struct search_key *k, size_t **hits, size_t *nhits)
{
	*hits = NULL;
	*nhits = 0;
	if (s->sel.n > 0)
		*hits = xcalloc(s->sel.n, sizeof **hits);
	for (size_t i = 0; i < s->sel.n; i++)
		if (search_match(s, k, i))
			(*hits)[(*nhits)++] = i;
}

int search_run(struct session *s, const struct imap_arg *a, size_t n, size_t **hits, size_t *nhits)
{
	struct search_key *k = search_compile(a, n);

	*hits = NULL;
	*nhits = 0;
	if (k == NULL)
		return -1;
	run_key(s, k, hits, nhits);
	search_key_free(k);
	return 0;
}

void number_set(const uint32_t *v, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		buf_printf(out, "%s%u", i ? "," : "", v[i]);
		if (j > i)
			buf_printf(out, ":%u", v[j]);
		i = j + 1;
	}
}

/* One end of a PARTIAL range: nz-number, or "-" nz-number counted from the
 * end of the result (RFC 9394 3.1), at most 2^32-1 either way. */
static int partial_end(const char **p, long long *v)
{
	int neg = **p == '-';
	int64_t x;

	*p += neg;
	if ((x = imap_number32(p, 1)) < 0)
		return -1;
	*v = neg ? -x : x;
	return 0;
}

/* A PARTIAL range "first:last" (RFC 9394 3.1): both ends of one sign
 * (negative counts from the end of the result), in either order; no "*",
 * no leading zero.  Kept with |lo| <= |hi|. */
static int parse_partial(const struct imap_arg *a, struct retopts *r)
{
	const char *p = a->s;
	long long x, y;

	if (a->type != ARG_ATOM || partial_end(&p, &x) < 0 || *p++ != ':' || partial_end(&p, &y) < 0 ||
	    *p != '\0' || (x < 0) != (y < 0))
		return -1;
	r->lo = llabs(x) <= llabs(y) ? x : y;
	r->hi = llabs(x) <= llabs(y) ? y : x;
	return 0;
}

int search_return_options(const struct imap_arg *a, struct retopts *r)
{
	static const struct { const char *name; int bit; } opts[] = {
		{ "MIN", RET_MIN }, { "MAX", RET_MAX }, { "ALL", RET_ALL }, { "COUNT", RET_COUNT },
		{ "PARTIAL", RET_PARTIAL }, { "UPDATE", RET_UPDATE },
		{ "CONTEXT", RET_CONTEXT },     /* a hint that UPDATE may follow (RFC 5267 4.2) */
	};

	memset(r, 0, sizeof *r);
	if (a->type != ARG_LIST)
		return -1;
	for (size_t i = 0; i < a->nkids; i++) {
		int bit = 0;

		for (size_t k = 0; k < sizeof opts / sizeof *opts; k++)
			if (arg_is(&a->kids[i], opts[k].name))
				bit = opts[k].bit;
		if (bit == 0 || (r->ret & bit))
			return -1;
		if (bit == RET_PARTIAL && (i + 1 >= a->nkids || parse_partial(&a->kids[++i], r) < 0))
			return -1;
		r->ret |= bit;
	}
	/* PARTIAL is a part of ALL (RFC 9394 3.1); an updating search gives its
	 * changes as ADDTO/REMOVEFROM of the whole result, not of a window */
	if ((r->ret & RET_PARTIAL) && (r->ret & (RET_ALL | RET_UPDATE)))
		return -1;
	r->ret &= ~RET_CONTEXT;
	if (r->ret == 0)
		r->ret = RET_ALL;
	return 0;
}

/* " PARTIAL (lo:hi set)" for the positions of v[0..n) the range names. */
static void partial_text(const struct retopts *r, const uint32_t *v, size_t n, struct buf *out)
{
	long long first, last;

	if (r->lo > 0) {
		first = r->lo;
		last = r->hi;
	} else {
		first = (long long)n + r->hi + 1;
		last = (long long)n + r->lo + 1;
	}
	first = first < 1 ? 1 : first;
	last = last > (long long)n ? (long long)n : last;
	buf_printf(out, " PARTIAL (%lld:%lld ", r->lo, r->hi);
	if (first > last)
		buf_adds(out, "NIL");
	else
		number_set(v + first - 1, (size_t)(last - first + 1), out);
	buf_addc(out, ')');
}

void esearch_reply(struct session *s, const char *tag, const struct retopts *r, const uint32_t *v,
    size_t n)
{
	esearch_reply_modseq(s, tag, r, v, n, 0);
}

void esearch_reply_modseq(struct session *s, const char *tag, const struct retopts *r,
    const uint32_t *v, size_t n, uint64_t modseq)
{
	struct buf out = { 0 };
	uint32_t min = n ? v[0] : 0, max = min;

	for (size_t i = 1; i < n; i++) {
		min = v[i] < min ? v[i] : min;
		max = v[i] > max ? v[i] : max;
	}

	buf_adds(&out, "* ESEARCH (TAG ");
	imap_string(&out, tag, strlen(tag));
	buf_adds(&out, ")");
	if (s->uid)
		buf_adds(&out, " UID");
	if ((r->ret & RET_MIN) && n > 0)
		buf_printf(&out, " MIN %u", min);
	if ((r->ret & RET_MAX) && n > 0)
		buf_printf(&out, " MAX %u", max);
	if (r->ret & RET_COUNT)
		buf_printf(&out, " COUNT %zu", n);
	if ((r->ret & RET_ALL) && n > 0) {
		buf_adds(&out, " ALL ");
		number_set(v, n, &out);
	}
	if (r->ret & RET_PARTIAL)
		partial_text(r, v, n, &out);
	if (modseq && n > 0)
		buf_printf(&out, " MODSEQ %llu", (unsigned long long)modseq);
	buf_adds(&out, "\r\n");
	conn_write(&s->conn, out.p, out.len);
	buf_free(&out);
}

void searchres_set(struct session *s, const uint32_t *uids, size_t n)
{
	free(s->saved);
	s->saved = n ? xcalloc(n, sizeof *s->saved) : NULL;
	if (n)
		memcpy(s->saved, uids, n * sizeof *uids);
	s->nsaved = n;
}

int searchres_has(const struct session *s, uint32_t uid)
{
	size_t lo = 0, hi = s->nsaved;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->saved[mid] == uid)
			return 1;
		if (s->saved[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* SEARCH's RETURN options (a list), SAVE of RFC 5182 taken out into *save
 * (SORT has no SAVE here, so search_return_options does not know it). */
static int search_return_save(const struct imap_arg *a, struct retopts *r, int *save)
{
	struct imap_arg rest;
	int rc;

	*save = 0;
	if (a->type != ARG_LIST)
		return -1;
	rest = *a;
	rest.kids = xcalloc(a->nkids ? a->nkids : 1, sizeof *rest.kids);
	rest.nkids = 0;
	for (size_t i = 0; i < a->nkids; i++) {
		if (arg_is(&a->kids[i], "SAVE"))
			(*save)++;
		else
			rest.kids[rest.nkids++] = a->kids[i];
	}
	rc = *save > 1 ? -1 : search_return_options(&rest, r);
	if (rc == 0 && *save && rest.nkids == 0)
		r->ret = 0;             /* RETURN (SAVE): no ESEARCH response at all */
	free(rest.kids);
	return rc;
}

/* RFC 5182 2.1: SAVE keeps the whole result, or only the messages MIN and
 * MAX return when they come without ALL or COUNT. */
static void search_save(struct session *s, const struct retopts *r, const uint32_t *uids, size_t n)
{
	uint32_t mm[2];
	size_t k = 0;

	if (n == 0 || (r->ret & (RET_ALL | RET_COUNT | RET_PARTIAL)) || !(r->ret & (RET_MIN | RET_MAX))) {
		searchres_set(s, uids, n);
		return;
	}
	if (r->ret & RET_MIN)
		mm[k++] = uids[0];
	if ((r->ret & RET_MAX) && !(k && uids[n - 1] == mm[0]))
		mm[k++] = uids[n - 1];
	searchres_set(s, mm, k);
}

void cmd_search(struct session *s, struct imap_cmd *c)
{
	struct imap_arg *a = c->args;
	size_t n = c->nargs, *hits, nhits;
	struct retopts r = { 0 };
	struct search_key *k;
	uint32_t *v;
	uint64_t top = 0;
	int save = 0;

	if (n >= 2 && arg_is(&a[0], "RETURN")) {
		if (search_return_save(&a[1], &r, &save) < 0) {
			if (save)       /* a SEARCH ... SAVE that fails leaves "$" empty */
				searchres_set(s, NULL, 0);
			reply(s, c->tag, "BAD Invalid SEARCH RETURN options");
			return;
		}
		a += 2, n -= 2;
	}
	if (r.ret == 0 && s->rev2 && !save)
		r.ret = RET_ALL;        /* IMAP4rev2 answers SEARCH with ESEARCH (RFC 9051 7.3.4) */
	if ((r.ret & RET_UPDATE) && context_has(s, c->tag)) {
		reply(s, c->tag, "BAD An updating search has this tag already");
		return;
	}
	if (save)                       /* a SEARCH ... SAVE that fails leaves "$" empty */
		searchres_set(s, NULL, 0);
	if (n >= 2 && arg_is(&a[0], "CHARSET")) {
		if (search_charset(s, c->tag, &a[1], a + 2, n - 2) < 0)
			return;
		a += 2, n -= 2;
	}
	if ((k = search_compile(a, n)) == NULL) {
		reply(s, c->tag, "BAD Invalid SEARCH arguments");
		return;
	}
	if (k->modseq)
		condstore_enable(s);
	run_key(s, k, &hits, &nhits);
	v = xcalloc(nhits ? nhits : 1, sizeof *v);
	for (size_t i = 0; i < nhits; i++) {
		v[i] = s->uid ? s->sel.m[hits[i]].uid : (uint32_t)hits[i] + 1;
		/* the highest MODSEQ of the messages returned (RFC 7162 3.1.5) */
		if (k->modseq && s->sel.m[hits[i]].modseq > top)
			top = s->sel.m[hits[i]].modseq;
	}
	if (k->modseq && r.ret && !(r.ret & (RET_ALL | RET_COUNT | RET_PARTIAL)) && nhits > 0) {
		/* only MIN's and MAX's when ESEARCH returns just those */
		uint64_t lo = s->sel.m[hits[0]].modseq, hi = s->sel.m[hits[nhits - 1]].modseq;
		int mm = r.ret & (RET_MIN | RET_MAX);

		top = mm == RET_MIN ? lo : mm == RET_MAX ? hi : lo > hi ? lo : hi;
	}
	if (save) {
		uint32_t *uids = xcalloc(nhits ? nhits : 1, sizeof *uids);

		for (size_t i = 0; i < nhits; i++)
			uids[i] = s->sel.m[hits[i]].uid;
		search_save(s, &r, uids, nhits);
		free(uids);
	}
	if (r.ret) {
		esearch_reply_modseq(s, c->tag, &r, v, nhits, top);
	} else if (!save) {
		struct buf out = { 0 };

		buf_adds(&out, "* SEARCH");
		for (size_t i = 0; i < nhits; i++)
			buf_printf(&out, " %u", v[i]);
		if (top)
			buf_printf(&out, " (MODSEQ %llu)", (unsigned long long)top);
		buf_adds(&out, "\r\n");
		conn_write(&s->conn, out.p, out.len);
		buf_free(&out);
	}
	if (!(r.ret & RET_UPDATE) || context_add(s, c->tag, k, NULL, hits, nhits) < 0)
		search_key_free(k);     /* else the context's now */
	free(v);
	free(hits);
	reply(s, c->tag, "OK Search completed.");
}
