/* smime.h — S/MIME signatures (RFC 8551, CMS RFC 5652) checked through
 * OpenSSL's CMS API, with the verdict a person can read.
 *
 * The caller gives the DER bytes of a CMS signed-data structure and, for a
 * detached signature (multipart/signed, RFC 1847), the signed bytes in
 * canonical form (every line ending in CRLF).  The checks are those of
 * `openssl cms -verify`: every signer's signature over the signed
 * attributes, the message digest over the content, and the signer's
 * certificate chain, for the S/MIME signing purpose, at the current time,
 * to a CA of the store, with the certificates carried in the message as
 * untrusted intermediates.  Memory is the DER, the content as given (never
 * copied for a detached signature) and one certificate chain. */
#ifndef ML_SMIME_H
#define ML_SMIME_H

#include <stddef.h>

#include "buf.h"

#define SMIME_SIGNERS_MAX  16        /* signer infos reported; more are a failure */
#define SMIME_EMAILS_MAX   8         /* addresses kept per certificate */
#define SMIME_WHY_MAX      160       /* bytes of a plain-words failure reason */
#define SMIME_DER_MAX      (4u << 20)  /* a detached signature bigger than this is
                                        * not a signature: certificates are KiB */

struct smime_store;             /* trusted CAs (an X509_STORE) */

/* A store with cafile (PEM, may be NULL) and the system's default CAs (as
 * openssl does unless told -no-CAfile).  NULL after writing why into err. */
struct smime_store *smime_store_new(const char *cafile, char *err, size_t cap);
void smime_store_free(struct smime_store *s);

struct smime_signer {
	char *name;                     /* subject commonName, UTF-8, or NULL */
	char *email[SMIME_EMAILS_MAX];  /* subjectAltName rfc822Names, then the
	                                 * subject's emailAddress */
	size_t nemail;
	char when[32];                  /* signing time "YYYY-MM-DD HH:MM:SS UTC", or "" */
	int sig_ok;                     /* signature and content digest hold */
	int chain_ok;                   /* certificate chain verified to a trusted CA */
	char why[SMIME_WHY_MAX];        /* signature failure, plain words, or "" */
	char chain[SMIME_WHY_MAX];      /* chain failure, plain words, or "" */
};

struct smime_result {
	int ok;                         /* the structure could be read as signed-data */
	char why[SMIME_WHY_MAX];        /* if !ok: why not, plain words */
	struct smime_signer signer[SMIME_SIGNERS_MAX];
	size_t nsigner;
};

/* Check der[0..derlen).  content: the signed bytes of a detached signature
 * (NULL when the content is inside, opaque signed-data); inner (may be
 * NULL): receives the encapsulated content of opaque signed-data.  Never
 * fails: what went wrong is in *r.  Free with smime_result_free. */
void smime_verify(struct smime_store *s, const unsigned char *der, size_t derlen,
    const char *content, size_t clen, struct smime_result *r, struct buf *inner);
void smime_result_free(struct smime_result *r);

/* Whether address a (local@domain) is one of the signer's addresses: the
 * domain compared without regard to case, the local part as written (RFC
 * 5321 2.4), though without regard to case too, as RFC 8550 3 asks of
 * certificate matching. */
int smime_signer_has(const struct smime_signer *g, const char *a);


/* ---- making S/MIME (smtp-send) ---- */

/* A detached CMS signature (DER, appended to der) over data[0..n), which
 * must already be canonical (CRLF line ends): SHA-256, signing time and
 * S/MIME capabilities as signed attributes, the signer's certificate and
 * any further certificates of certfile (its chain) included.  keyfile NULL:
 * the key is in certfile.  0, or -1 with why in err. */
int smime_sign(const char *certfile, const char *keyfile, const char *data, size_t n,
    struct buf *der, char *err, size_t cap);

/* CMS enveloped-data (DER, appended to der) of data[0..n) for the first
 * certificate of each file of certs[0..ncerts): AES-256-CBC content
 * encryption (what every S/MIME reader, gpgsm included, takes), the key
 * sent to each recipient (RSA or ECDH).  0, or -1 with why in err. */
int smime_encrypt(const char *const *certs, size_t ncerts, const char *data, size_t n,
    struct buf *der, char *err, size_t cap);

/* Decrypt the CMS enveloped-data der[0..n) with the PEM key in keyfile for
 * the recipient whose PEM certificate is certfile; the content is appended
 * to out.  0, or -1 with why in err in plain words (not encrypted for this
 * certificate, wrong key, damaged). */
int smime_decrypt(const char *keyfile, const char *certfile, const unsigned char *der,
    size_t n, struct buf *out, char *err, size_t cap);

#endif
