/* dkim_verify.c — checking DKIM-Signature fields (RFC 6376 6), see dkim.h.
 *
 * Each signature is taken through the steps of 6.1 in order: its tags
 * (6.1.1), its key (6.1.2), the body hash and then the signature (6.1.3).
 * The first step that fails gives the result and its reason; nothing a
 * message or a key record says can make us loop, allocate without bound
 * or wait for more than one key lookup per signature. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim.h"
#include "ed25519.h"
#include "err.h"
#include "header.h"

struct sig {
	struct dkim_tags t;
	enum dkim_alg alg;
	enum canon hc, bc;
	long long l, ts, x;
	const struct dkim_tag *h, *b, *bh;
};

#define trace(f, ...) tracef(f, "dkim", __VA_ARGS__)

static enum ar_result verdict(struct dkim_result *r, enum ar_result res, const char *why)
{
	r->res = res;
	snprintf(r->reason, sizeof r->reason, "%s", why ? why : "");
	return res;
}

/* Copy a tag value into dst (cap bytes) without white space; -1 if it
 * does not fit. */
static int tag_copy(const struct dkim_tag *g, char *dst, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; g && i < g->len; i++) {
		char c = g->val[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (k + 1 >= cap)
			return -1;
		dst[k++] = c;
	}
	dst[k] = '\0';
	return 0;
}

/* A decimal tag (l=, t=, x=): *v = -1 when absent; -1 if not digits or
 * beyond what we count (a hostile l=99999999999999999999). */
static int tag_num(const struct dkim_tag *g, long long *v)
{
	char d[20];

	*v = -1;
	if (!g)
		return 0;
	if (tag_copy(g, d, sizeof d) < 0 || !d[0] || strspn(d, "0123456789") != strlen(d))
		return -1;
	*v = strtoll(d, NULL, 10);
	return 0;
}

static int domain_ok(const char *d)
{
	if (!*d || d[0] == '.' || strstr(d, ".."))
		return 0;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return 0;
	return 1;
}

/* Is the domain of identity i (after '@') d or a subdomain of it? */
static int i_in_d(const char *i, const char *d, int strict)
{
	const char *at = strrchr(i, '@');
	size_t il, dl = strlen(d);

	if (!at)
		return 0;
	at++;
	il = strlen(at);
	if (strcasecmp(at, d) == 0)
		return 1;
	return !strict && il > dl && at[il - dl - 1] == '.' && strcasecmp(at + il - dl, d) == 0;
}

/* 6.1.1: the tags a signature must have, and their values. */
static enum ar_result check_tags(struct sig *s, struct dkim_result *r, time_t now)
{
	const struct dkim_tag *g;

	if (!(g = dkim_tag_get(&s->t, "v")) || !(g->len == 1 && g->val[0] == '1'))
		return verdict(r, AR_PERMERROR, "v= is not 1");
	if (!(s->b = dkim_tag_get(&s->t, "b")) || !(s->bh = dkim_tag_get(&s->t, "bh")) ||
	    !(s->h = dkim_tag_get(&s->t, "h")) || !dkim_tag_get(&s->t, "a") ||
	    !r->d[0] || !r->s[0])
		return verdict(r, AR_PERMERROR, "missing a required tag (a, b, bh, d, h or s)");
	g = dkim_tag_get(&s->t, "a");
	s->alg = dkim_alg_parse(g->val, g->len);
	if (s->alg == DKIM_ALG_BAD)
		return verdict(r, AR_PERMERROR, "unknown algorithm a=");
	if (s->alg == DKIM_RSA_SHA1)
		return verdict(r, AR_PERMERROR, "rsa-sha1 is not accepted (RFC 8301)");
	s->hc = s->bc = CANON_SIMPLE;
	if ((g = dkim_tag_get(&s->t, "c"))) {
		char c[20];
		if (tag_copy(g, c, sizeof c) < 0 || canon_parse(c, &s->hc, &s->bc) < 0)
			return verdict(r, AR_PERMERROR, "unknown canonicalization c=");
	}
	if (!domain_ok(r->d) || !domain_ok(r->s))
		return verdict(r, AR_PERMERROR, "bad d= or s=");
	if (!i_in_d(r->i, r->d, 0))
		return verdict(r, AR_PERMERROR, "i= is not in d= (6.1.1)");
	if (!s->h->len)
		return verdict(r, AR_PERMERROR, "empty h=");
	if (tag_num(dkim_tag_get(&s->t, "l"), &s->l) < 0 ||
	    tag_num(dkim_tag_get(&s->t, "t"), &s->ts) < 0 ||
	    tag_num(dkim_tag_get(&s->t, "x"), &s->x) < 0)
		return verdict(r, AR_PERMERROR, "l=, t= or x= is not a number we can count");
	if (s->x >= 0 && s->ts >= 0 && s->x < s->ts)
		return verdict(r, AR_PERMERROR, "x= is before t=");
	if (s->x >= 0 && s->x < (long long)now)
		return verdict(r, AR_FAIL, "signature expired (x=)");
	return AR_PASS;
}

/* 5.4: From MUST be signed. */
static int h_has_from(const struct dkim_tag *h)
{
	for (const char *p = h->val, *end = h->val + h->len; p < end; ) {
		const char *c = memchr(p, ':', (size_t)(end - p)), *e = c ? c : end;
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			e--;
		if (e - p == 4 && strncasecmp(p, "from", 4) == 0)
			return 1;
		p = c ? c + 1 : end;
	}
	return 0;
}

void dkim_keycache_free(struct dkim_keycache *c)
{
	for (size_t i = 0; c && i < c->n; i++) {
		free(c->txt[i]);
		EVP_PKEY_free(c->key[i]);
		free(c->ed[i]);
		c->ed[i] = NULL;
		c->uses[i] = 0;
	}
	if (c) {
		free(c->ed_base);
		c->ed_base = NULL;
		c->n = 0;
	}
}

/* dkim_sig_check, through lib/ed25519.c's tables for an Ed25519 key of
 * the cache used often enough (made at its DKIM_ED25519_TABLE_USES-th
 * use); libsodium for the others, and for a key lib/ed25519.c does not
 * take, with the same verdicts. */
static int sig_check_cached(struct dkim_keycache *c, EVP_PKEY *key, const unsigned char *hash,
    unsigned hl, const unsigned char *sig, size_t sl)
{
	size_t i = 0;

	while (c && i < c->n && c->key[i] != key)
		i++;
	if (!c || i == c->n || c->alg[i] != DKIM_ED25519_SHA256 || sl != 64)
		return dkim_sig_check(key, hash, hl, 0, sig, sl);
	if (++c->uses[i] == DKIM_ED25519_TABLE_USES) {
		unsigned char pk[32];
		size_t pl = sizeof pk;

		if (!c->ed_base)
			c->ed_base = ed25519_base_new();
		if (EVP_PKEY_get_raw_public_key(key, pk, &pl) == 1 && pl == sizeof pk)
			c->ed[i] = ed25519_key_new(c->ed_base, pk);
	}
	if (!c->ed[i])
		return dkim_sig_check(key, hash, hl, 0, sig, sl);
	return ed25519_verify(c->ed_base, c->ed[i], sig, hash, hl);
}

/* dkim_key_parse through the cache: a usable key is kept (a reference
 * goes to the caller), a bad one is parsed again next time. */
static enum ar_result parse_key(struct dkim_keycache *c, const char *txt, enum dkim_alg alg,
    EVP_PKEY **key, const char **why, int *testing, int *strict)
{
	enum ar_result r;

	for (size_t i = 0; c && i < c->n; i++)
		if (c->alg[i] == alg && strcmp(c->txt[i], txt) == 0) {
			EVP_PKEY_up_ref(c->key[i]);
			*key = c->key[i];
			*testing = c->testing[i];
			*strict = c->strict[i];
			return AR_PASS;
		}
	r = dkim_key_parse(txt, alg, key, why, testing, strict);
	if (r == AR_PASS && c && c->n < DKIM_KEYCACHE_MAX && EVP_PKEY_up_ref(*key) == 1) {
		c->txt[c->n] = xstrdup(txt);
		c->alg[c->n] = alg;
		c->key[c->n] = *key;
		c->testing[c->n] = *testing;
		c->strict[c->n++] = *strict;
	}
	return r;
}

/* 6.1.2: fetch and parse the key. */
static enum ar_result get_key(const struct sig *s, struct dkim_result *r,
    const struct dkim_verify_opts *o, EVP_PKEY **key, int *testing)
{
	char name[DKIM_DOMAIN_MAX * 2 + 16];
	struct dns_answer a;
	enum dns_status st;
	enum ar_result res;
	const char *why = "";
	int strict_i = 0;

	snprintf(name, sizeof name, "%s._domainkey.%s", r->s, r->d);
	trace(o->trace, "key: TXT %s", name);
	st = o->txt ? o->txt(o->txt_ctx, name, &a) : dkim_dns_txt(o->dns, name, &a);
	if (st == DNS_TEMPFAIL) {
		dns_answer_free(&a);
		return verdict(r, AR_TEMPERROR, "key lookup failed for now");
	}
	if (st != DNS_OK || a.n == 0) {
		dns_answer_free(&a);
		return verdict(r, AR_PERMERROR, "no key for signature");
	}
	trace(o->trace, "key: %s%s", a.text[0], a.n > 1 ? " (first of several records)" : "");
	res = parse_key(o->keys, a.text[0], s->alg, key, &why, testing, &strict_i);
	dns_answer_free(&a);
	if (res != AR_PASS)
		return verdict(r, res, why);
	if (strict_i && !i_in_d(r->i, r->d, 1)) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return verdict(r, AR_PERMERROR, "key t=s and i= is a subdomain of d=");
	}
	return AR_PASS;
}

/* 6.1.3: body hash, then header hash and signature. */
static enum ar_result check_hashes(const struct sig *s, struct dkim_result *r, EVP_PKEY *key,
    struct dkim_keycache *keys, const char *msg, size_t hlen, size_t n, const struct hdr_field *f,
    FILE *tr)
{
	unsigned char want[64], got[64], hash[64], sigb[DKIM_SIG_B_MAX];
	unsigned gl = 0, hl = 0;
	long wl, sl;
	long long blen;
	EVP_MD_CTX *md;

	wl = dkim_b64(s->bh->val, s->bh->len, want, sizeof want);
	sl = dkim_b64(s->b->val, s->b->len, sigb, sizeof sigb);
	if (wl < 0 || sl <= 0)
		return verdict(r, AR_PERMERROR, "bh= or b= is not base64");
	blen = dkim_body_hash(msg + hlen, n - hlen, s->bc, s->l, 0, got, &gl);
	trace(tr, "body: %s, %lld bytes canonical%s", canon_name(s->bc), blen,
	    s->l >= 0 ? ", l= limits the hash" : "");
	if (blen < 0)
		return verdict(r, AR_FAIL, "l= is longer than the body");
	if ((unsigned long)wl != gl || memcmp(want, got, gl) != 0)
		return verdict(r, AR_FAIL, "body hash did not verify");
	trace(tr, "body hash matches bh=");
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	dkim_hash_fields(md, msg, hlen, s->h->val, s->h->len, s->hc, tr);
	dkim_hash_self(md, f->raw, f->rawlen, s->hc, tr);
	EVP_DigestFinal_ex(md, hash, &hl);
	EVP_MD_CTX_free(md);
	if (sig_check_cached(keys, key, hash, hl, sigb, (size_t)sl) < 0)
		return verdict(r, AR_FAIL, "signature did not verify");
	return verdict(r, AR_PASS, NULL);
}

static void fill_ids(struct sig *s, struct dkim_result *r)
{
	const struct dkim_tag *g;

	if (tag_copy(dkim_tag_get(&s->t, "d"), r->d, sizeof r->d) < 0)
		r->d[0] = '\0';
	if (tag_copy(dkim_tag_get(&s->t, "s"), r->s, sizeof r->s) < 0)
		r->s[0] = '\0';
	if ((g = dkim_tag_get(&s->t, "i"))) {
		if (tag_copy(g, r->i, sizeof r->i) < 0)
			r->i[0] = '\0';
	} else {
		snprintf(r->i, sizeof r->i, "@%s", r->d);
	}
	if (tag_copy(dkim_tag_get(&s->t, "a"), r->a, sizeof r->a) < 0)
		r->a[0] = '\0';
	if ((g = dkim_tag_get(&s->t, "b"))) {
		char b[9];
		size_t k = 0;
		for (size_t i = 0; i < g->len && k < 8; i++)
			if (g->val[i] != ' ' && g->val[i] != '\t' && g->val[i] != '\r' &&
			    g->val[i] != '\n')
				b[k++] = g->val[i];
		b[k] = '\0';
		memcpy(r->b, b, k + 1);
	}
}

static void verify_one(const char *msg, size_t hlen, size_t n, const struct hdr_field *f,
    const struct dkim_verify_opts *o, time_t now, struct dkim_result *r)
{
	struct sig s = { 0 };
	const char *why = "";
	EVP_PKEY *key = NULL;
	int testing = 0;

	memset(r, 0, sizeof *r);
	if (dkim_tags_parse(f->value, f->vallen, &s.t, &why) < 0) {
		verdict(r, AR_PERMERROR, why);
		trace(o->trace, "signature: %s", why);
		return;
	}
	fill_ids(&s, r);
	trace(o->trace, "signature d=%s s=%s a=%s", r->d, r->s, r->a);
	if (check_tags(&s, r, now) != AR_PASS)
		goto out;
	if (!h_has_from(s.h)) {
		verdict(r, AR_PERMERROR, "From is not signed (h=)");
		goto out;
	}
	if (get_key(&s, r, o, &key, &testing) != AR_PASS)
		goto out;
	check_hashes(&s, r, key, o->keys, msg, hlen, n, f, o->trace);
	if (testing && r->res == AR_FAIL)
		snprintf(r->reason, sizeof r->reason, "%s", "key in testing mode (t=y)");
out:
	EVP_PKEY_free(key);
	trace(o->trace, "=> %s%s%s", ar_name(r->res), r->reason[0] ? ": " : "", r->reason);
}

int dkim_verify(const char *msg, size_t n, const struct dkim_verify_opts *o,
    struct dkim_result **out, size_t *nout)
{
	size_t hlen = hdr_length(msg, n, NULL), max = o->max_sigs ? o->max_sigs : DKIM_SIGS_MAX;
	time_t now = o->now ? o->now : time(NULL);
	struct hdr_iter it;
	struct hdr_field f;
	size_t seen = 0;

	*out = NULL;
	*nout = 0;
	hdr_iter_init(&it, msg, hlen);
	while (hdr_next(&it, &f)) {
		if (!hdr_is(&f, "DKIM-Signature"))
			continue;
		if (++seen > max)
			continue;
		*out = xrealloc(*out, (*nout + 1) * sizeof **out);
		verify_one(msg, hlen, n, &f, o, now, &(*out)[(*nout)++]);
	}
	if (seen > max)
		trace(o->trace, "%zu more signatures not verified (limit %zu)", seen - max, max);
	if (seen == 0)
		trace(o->trace, "no DKIM-Signature field");
	return 0;
}
