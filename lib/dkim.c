/* dkim.c — DKIM signing and verifying (see dkim.h).
 *
 * Design note.  The message is canonicalised into memory (canon.c) and
 * hashed with SHA-256; the header hash is signed as a digest, so RSA uses
 * RSASSA-PKCS1-v1_5 with the SHA-256 DigestInfo (RFC 8301) and Ed25519
 * signs the 32 bytes of the hash as its message (RFC 8463 3).  Verifying
 * never trusts a length or a count from the message: tags, h= names,
 * signatures and key sizes all have named limits, and every failure is a
 * result with a reason, never an exit. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "b64.h"
#include "dkim.h"
#include "err.h"
#include "header.h"

#define ED25519_KEY_LEN 32
#define SHA256_LEN      32
#define HASH_MAX        64

#define trace(f, ...) tracef(f, "dkim", __VA_ARGS__)

static int fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ------------------------------------------------------------ tag lists */

static int tag_name_ok(const char *p, size_t n)
{
	if (n == 0 || n >= DKIM_TAGNAME_MAX || !isalpha((unsigned char)p[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '_')
			return 0;
	return 1;
}

/* tval (3.2): printable ASCII but ';', with folding white space between. */
static int tag_value_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!fws((char)c) && (c < 0x21 || c > 0x7e || c == ';'))
			return 0;
	}
	return 1;
}

static void trim(const char **p, size_t *n)
{
	while (*n > 0 && fws(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n > 0 && fws((*p)[*n - 1]))
		(*n)--;
}

int dkim_tags_parse(const char *s, size_t n, struct dkim_tags *t, const char **why)
{
	const char *end = s + n;

	t->n = 0;
	while (s < end) {
		const char *semi = memchr(s, ';', (size_t)(end - s));
		const char *e = semi ? semi : end, *eq, *name = s;
		size_t nl, vl;

		eq = memchr(s, '=', (size_t)(e - s));
		nl = (size_t)((eq ? eq : e) - s);
		trim(&name, &nl);
		if (!eq) {
			if (nl == 0 && !semi) /* a trailing ';' is allowed (3.2) */
				break;
			*why = nl == 0 ? "empty tag" : "tag without '='";
			return -1;
		}
		if (!tag_name_ok(name, nl)) {
			*why = "bad tag name";
			return -1;
		}
		if (t->n >= DKIM_TAGS_MAX) {
			*why = "too many tags";
			return -1;
		}
		for (size_t i = 0; i < t->n; i++)
			if (strlen(t->v[i].name) == nl && memcmp(t->v[i].name, name, nl) == 0) {
				*why = "duplicate tag";     /* 3.2: "MUST be treated as invalid" */
				return -1;
			}
		memcpy(t->v[t->n].name, name, nl);
		t->v[t->n].name[nl] = '\0';
		t->v[t->n].val = eq + 1;
		vl = (size_t)(e - eq - 1);
		trim(&t->v[t->n].val, &vl);
		t->v[t->n].len = vl;
		if (!tag_value_ok(t->v[t->n].val, vl)) {
			*why = "bad byte in a tag value";
			return -1;
		}
		t->n++;
		s = semi ? semi + 1 : end;
	}
	return 0;
}

const struct dkim_tag *dkim_tag_get(const struct dkim_tags *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static int tag_is(const struct dkim_tag *g, const char *s)
{
	return g && g->len == strlen(s) && strncasecmp(g->val, s, g->len) == 0;
}

/* ------------------------------------------------------------- pieces */

const char *dkim_alg_name(enum dkim_alg a)
{
	switch (a) {
	case DKIM_RSA_SHA256: return "rsa-sha256";
	case DKIM_ED25519_SHA256: return "ed25519-sha256";
	case DKIM_RSA_SHA1: return "rsa-sha1";
	default: return "?";
	}
}

enum dkim_alg dkim_alg_parse(const char *s, size_t n)
{
	for (int a = DKIM_RSA_SHA256; a < DKIM_ALG_BAD; a++)
		if (strlen(dkim_alg_name(a)) == n && strncasecmp(s, dkim_alg_name(a), n) == 0)
			return (enum dkim_alg)a;
	return DKIM_ALG_BAD;
}

long dkim_b64(const char *s, size_t n, unsigned char *out, size_t cap)
{
	char *clean = xmalloc(n + 1);
	unsigned char *tmp;
	size_t k = 0;
	ssize_t r;

	for (size_t i = 0; i < n; i++)
		if (!fws(s[i]))
			clean[k++] = s[i];
	clean[k] = '\0';
	tmp = xmalloc(k / 4 * 3 + 3);
	r = b64_decode(clean, k, tmp);
	if (r >= 0 && (size_t)r <= cap)
		memcpy(out, tmp, (size_t)r);
	else
		r = -1;
	free(clean);
	free(tmp);
	return r;
}

long long dkim_body_hash(const char *body, size_t n, enum canon c, long long l, int sha1,
    unsigned char *hash, unsigned *hlen)
{
	struct buf b = { 0 };
	long long len;

	canon_body(body, n, c, &b);
	len = (long long)b.len;
	if (l >= 0 && l > len) {
		buf_free(&b);
		return -1;
	}
	EVP_Digest(b.p, l >= 0 ? (size_t)l : b.len, hash, hlen, sha1 ? EVP_sha1() : EVP_sha256(),
	    NULL);
	buf_free(&b);
	return len;
}

/* Feed one canonicalised field into md, with a trace line. */
static void hash_field(EVP_MD_CTX *md, const char *raw, size_t n, enum canon c, int last,
    FILE *tr)
{
	struct buf b = { 0 };

	canon_header(raw, n, c, &b);
	if (last)               /* the signature field goes in without its CRLF (3.7) */
		b.len -= 2;
	EVP_DigestUpdate(md, b.p, b.len);
	if (tr) {
		size_t show = b.len > 2 && b.p[b.len - 2] == '\r' ? b.len - 2 : b.len;
		trace(tr, "  hash header: %.*s%s", (int)(show > 200 ? 200 : show), b.p,
		    show > 200 ? "..." : "");
	}
	buf_free(&b);
}

void dkim_hash_fields(EVP_MD_CTX *md, const char *hdr, size_t n, const char *h, size_t hl,
    enum canon c, FILE *tr)
{
	struct hdr_field *f = NULL;
	unsigned char *used;
	struct hdr_iter it;
	struct hdr_field x;
	size_t nf = 0;

	hdr_iter_init(&it, hdr, n);
	while (hdr_next(&it, &x))
		if (x.name) {
			f = xrealloc(f, (nf + 1) * sizeof *f);
			f[nf++] = x;
		}
	used = xcalloc(nf + 1, 1);
	for (const char *p = h, *end = h + hl; p < end; ) {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *name = p;
		size_t len = (size_t)((colon ? colon : end) - p);
		trim(&name, &len);
		/* 5.4.2: the last instance not yet used, then the one above... */
		for (size_t i = nf; i-- > 0; )
			if (!used[i] && f[i].namelen == len && strncasecmp(f[i].name, name, len) == 0) {
				used[i] = 1;
				hash_field(md, f[i].raw, f[i].rawlen, c, 0, tr);
				break;
			}
		/* ...and a name with no instance left adds nothing (over-signing). */
		p = colon ? colon + 1 : end;
	}
	free(used);
	free(f);
}

void dkim_hash_self(EVP_MD_CTX *md, const char *raw, size_t rn, enum canon c, FILE *tr)
{
	const char *colon = memchr(raw, ':', rn), *p, *end = raw + rn;
	struct buf b = { 0 };

	if (!colon) {
		hash_field(md, raw, rn, c, 1, tr);
		return;
	}
	buf_add(&b, raw, (size_t)(colon + 1 - raw));
	/* Copy tag by tag, leaving out the value of the tag named exactly
	 * "b" (not "bh"), white space and all (3.7). */
	for (p = colon + 1; p < end; ) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *e = semi ? semi : end, *eq = memchr(p, '=', (size_t)(e - p));
		const char *name = p;
		size_t nl = eq ? (size_t)(eq - p) : 0;

		trim(&name, &nl);
		if (eq && nl == 1 && *name == 'b') {
			buf_add(&b, p, (size_t)(eq + 1 - p));
			/* keep the line end of a field whose last tag is b= */
			if (!semi && e > p && e[-1] == '\n')
				buf_add(&b, e[-2] == '\r' ? "\r\n" : "\n", e[-2] == '\r' ? 2 : 1);
		} else {
			buf_add(&b, p, (size_t)(e - p));
		}
		if (semi)
			buf_addc(&b, ';');
		p = semi ? semi + 1 : end;
	}
	hash_field(md, b.p, b.len, c, 1, tr);
	buf_free(&b);
}

/* Ed25519 goes through libsodium, RSA through OpenSSL: OpenSSL 3's
 * Ed25519 verification (provider dispatch, then a generic ladder) took
 * 70-80 us a signature here against libsodium's 45, and it was most of
 * the time mailauth spends on a message.  The EVP_PKEY stays the key's
 * type everywhere else; only its 32 raw bytes cross over. */
static int ed25519_check(EVP_PKEY *key, const unsigned char *msg, size_t n,
    const unsigned char *sig, size_t siglen)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	size_t pl = sizeof pk;

	if (sodium_init() < 0 || siglen != crypto_sign_BYTES ||
	    EVP_PKEY_get_raw_public_key(key, pk, &pl) != 1 || pl != sizeof pk)
		return -1;
	return crypto_sign_verify_detached(sig, msg, n, pk);
}

static int ed25519_sign(EVP_PKEY *key, const unsigned char *msg, size_t n,
    unsigned char *sig, size_t *siglen)
{
	unsigned char seed[crypto_sign_SEEDBYTES], pk[crypto_sign_PUBLICKEYBYTES],
	    sk[crypto_sign_SECRETKEYBYTES];
	size_t sl = sizeof seed;
	unsigned long long out = 0;
	int r = -1;

	if (*siglen < crypto_sign_BYTES || sodium_init() < 0 ||
	    EVP_PKEY_get_raw_private_key(key, seed, &sl) != 1 || sl != sizeof seed)
		goto out;
	if (crypto_sign_seed_keypair(pk, sk, seed) == 0 &&
	    crypto_sign_detached(sig, &out, msg, n, sk) == 0) {
		*siglen = (size_t)out;
		r = 0;
	}
out:
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk, sizeof sk);
	return r;
}

int dkim_sig_make(EVP_PKEY *key, const unsigned char *hash, unsigned hlen, int sha1,
    unsigned char *sig, size_t *siglen)
{
	int ok = 0;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		ok = ed25519_sign(key, hash, hlen, sig, siglen) == 0;
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
		ok = c && EVP_PKEY_sign_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, sha1 ? EVP_sha1() : EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(c, sig, siglen, hash, hlen) == 1;
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
	return ok ? 0 : -1;
}

int dkim_sig_check(EVP_PKEY *key, const unsigned char *hash, unsigned hlen, int sha1,
    const unsigned char *sig, size_t siglen)
{
	int ok = 0;

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
		ok = ed25519_check(key, hash, hlen, sig, siglen) == 0;
	} else {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
		ok = c && EVP_PKEY_verify_init(c) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(c, sha1 ? EVP_sha1() : EVP_sha256()) == 1 &&
		    EVP_PKEY_verify(c, sig, siglen, hash, hlen) == 1;
		EVP_PKEY_CTX_free(c);
	}
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* ---------------------------------------------------------------- keys */

enum dkim_alg dkim_key_alg(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA: return DKIM_RSA_SHA256;
	case EVP_PKEY_ED25519: return DKIM_ED25519_SHA256;
	default: return DKIM_ALG_BAD;
	}
}

/* dkimpy keeps an Ed25519 private key as the base64 of its 32-byte seed. */
static EVP_PKEY *load_raw_ed25519(const char *text, size_t n)
{
	unsigned char seed[ED25519_KEY_LEN + 3];

	if (dkim_b64(text, n, seed, sizeof seed) != ED25519_KEY_LEN)
		return NULL;
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, ED25519_KEY_LEN);
}

EVP_PKEY *dkim_key_load(const char *file, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");
	EVP_PKEY *k;
	char text[256];
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	ERR_clear_error();
	if (!k) {
		rewind(f);
		n = fread(text, 1, sizeof text - 1, f);
		k = load_raw_ed25519(text, n);
	}
	fclose(f);
	if (!k)
		snprintf(err, errlen, "%s: not a PEM private key nor a base64 Ed25519 seed", file);
	else if (dkim_key_alg(k) == DKIM_ALG_BAD) {
		snprintf(err, errlen, "%s: not an RSA or Ed25519 key", file);
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

int dkim_key_record(EVP_PKEY *key, struct buf *out)
{
	unsigned char *der = NULL, raw[ED25519_KEY_LEN];
	size_t rl = sizeof raw;
	char *b64;
	int n;

	if (dkim_key_alg(key) == DKIM_ED25519_SHA256) {
		/* RFC 8463 4.2: p= is the bare 32-byte public key */
		if (EVP_PKEY_get_raw_public_key(key, raw, &rl) != 1)
			return -1;
		b64 = xmalloc(rl * 2 + 4);
		b64_encode(raw, rl, b64);
		buf_printf(out, "v=DKIM1; k=ed25519; p=%s", b64);
	} else {
		if ((n = i2d_PUBKEY(key, &der)) <= 0)
			return -1;
		b64 = xmalloc((size_t)n * 2 + 4);
		b64_encode(der, (size_t)n, b64);
		OPENSSL_free(der);
		buf_printf(out, "v=DKIM1; k=rsa; p=%s", b64);
	}
	free(b64);
	return 0;
}

static EVP_PKEY *public_from_der(enum dkim_alg alg, const unsigned char *der, long n,
    const char **why)
{
	const unsigned char *p = der;
	EVP_PKEY *k;

	if (alg == DKIM_ED25519_SHA256) {
		if (n != ED25519_KEY_LEN) {
			*why = "Ed25519 key is not 32 bytes";
			return NULL;
		}
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, (size_t)n);
	}
	/* 3.6.1: SubjectPublicKeyInfo; some publish the bare RSAPublicKey. */
	k = d2i_PUBKEY(NULL, &p, n);
	if (!k) {
		p = der;
		k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, n);
	}
	ERR_clear_error();
	if (k && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	if (!k)
		*why = "p= is not an RSA public key";
	return k;
}

enum ar_result dkim_key_parse(const char *txt, enum dkim_alg alg, EVP_PKEY **key,
    const char **why, int *testing, int *strict_i)
{
	struct dkim_tags t;
	const struct dkim_tag *g;
	unsigned char *der;
	long n;
	int bits;

	*key = NULL;
	if (dkim_tags_parse(txt, strlen(txt), &t, why) < 0)
		return AR_PERMERROR;
	if ((g = dkim_tag_get(&t, "v")) && (!tag_is(g, "DKIM1") || &t.v[0] != g)) {
		*why = "key record v= is not DKIM1 first";  /* 3.6.1 */
		return AR_PERMERROR;
	}
	g = dkim_tag_get(&t, "k");
	if ((alg == DKIM_ED25519_SHA256) != (g && tag_is(g, "ed25519")) ||
	    (g && !tag_is(g, "rsa") && !tag_is(g, "ed25519"))) {
		*why = "key type k= does not match the signature's a=";
		return AR_PERMERROR;
	}
	if ((g = dkim_tag_get(&t, "h")) && !memmem(g->val, g->len, alg == DKIM_RSA_SHA1 ?
	    "sha1" : "sha256", alg == DKIM_RSA_SHA1 ? 4 : 6)) {
		*why = "key h= does not allow the hash";
		return AR_PERMERROR;
	}
	if ((g = dkim_tag_get(&t, "s")) && !memmem(g->val, g->len, "email", 5) &&
	    !memchr(g->val, '*', g->len)) {
		*why = "key s= is not for email";
		return AR_PERMERROR;
	}
	g = dkim_tag_get(&t, "t");
	*testing = g && memchr(g->val, 'y', g->len);
	*strict_i = g && memchr(g->val, 's', g->len);
	if (!(g = dkim_tag_get(&t, "p"))) {
		*why = "key record has no p=";
		return AR_PERMERROR;
	}
	if (g->len == 0) {
		*why = "key revoked (empty p=)";
		return AR_PERMERROR;
	}
	der = xmalloc(g->len);
	n = dkim_b64(g->val, g->len, der, g->len);
	*key = n > 0 ? public_from_der(alg, der, n, why) : NULL;
	free(der);
	if (n <= 0)
		*why = "p= is not base64";
	if (!*key)
		return AR_PERMERROR;
	if (alg != DKIM_ED25519_SHA256) {
		bits = EVP_PKEY_get_bits(*key);
		if (bits < DKIM_RSA_MIN_BITS || bits > DKIM_RSA_MAX_BITS) {
			*why = bits < DKIM_RSA_MIN_BITS ? "RSA key shorter than 1024 bits (RFC 8301)" :
			    "RSA key longer than 8192 bits";
			EVP_PKEY_free(*key);
			*key = NULL;
			return AR_PERMERROR;
		}
	}
	return AR_PASS;
}

enum dns_status dkim_dns_txt(void *ctx, const char *name, struct dns_answer *out)
{
	return dns_txt(ctx, name, out);
}
