/* smime.c — S/MIME signature checks through OpenSSL's CMS API (see smime.h).
 *
 * Each signer gets three verdicts, so a person learns what failed: the
 * signature over the signed attributes (someone changed them, or the
 * certificate is not the signer's), the message digest over the content
 * (the content changed after signing), and the certificate chain. */
#include <limits.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "err.h"
#include "smime.h"

struct smime_store {
	X509_STORE *st;
};

struct smime_store *smime_store_new(const char *cafile, char *err, size_t cap)
{
	struct smime_store *s = xcalloc(1, sizeof *s);

	s->st = X509_STORE_new();
	if (s->st == NULL) {
		snprintf(err, cap, "out of memory");
		free(s);
		return NULL;
	}
	if (cafile && X509_STORE_load_file(s->st, cafile) != 1) {
		snprintf(err, cap, "%s: no certificate could be read from it", cafile);
		ERR_clear_error();
		smime_store_free(s);
		return NULL;
	}
	/* the system store, as openssl cms -verify reads it: with a cafile
	 * only its hashed directory (looked up lazily, by issuer), else the
	 * default bundle too; a machine without one is not an error */
	if (cafile) {
		X509_LOOKUP *l = X509_STORE_add_lookup(s->st, X509_LOOKUP_hash_dir());

		if (l)
			X509_LOOKUP_add_dir(l, NULL, X509_FILETYPE_DEFAULT);
	} else {
		X509_STORE_set_default_paths(s->st);
	}
	ERR_clear_error();
	return s;
}

void smime_store_free(struct smime_store *s)
{
	if (s == NULL)
		return;
	X509_STORE_free(s->st);
	free(s);
}

/* Plain words for a chain error, the ones a course meets first. */
static const char *chain_words(int e)
{
	switch (e) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		return "unknown CA: the certificate was not issued by a trusted authority";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "certificate expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "certificate not yet valid";
	case X509_V_ERR_INVALID_PURPOSE:
		return "certificate not meant for e-mail signing";
	case X509_V_ERR_CERT_REVOKED:
		return "certificate revoked";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "certificate signature does not hold (forged certificate)";
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		return "certificate chain too long (or a loop)";
	default:
		return X509_verify_cert_error_string(e);
	}
}

static void copy_asn1_str(const ASN1_STRING *a, char **out)
{
	unsigned char *u = NULL;
	int n = ASN1_STRING_to_UTF8(&u, a);

	if (n >= 0 && *out == NULL)
		*out = xstrndup((const char *)u, (size_t)n);
	OPENSSL_free(u);
}

static void add_email(struct smime_signer *g, const ASN1_STRING *a)
{
	char *e = NULL;

	if (g->nemail >= SMIME_EMAILS_MAX)
		return;
	copy_asn1_str(a, &e);
	if (e == NULL)
		return;
	for (size_t i = 0; i < g->nemail; i++)
		if (strcasecmp(g->email[i], e) == 0) {
			free(e);
			return;
		}
	g->email[g->nemail++] = e;
}

/* Name and addresses of the signer from its certificate (RFC 8550 3). */
static void describe(X509 *x, struct smime_signer *g)
{
	X509_NAME *sn = X509_get_subject_name(x);
	GENERAL_NAMES *alt = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int i;

	for (i = 0; alt && i < sk_GENERAL_NAME_num(alt); i++) {
		GENERAL_NAME *n = sk_GENERAL_NAME_value(alt, i);

		if (n->type == GEN_EMAIL)
			add_email(g, n->d.rfc822Name);
	}
	GENERAL_NAMES_free(alt);
	i = -1;
	while ((i = X509_NAME_get_index_by_NID(sn, NID_pkcs9_emailAddress, i)) >= 0)
		add_email(g, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, i)));
	i = X509_NAME_get_index_by_NID(sn, NID_commonName, -1);
	if (i >= 0)
		copy_asn1_str(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(sn, i)), &g->name);
}

static void signing_time(CMS_SignerInfo *si, struct smime_signer *g)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a = i >= 0 ? CMS_signed_get_attr(si, i) : NULL;
	ASN1_TYPE *t = a ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	struct tm tm;

	if (t == NULL || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return;
	if (ASN1_TIME_to_tm((const ASN1_TIME *)t->value.asn1_string, &tm) != 1)
		return;
	strftime(g->when, sizeof g->when, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The chain of x, as openssl cms -verify builds it. */
static void check_chain(struct smime_store *s, X509 *x, STACK_OF(X509) *untrusted,
    struct smime_signer *g)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();

	if (ctx == NULL || X509_STORE_CTX_init(ctx, s->st, x, untrusted) != 1) {
		snprintf(g->chain, sizeof g->chain, "could not be checked (out of memory)");
		X509_STORE_CTX_free(ctx);
		return;
	}
	X509_STORE_CTX_set_default(ctx, "smime_sign");
	if (X509_verify_cert(ctx) == 1)
		g->chain_ok = 1;
	else
		snprintf(g->chain, sizeof g->chain, "%s",
		    chain_words(X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
}

/* Read the content through the digest BIOs (into inner if wanted). */
static int drain(BIO *b, struct buf *inner)
{
	char tmp[16384];
	int n;

	while ((n = BIO_read(b, tmp, sizeof tmp)) > 0)
		if (inner)
			buf_add(inner, tmp, (size_t)n);
	return n < 0 && !BIO_eof(b) ? -1 : 0;
}

static void fail(struct smime_result *r, const char *why)
{
	r->ok = 0;
	snprintf(r->why, sizeof r->why, "%s", why);
}

static void check_signers(struct smime_store *s, CMS_ContentInfo *cms, BIO *data,
    struct smime_result *r)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	int n = sis ? sk_CMS_SignerInfo_num(sis) : 0;

	for (int i = 0; i < n && r->nsigner < SMIME_SIGNERS_MAX; i++) {
		CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, i);
		struct smime_signer *g = &r->signer[r->nsigner++];
		X509 *x = NULL;

		signing_time(si, g);
		CMS_SignerInfo_get0_algs(si, NULL, &x, NULL, NULL);
		if (x == NULL) {
			snprintf(g->why, sizeof g->why, "the signer's certificate is not in the message");
			snprintf(g->chain, sizeof g->chain, "no certificate");
			continue;
		}
		describe(x, g);
		check_chain(s, x, certs, g);
		if (CMS_SignerInfo_verify(si) != 1)
			snprintf(g->why, sizeof g->why,
			    "the signature does not match the certificate (signed attributes changed, or another key)");
		else if (CMS_SignerInfo_verify_content(si, data) != 1)
			snprintf(g->why, sizeof g->why, "content changed after signing");
		else
			g->sig_ok = 1;
	}
	if (n > SMIME_SIGNERS_MAX)
		fail(r, "too many signers");
	sk_X509_pop_free(certs, X509_free);
}

void smime_verify(struct smime_store *s, const unsigned char *der, size_t derlen,
    const char *content, size_t clen, struct smime_result *r, struct buf *inner)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	BIO *dcont = NULL, *data = NULL;

	memset(r, 0, sizeof *r);
	r->ok = 1;
	if (derlen > SMIME_DER_MAX && content != NULL) {
		fail(r, "signature too big to be one");
		return;
	}
	if (derlen > LONG_MAX || (cms = d2i_CMS_ContentInfo(NULL, &p, (long)derlen)) == NULL) {
		fail(r, "the signature is not a CMS structure (damaged or truncated)");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		fail(r, "not a signature (the CMS structure is not signed-data)");
		goto out;
	}
	if (CMS_is_detached(cms) && content == NULL) {
		fail(r, "detached signature without the signed content");
		goto out;
	}
	if (content != NULL && !CMS_is_detached(cms))
		content = NULL;         /* the content inside is the one signed */
	if (content && (dcont = BIO_new_mem_buf(content, clen > INT_MAX ? -1 : (int)clen)) == NULL) {
		fail(r, "signed content too big");
		goto out;
	}
	CMS_set1_signers_certs(cms, NULL, 0);
	data = CMS_dataInit(cms, dcont);
	if (data == NULL || drain(data, inner) < 0) {
		fail(r, "the signed content could not be read (damaged structure)");
		goto out;
	}
	if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) <= 0) {
		fail(r, "signed-data without any signer");
		goto out;
	}
	check_signers(s, cms, data, r);
out:
	if (data) {
		/* CMS_dataInit chained its digest BIOs onto dcont: free them
		 * down to it, then dcont itself */
		while (data && data != dcont) {
			BIO *next = BIO_pop(data);

			BIO_free(data);
			data = next;
		}
	}
	BIO_free(dcont);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
}

void smime_result_free(struct smime_result *r)
{
	for (size_t i = 0; i < r->nsigner; i++) {
		free(r->signer[i].name);
		for (size_t j = 0; j < r->signer[i].nemail; j++)
			free(r->signer[i].email[j]);
	}
	memset(r, 0, sizeof *r);
}

int smime_signer_has(const struct smime_signer *g, const char *a)
{
	for (size_t i = 0; i < g->nemail; i++)
		if (strcasecmp(g->email[i], a) == 0)
			return 1;
	return 0;
}

/* ---- making S/MIME ---- */

static int openssl_err(char *err, size_t cap, const char *what)
{
	unsigned long e = ERR_get_error();
	char msg[200] = "";

	if (e)
		ERR_error_string_n(e, msg, sizeof msg);
	snprintf(err, cap, "%s%s%s", what, *msg ? ": " : "", msg);
	ERR_clear_error();
	return -1;
}

/* Every certificate of a PEM file, in order; NULL if none. */
static STACK_OF(X509) *read_certs(const char *file, char *err, size_t cap)
{
	BIO *b = BIO_new_file(file, "r");
	STACK_OF(X509) *v;
	X509 *x;

	if (b == NULL) {
		openssl_err(err, cap, file);
		return NULL;
	}
	v = sk_X509_new_null();
	while (v && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(v, x);
	ERR_clear_error();
	BIO_free(b);
	if (v == NULL || sk_X509_num(v) == 0) {
		snprintf(err, cap, "%s: no certificate in it (PEM expected)", file);
		sk_X509_free(v);
		return NULL;
	}
	return v;
}

static int der_out(CMS_ContentInfo *cms, struct buf *der, char *err, size_t cap)
{
	unsigned char *p = NULL;
	int n = i2d_CMS_ContentInfo(cms, &p);

	if (n <= 0)
		return openssl_err(err, cap, "CMS encoding");
	buf_add(der, p, (size_t)n);
	OPENSSL_free(p);
	return 0;
}

int smime_sign(const char *certfile, const char *keyfile, const char *data, size_t n,
    struct buf *der, char *err, size_t cap)
{
	STACK_OF(X509) *certs = read_certs(certfile, err, cap);
	EVP_PKEY *key = NULL;
	X509 *signer;
	BIO *kb = NULL, *in = NULL;
	CMS_ContentInfo *cms = NULL;
	int rc = -1;

	if (certs == NULL)
		return -1;
	signer = sk_X509_shift(certs);
	if ((kb = BIO_new_file(keyfile ? keyfile : certfile, "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		openssl_err(err, cap, keyfile ? keyfile : certfile);
		goto out;
	}
	if (X509_check_private_key(signer, key) != 1) {
		snprintf(err, cap, "%s: the key does not belong to the certificate",
		    keyfile ? keyfile : certfile);
		goto out;
	}
	if (n > INT_MAX || (in = BIO_new_mem_buf(data, (int)n)) == NULL) {
		snprintf(err, cap, "message too big to sign");
		goto out;
	}
	/* BINARY: the caller's bytes are already canonical, sign them as they are */
	cms = CMS_sign(signer, key, sk_X509_num(certs) ? certs : NULL, in,
	    CMS_DETACHED | CMS_BINARY);
	if (cms == NULL) {
		openssl_err(err, cap, "CMS signing");
		goto out;
	}
	rc = der_out(cms, der, err, cap);
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(kb);
	EVP_PKEY_free(key);
	X509_free(signer);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

int smime_encrypt(const char *const *certs, size_t ncerts, const char *data, size_t n,
    struct buf *der, char *err, size_t cap)
{
	STACK_OF(X509) *to = sk_X509_new_null();
	CMS_ContentInfo *cms = NULL;
	BIO *in = NULL;
	int rc = -1;

	for (size_t i = 0; to && i < ncerts; i++) {
		STACK_OF(X509) *v = read_certs(certs[i], err, cap);

		if (v == NULL)
			goto out;
		sk_X509_push(to, sk_X509_shift(v));
		sk_X509_pop_free(v, X509_free);
	}
	if (n > INT_MAX || (in = BIO_new_mem_buf(data, (int)n)) == NULL) {
		snprintf(err, cap, "message too big to encrypt");
		goto out;
	}
	cms = CMS_encrypt(to, in, EVP_aes_256_cbc(), CMS_BINARY);
	if (cms == NULL) {
		openssl_err(err, cap, "CMS encryption");
		goto out;
	}
	rc = der_out(cms, der, err, cap);
out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_pop_free(to, X509_free);
	return rc;
}

/* Whether x is one of the recipients of the enveloped-data cms. */
static int is_recipient(CMS_ContentInfo *cms, X509 *x)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);

	for (int i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		int type = CMS_RecipientInfo_type(ri);

		if (type == CMS_RECIPINFO_TRANS && CMS_RecipientInfo_ktri_cert_cmp(ri, x) == 0)
			return 1;
		if (type == CMS_RECIPINFO_AGREE) {
			STACK_OF(CMS_RecipientEncryptedKey) *reks = CMS_RecipientInfo_kari_get0_reks(ri);

			for (int j = 0; reks && j < sk_CMS_RecipientEncryptedKey_num(reks); j++)
				if (CMS_RecipientEncryptedKey_cert_cmp(
				    sk_CMS_RecipientEncryptedKey_value(reks, j), x) == 0)
					return 1;
		}
	}
	return 0;
}

int smime_decrypt(const char *keyfile, const char *certfile, const unsigned char *der,
    size_t n, struct buf *out, char *err, size_t cap)
{
	const unsigned char *p = der;
	STACK_OF(X509) *certs = NULL;
	CMS_ContentInfo *cms = NULL;
	EVP_PKEY *key = NULL;
	BIO *kb = NULL, *mem = NULL;
	char *data;
	long len;
	int rc = -1;

	if (n > LONG_MAX || (cms = d2i_CMS_ContentInfo(NULL, &p, (long)n)) == NULL) {
		snprintf(err, cap, "the encrypted part is not a CMS structure (damaged or truncated)");
		goto out;
	}
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_enveloped) {
		snprintf(err, cap, "the part is not enveloped-data (not encrypted)");
		goto out;
	}
	if ((certs = read_certs(certfile, err, cap)) == NULL)
		goto out;
	if ((kb = BIO_new_file(keyfile, "r")) == NULL ||
	    (key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL)) == NULL) {
		openssl_err(err, cap, keyfile);
		goto out;
	}
	if (X509_check_private_key(sk_X509_value(certs, 0), key) != 1) {
		snprintf(err, cap, "%s: the key does not belong to the certificate", keyfile);
		goto out;
	}
	if (!is_recipient(cms, sk_X509_value(certs, 0))) {
		snprintf(err, cap, "the message is not encrypted for this certificate");
		goto out;
	}
	mem = BIO_new(BIO_s_mem());
	if (mem == NULL || CMS_decrypt(cms, key, sk_X509_value(certs, 0), NULL, mem,
	    CMS_BINARY) != 1) {
		snprintf(err, cap, "cannot decrypt (wrong key or damaged message)");
		goto out;
	}
	len = BIO_get_mem_data(mem, &data);
	if (len > 0)
		buf_add(out, data, (size_t)len);
	rc = 0;
out:
	BIO_free(mem);
	BIO_free(kb);
	EVP_PKEY_free(key);
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}
