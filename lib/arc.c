/* arc.c — ARC chain validation and sealing (see arc.h).
 *
 * Design note.  The sets are gathered by instance first and checked for
 * shape (one AAR, AMS and AS per instance, 1..N with no gap, N <= 50)
 * before any key is fetched: a malformed chain fails without DNS.  The
 * seal's hash covers, for i = 1..N, the relaxed AAR, AMS and AS fields of
 * set i, the AS being signed last with its b= value empty (RFC 8617
 * 5.1.1), which is what dkim_hash_self does for DKIM. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc.h"
#include "b64.h"
#include "err.h"
#include "header.h"

enum { AAR, AMS, AS, NKINDS };

static const char *const kind_name[NKINDS] = {
	"ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal",
};

struct arc_sets {
	struct hdr_field f[ARC_INSTANCE_MAX + 1][NKINDS];
	int have[ARC_INSTANCE_MAX + 1][NKINDS];
	int n;                  /* highest instance */
};

#define trace(f, ...) tracef(f, "arc", __VA_ARGS__)

static enum ar_result verdict(struct arc_out *o, enum ar_result r, const char *why, FILE *tr)
{
	snprintf(o->why, sizeof o->why, "%s", why);
	trace(tr, "=> %s%s%s", ar_name(r), why[0] ? ": " : "", why);
	return o->cv = r;
}

/* The instance of a field: "i=N" first in an AAR (4.1.1), the i= tag of
 * an AMS or AS.  0 if missing or out of range. */
static int instance_of(const struct hdr_field *f, int kind)
{
	const char *p = f->value, *end = f->value + f->vallen;
	long v;

	if (kind != AAR) {
		struct dkim_tags t;
		const struct dkim_tag *g;
		const char *why;
		char d[4];
		if (dkim_tags_parse(f->value, f->vallen, &t, &why) < 0 ||
		    !(g = dkim_tag_get(&t, "i")) || g->len == 0 || g->len >= sizeof d)
			return 0;
		memcpy(d, g->val, g->len);
		d[g->len] = '\0';
		p = d;
		end = d + g->len;
		if (strspn(d, "0123456789") != g->len)
			return 0;
		v = strtol(d, NULL, 10);
		return v >= 1 && v <= ARC_INSTANCE_MAX ? (int)v : 0;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (end - p < 3 || p[0] != 'i' || p[1] != '=' || !isdigit((unsigned char)p[2]))
		return 0;
	v = strtol(p + 2, NULL, 10);
	return v >= 1 && v <= ARC_INSTANCE_MAX ? (int)v : 0;
}

/* Gather the sets of hdr.  -1 (with why) if the chain is malformed. */
static int collect(const char *hdr, size_t hlen, struct arc_sets *s, const char **why)
{
	struct hdr_iter it;
	struct hdr_field f;

	memset(s, 0, sizeof *s);
	hdr_iter_init(&it, hdr, hlen);
	while (hdr_next(&it, &f)) {
		for (int k = 0; k < NKINDS; k++) {
			int i;
			if (!hdr_is(&f, kind_name[k]))
				continue;
			if (!(i = instance_of(&f, k))) {
				*why = "an ARC field without a valid i=";
				return -1;
			}
			if (s->have[i][k]++) {
				*why = "two ARC fields of one kind with the same i=";
				return -1;
			}
			s->f[i][k] = f;
			if (i > s->n)
				s->n = i;
		}
	}
	for (int i = 1; i <= s->n; i++)
		for (int k = 0; k < NKINDS; k++)
			if (!s->have[i][k]) {
				*why = "an ARC set is incomplete or missing";
				return -1;
			}
	return 0;
}

/* The "cv=" of an AS: AR_NONE, AR_PASS, AR_FAIL, or AR_PERMERROR. */
static enum ar_result cv_of(const struct dkim_tags *t)
{
	const struct dkim_tag *g = dkim_tag_get(t, "cv");

	if (!g)
		return AR_PERMERROR;
	if (g->len == 4 && strncasecmp(g->val, "none", 4) == 0)
		return AR_NONE;
	if (g->len == 4 && strncasecmp(g->val, "pass", 4) == 0)
		return AR_PASS;
	if (g->len == 4 && strncasecmp(g->val, "fail", 4) == 0)
		return AR_FAIL;
	return AR_PERMERROR;
}

static void tag_str(const struct dkim_tags *t, const char *name, char *dst, size_t cap)
{
	const struct dkim_tag *g = dkim_tag_get(t, name);
	size_t k = 0;

	for (size_t i = 0; g && i < g->len && k + 1 < cap; i++)
		if (!isspace((unsigned char)g->val[i]))
			dst[k++] = g->val[i];
	dst[k] = '\0';
}

/* Fetch the key of the signature with tags t: 0, or -1 with why. */
static int get_key(const struct dkim_tags *t, const struct dkim_verify_opts *o, EVP_PKEY **key,
    enum dkim_alg *alg, const char **why)
{
	char d[DKIM_DOMAIN_MAX + 1], sel[64], a[24], name[sizeof d + sizeof sel + 16];
	struct dns_answer ans;
	enum dns_status st;
	int testing, strict;

	tag_str(t, "d", d, sizeof d);
	tag_str(t, "s", sel, sizeof sel);
	tag_str(t, "a", a, sizeof a);
	*alg = dkim_alg_parse(a, strlen(a));
	if (!d[0] || !sel[0] || (*alg != DKIM_RSA_SHA256 && *alg != DKIM_ED25519_SHA256)) {
		*why = "missing d= or s=, or a bad a=";
		return -1;
	}
	snprintf(name, sizeof name, "%s._domainkey.%s", sel, d);
	trace(o->trace, "key: TXT %s", name);
	st = o->txt ? o->txt(o->txt_ctx, name, &ans) : dkim_dns_txt(o->dns, name, &ans);
	if (st != DNS_OK || ans.n == 0) {
		dns_answer_free(&ans);
		*why = st == DNS_TEMPFAIL ? "key lookup failed for now" : "no key";
		return -1;
	}
	if (dkim_key_parse(ans.text[0], *alg, key, why, &testing, &strict) != AR_PASS) {
		dns_answer_free(&ans);
		return -1;
	}
	dns_answer_free(&ans);
	return 0;
}

/* Check signature b= of tags t over hash. */
static int sig_ok(const struct dkim_tags *t, EVP_PKEY *key, const unsigned char *hash,
    unsigned hl)
{
	const struct dkim_tag *b = dkim_tag_get(t, "b");
	unsigned char sig[DKIM_SIG_B_MAX];
	long sl;

	if (!b || (sl = dkim_b64(b->val, b->len, sig, sizeof sig)) <= 0)
		return 0;
	return dkim_sig_check(key, hash, hl, 0, sig, (size_t)sl) == 0;
}

/* 5.2 step 5: the latest AMS must verify like a DKIM signature. */
static int check_ams(const char *msg, size_t hlen, size_t n, const struct hdr_field *f,
    const struct dkim_verify_opts *o, const char **why)
{
	struct dkim_tags t;
	const struct dkim_tag *h, *bh;
	enum canon hc = CANON_SIMPLE, bc = CANON_SIMPLE;
	unsigned char want[64], got[64], hash[64];
	unsigned gl = 0, hl = 0;
	char c[24];
	EVP_PKEY *key = NULL;
	enum dkim_alg alg;
	EVP_MD_CTX *md;
	long wl;
	int ok;

	if (dkim_tags_parse(f->value, f->vallen, &t, why) < 0)
		return -1;
	tag_str(&t, "c", c, sizeof c);
	if (!(h = dkim_tag_get(&t, "h")) || !(bh = dkim_tag_get(&t, "bh")) ||
	    (c[0] && canon_parse(c, &hc, &bc) < 0)) {
		*why = "AMS lacks h= or bh=, or has a bad c=";
		return -1;
	}
	wl = dkim_b64(bh->val, bh->len, want, sizeof want);
	if (dkim_body_hash(msg + hlen, n - hlen, bc, -1, 0, got, &gl) < 0 || wl != (long)gl ||
	    memcmp(want, got, gl) != 0) {
		*why = "AMS body hash did not verify";
		return -1;
	}
	if (get_key(&t, o, &key, &alg, why) < 0)
		return -1;
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	dkim_hash_fields(md, msg, hlen, h->val, h->len, hc, o->trace);
	dkim_hash_self(md, f->raw, f->rawlen, hc, o->trace);
	EVP_DigestFinal_ex(md, hash, &hl);
	EVP_MD_CTX_free(md);
	ok = sig_ok(&t, key, hash, hl);
	EVP_PKEY_free(key);
	if (!ok)
		*why = "AMS signature did not verify";
	return ok ? 0 : -1;
}

/* Hash sets 1..upto for the seal of set upto (5.1.1). */
static void hash_sets(EVP_MD_CTX *md, const struct arc_sets *s, int upto,
    const struct hdr_field *self, FILE *tr)
{
	for (int i = 1; i <= upto; i++)
		for (int k = 0; k < NKINDS; k++) {
			struct buf b = { 0 };
			if (i == upto && k == AS) {
				dkim_hash_self(md, self->raw, self->rawlen, CANON_RELAXED, tr);
				continue;
			}
			canon_header(s->f[i][k].raw, s->f[i][k].rawlen, CANON_RELAXED, &b);
			EVP_DigestUpdate(md, b.p, b.len);
			buf_free(&b);
		}
}

/* 5.2 step 6: every AS, latest first. */
static int check_seal(const struct arc_sets *s, int i, const struct dkim_verify_opts *o,
    const char **why)
{
	const struct hdr_field *f = &s->f[i][AS];
	struct dkim_tags t;
	unsigned char hash[64];
	unsigned hl = 0;
	EVP_PKEY *key = NULL;
	enum dkim_alg alg;
	EVP_MD_CTX *md;
	int ok;

	if (dkim_tags_parse(f->value, f->vallen, &t, why) < 0)
		return -1;
	if (dkim_tag_get(&t, "h")) {
		*why = "ARC-Seal with h=";      /* 4.1.3 */
		return -1;
	}
	if (get_key(&t, o, &key, &alg, why) < 0)
		return -1;
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	hash_sets(md, s, i, f, o->trace);
	EVP_DigestFinal_ex(md, hash, &hl);
	EVP_MD_CTX_free(md);
	ok = sig_ok(&t, key, hash, hl);
	EVP_PKEY_free(key);
	if (!ok)
		*why = "ARC-Seal did not verify";
	return ok ? 0 : -1;
}

/* 5.2 steps 2-3: cv= of each seal must be none for i=1, pass above. */
static int check_cvs(const struct arc_sets *s, const char **why)
{
	for (int i = s->n; i >= 1; i--) {
		struct dkim_tags t;
		enum ar_result cv;
		if (dkim_tags_parse(s->f[i][AS].value, s->f[i][AS].vallen, &t, why) < 0)
			return -1;
		cv = cv_of(&t);
		if (cv == AR_FAIL) {
			*why = "a seal says the chain failed (cv=fail)";
			return -1;
		}
		if (cv != (i == 1 ? AR_NONE : AR_PASS)) {
			*why = i == 1 ? "the first seal is not cv=none" : "a seal is not cv=pass";
			return -1;
		}
	}
	return 0;
}

enum ar_result arc_verify(const char *msg, size_t n, const struct dkim_verify_opts *o,
    struct arc_out *out)
{
	size_t hlen = hdr_length(msg, n, NULL);
	struct arc_sets *s = xmalloc(sizeof *s);
	const char *why = "";
	enum ar_result r;

	memset(out, 0, sizeof *out);
	if (collect(msg, hlen, s, &why) < 0) {
		r = verdict(out, AR_FAIL, why, o->trace);
		goto done;
	}
	out->instance = s->n;
	if (s->n == 0) {
		r = verdict(out, AR_NONE, "no ARC sets", o->trace);
		goto done;
	}
	trace(o->trace, "%d ARC set%s", s->n, s->n > 1 ? "s" : "");
	if (check_cvs(s, &why) < 0 || check_ams(msg, hlen, n, &s->f[s->n][AMS], o, &why) < 0) {
		r = verdict(out, AR_FAIL, why, o->trace);
		goto done;
	}
	for (int i = s->n; i >= 1; i--)
		if (check_seal(s, i, o, &why) < 0) {
			r = verdict(out, AR_FAIL, why, o->trace);
			goto done;
		}
	r = verdict(out, AR_PASS, "", o->trace);
done:
	free(s);
	return r;
}

/* The AS field up to "b=", then signed and appended to out. */
static int seal(const char *msg, size_t hlen, const struct arc_seal_opts *o, int inst,
    const char *eol, const struct buf *aar, const struct buf *ams, struct buf *out,
    char *err, size_t errlen)
{
	struct buf f = { 0 }, all = { 0 };
	struct arc_sets *s = xmalloc(sizeof *s);
	struct hdr_field self;
	unsigned char hash[64], sig[DKIM_SIG_B_MAX];
	unsigned hl = 0;
	size_t sl = sizeof sig;
	const char *why;
	EVP_MD_CTX *md;
	char *b64;
	int rc = -1;

	buf_printf(&f, "ARC-Seal: i=%d; a=%s; cv=%s; d=%s;%s\ts=%s; t=%lld;%s\tb=", inst,
	    dkim_alg_name(dkim_key_alg(o->key)), inst == 1 ? "none" : ar_name(o->cv),
	    o->domain, eol, o->selector, (long long)(o->t ? o->t : time(NULL)), eol);
	/* The new set joins the old ones, as a verifier will see them. */
	buf_add(&all, f.p, f.len);
	buf_adds(&all, eol);
	buf_add(&all, ams->p, ams->len);
	buf_add(&all, aar->p, aar->len);
	buf_add(&all, msg, hlen);
	if (collect(all.p, all.len, s, &why) < 0) {
		snprintf(err, errlen, "cannot seal: %s", why);
		goto out;
	}
	self = s->f[inst][AS];
	self.rawlen = f.len;    /* up to "b=", without the line end */
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	if (o->cv == AR_FAIL && inst > 1) {
		/* a failed chain: the seal covers this hop's set only */
		struct arc_sets one = { .n = 1 };
		for (int k = 0; k < NKINDS; k++)
			one.f[1][k] = s->f[inst][k];
		hash_sets(md, &one, 1, &self, o->trace);
	} else {
		hash_sets(md, s, inst, &self, o->trace);
	}
	EVP_DigestFinal_ex(md, hash, &hl);
	EVP_MD_CTX_free(md);
	if (dkim_sig_make(o->key, hash, hl, 0, sig, &sl) < 0) {
		snprintf(err, errlen, "signing failed (key)");
		goto out;
	}
	b64 = xmalloc(sl * 2 + 4);
	b64_encode(sig, sl, b64);
	buf_add(out, f.p, f.len);
	dkim_fold_b64(out, eol, b64, 10);
	free(b64);
	rc = 0;
out:
	free(s);
	buf_free(&f);
	buf_free(&all);
	return rc;
}

int arc_seal(const char *msg, size_t n, const struct arc_seal_opts *o, struct buf *out,
    char *err, size_t errlen)
{
	size_t hlen = hdr_length(msg, n, NULL);
	const char *nl = memchr(msg, '\n', n);
	const char *eol = nl && nl > msg && nl[-1] == '\r' ? "\r\n" : "\n";
	int inst = o->instance + 1;
	struct dkim_sign_opts so = { .domain = o->domain, .selector = o->selector, .key = o->key,
		.hc = CANON_RELAXED, .bc = CANON_RELAXED, .headers = o->headers, .t = o->t,
		.body_len = -1, .trace = o->trace, .arc_instance = inst };
	struct buf aar = { 0 }, ams = { 0 }, with = { 0 };
	int rc = -1;

	if (inst > ARC_INSTANCE_MAX) {
		snprintf(err, errlen, "the chain already has %d sets (RFC 8617 4.2.1)",
		    ARC_INSTANCE_MAX);
		return -1;
	}
	buf_printf(&aar, "ARC-Authentication-Results: i=%d; %s;%s\t%s%s", inst, o->authserv, eol,
	    o->results, eol);
	/* The AMS signs the message with the new AAR on top (h= names no ARC
	 * field, so only its place matters not). */
	buf_add(&with, aar.p, aar.len);
	buf_add(&with, msg, n);
	if (dkim_sign(with.p, with.len, &so, &ams, err, errlen) < 0)
		goto out;
	if (seal(msg, hlen, o, inst, eol, &aar, &ams, out, err, errlen) < 0)
		goto out;
	buf_add(out, ams.p, ams.len);
	buf_add(out, aar.p, aar.len);
	rc = 0;
out:
	buf_free(&aar);
	buf_free(&ams);
	buf_free(&with);
	return rc;
}
