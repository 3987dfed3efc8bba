/* dkim.h — DomainKeys Identified Mail signatures (RFC 6376), with RSA
 * (RFC 8301) and Ed25519 (RFC 8463) keys through OpenSSL.
 *
 * A message is given whole, in memory, with CRLF or bare LF line ends.
 * Keys are found with a TXT lookup at SELECTOR._domainkey.DOMAIN through a
 * callback, so a program asks its --dns server, a benchmark its cache and
 * a unit test a table.  Every step can be told on a trace FILE (-v).
 *
 * Ownership: results (struct dkim_result arrays) belong to the caller and
 * are freed with free(); keys from dkim_key_load with EVP_PKEY_free(). */
#ifndef ML_DKIM_H
#define ML_DKIM_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <openssl/evp.h>

#include "authres.h"
#include "buf.h"
#include "canon.h"
#include "dns.h"

#define DKIM_TAGS_MAX     32      /* tags in one tag-list; RFC 6376 defines 14 for a signature */
#define DKIM_TAGNAME_MAX  16      /* longest tag name we keep ("z", "bh"...: all are short) */
#define DKIM_SIGS_MAX     20      /* signatures verified per message; more is hostile */
#define DKIM_HNAMES_MAX   64      /* names in h=; a real signer lists about 15 */
#define DKIM_RSA_MIN_BITS 1024    /* RFC 8301 3.2: smaller keys MUST NOT be valid */
#define DKIM_RSA_MAX_BITS 8192    /* larger keys only cost time (16384: hostile) */
#define DKIM_MSG_MAX      (64 * 1024 * 1024)   /* a message we read into memory */
#define DKIM_SIG_B_MAX    2048    /* a signature of an 8192-bit key is 1024 bytes */
#define DKIM_DOMAIN_MAX   255     /* RFC 1035 2.3.4 */
#define DKIM_REASON_MAX   160

enum dkim_alg { DKIM_RSA_SHA256, DKIM_ED25519_SHA256, DKIM_RSA_SHA1, DKIM_ALG_BAD };

/* One tag=value pair (RFC 6376 3.2); val points into the parsed text, with
 * the white space around it excluded (folding inside is kept). */
struct dkim_tag {
	char name[DKIM_TAGNAME_MAX];
	const char *val;
	size_t len;
};

struct dkim_tags {
	struct dkim_tag v[DKIM_TAGS_MAX];
	size_t n;
};

/* Parse the tag-list s[0..n).  Returns 0, or -1 with a static reason in
 * *why (bad name, missing '=', duplicate tag, too many tags, bad byte). */
int dkim_tags_parse(const char *s, size_t n, struct dkim_tags *t, const char **why);
/* The tag named name, or NULL. */
const struct dkim_tag *dkim_tag_get(const struct dkim_tags *t, const char *name);

/* TXT lookup: fills out (strings joined, raw bytes) like dns_txt. */
typedef enum dns_status (*dkim_txt_fn)(void *ctx, const char *name, struct dns_answer *out);

struct dkim_result {
	enum ar_result res;
	char reason[DKIM_REASON_MAX];   /* "" or why: "body hash did not verify" */
	char d[DKIM_DOMAIN_MAX + 1];    /* header.d */
	char s[64];                     /* header.s */
	char i[DKIM_DOMAIN_MAX + 66];   /* header.i (may be "") */
	char a[24];                     /* header.a */
	char b[9];                      /* header.b: first 8 characters of b= */
};

/* Keys already parsed, for a caller that verifies many messages: OpenSSL
 * 3 decodes a key slowly, and a run sees few keys.  An Ed25519 key used
 * DKIM_ED25519_TABLE_USES times also gets lib/ed25519.c's tables (some
 * 300 us to make, then a verification costs a third of libsodium's).
 * Zero it before use; free with dkim_keycache_free. */
#define DKIM_KEYCACHE_MAX 16
#define DKIM_ED25519_TABLE_USES 8       /* below it, one process, one message: no tables */

struct ed25519_base;
struct ed25519_key;

struct dkim_keycache {
	size_t n;
	char *txt[DKIM_KEYCACHE_MAX];
	enum dkim_alg alg[DKIM_KEYCACHE_MAX];
	EVP_PKEY *key[DKIM_KEYCACHE_MAX];
	int testing[DKIM_KEYCACHE_MAX], strict[DKIM_KEYCACHE_MAX];
	unsigned uses[DKIM_KEYCACHE_MAX];
	struct ed25519_key *ed[DKIM_KEYCACHE_MAX];      /* NULL: not yet, or a key it does not take */
	struct ed25519_base *ed_base;                   /* B's tables, made with the first key's */
};

void dkim_keycache_free(struct dkim_keycache *c);

struct dkim_verify_opts {
	dkim_txt_fn txt;        /* key lookup; NULL: dns_txt on dns */
	void *txt_ctx;
	struct dns *dns;
	FILE *trace;            /* -v: every step; NULL: quiet */
	time_t now;             /* 0: time(NULL) */
	size_t max_sigs;        /* 0: DKIM_SIGS_MAX */
	struct dkim_keycache *keys;     /* NULL: parse each key each time */
};

/* Verify every DKIM-Signature field of msg[0..n) (up to max_sigs, top
 * down).  *out gets one result per field (none: *nout 0), the caller
 * frees it.  Returns 0. */
int dkim_verify(const char *msg, size_t n, const struct dkim_verify_opts *o,
    struct dkim_result **out, size_t *nout);

struct dkim_sign_opts {
	const char *domain;     /* d= */
	const char *selector;   /* s= */
	const char *identity;   /* i=, or NULL */
	EVP_PKEY *key;          /* RSA or Ed25519 private key */
	enum canon hc, bc;      /* c= */
	const char *headers;    /* colon-separated h= names, or NULL: the usual set present */
	time_t t;               /* t=; 0: now */
	long expire;            /* x= t + expire seconds; 0: no x= */
	long long body_len;     /* l=; -1: none */
	FILE *trace;
	int arc_instance;       /* > 0: an ARC-Message-Signature with i=N (RFC 8617 4.1.2) */
};

/* Sign msg[0..n): append the whole "DKIM-Signature: ..." field (with
 * arc_instance, "ARC-Message-Signature: i=N; ..."), folded,
 * ended by the line end msg uses, to out.  Returns 0, or -1 with a reason
 * in err (no From field, bad key...). */
int dkim_sign(const char *msg, size_t n, const struct dkim_sign_opts *o, struct buf *out,
    char *err, size_t errlen);

/* Read a private key: PEM (PKCS#8 or PKCS#1), or the raw base64 Ed25519
 * seed dkimpy writes.  NULL with a reason in err. */
EVP_PKEY *dkim_key_load(const char *file, char *err, size_t errlen);
/* The algorithm a key signs with (DKIM_ALG_BAD for other key types). */
enum dkim_alg dkim_key_alg(EVP_PKEY *key);
/* Append the DNS TXT data for key's public half ("v=DKIM1; k=...; p=..."). */
int dkim_key_record(EVP_PKEY *key, struct buf *out);
/* "rsa-sha256"... and back (DKIM_ALG_BAD if unknown). */
const char *dkim_alg_name(enum dkim_alg a);
enum dkim_alg dkim_alg_parse(const char *s, size_t n);

/* Shared with ARC (RFC 8617), which signs like DKIM: hash into md the
 * header fields named in the colon-separated list h[0..hl) (last unused
 * instance first, RFC 6376 5.4.2), canonicalised by c, from hdr[0..n). */
void dkim_hash_fields(EVP_MD_CTX *md, const char *hdr, size_t n, const char *h, size_t hl,
    enum canon c, FILE *trace);
/* Hash the signature field raw[0..rn) with its b= value removed, as the
 * last input to the header hash (no final CRLF). */
void dkim_hash_self(EVP_MD_CTX *md, const char *raw, size_t rn, enum canon c, FILE *trace);
/* Compute the body hash (SHA-256, or SHA-1) of body[0..n) canonicalised
 * by c, at most l bytes when l >= 0.  Returns the canonical length, or
 * -1 if l is longer than the body. */
long long dkim_body_hash(const char *body, size_t n, enum canon c, long long l, int sha1,
    unsigned char *hash, unsigned *hlen);
/* Sign / verify the 32-byte (or 20-byte) header hash with key. */
int dkim_sig_make(EVP_PKEY *key, const unsigned char *hash, unsigned hlen, int sha1,
    unsigned char *sig, size_t *siglen);
int dkim_sig_check(EVP_PKEY *key, const unsigned char *hash, unsigned hlen, int sha1,
    const unsigned char *sig, size_t siglen);
/* Append b64 to b folded as a signature's b= value, then the line end eol;
 * col is the column where it starts. */
void dkim_fold_b64(struct buf *b, const char *eol, const char *b64, size_t col);
/* Decode base64 with folding white space in it; -1 if bad or longer than cap. */
long dkim_b64(const char *s, size_t n, unsigned char *out, size_t cap);
/* Parse a public key record; *key gets the key or NULL; returns AR_PASS
 * when usable, else AR_PERMERROR with a reason in why (static). */
enum ar_result dkim_key_parse(const char *txt, enum dkim_alg alg, EVP_PKEY **key,
    const char **why, int *testing, int *strict_i);
/* The TXT lookup dkim_verify uses by default: dns_txt(ctx as struct dns). */
enum dns_status dkim_dns_txt(void *ctx, const char *name, struct dns_answer *out);

#endif
