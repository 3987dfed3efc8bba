/* secure.h — S/MIME (RFC 8551) or OpenPGP (PGP/MIME, RFC 3156) signing
 * and encryption of the outgoing message, after it is composed or read
 * and before it is sent. */
#ifndef SECURE_H
#define SECURE_H

#include <stddef.h>

#include "send.h"

#define SECURE_RCPT_MAX 100     /* --encrypt certificates */

struct secure {
	char  *sign_cert;       /* --sign CERT[:KEY], split; NULL: no signing */
	char  *sign_key;        /* NULL: the key is in sign_cert */
	const char *enc[SECURE_RCPT_MAX];   /* --encrypt CERT ... */
	size_t nenc;
	int    pgp_sign;        /* --pgp-sign[=KEYID] */
	char  *pgp_signer;      /* its KEYID; NULL: the From: address's key, or gpg's default */
	const char *pgp_enc[SECURE_RCPT_MAX];  /* --pgp-encrypt KEYID ... */
	size_t npgp_enc;
	unsigned long long rnd; /* for boundaries */
};

/* --sign ARG / --encrypt ARG; 0, or -1 (too many, empty). */
int secure_option(struct secure *s, int sign, const char *arg);
/* --pgp-sign [KEYID] (arg NULL: no KEYID) / --pgp-encrypt KEYID; 0 or -1. */
int secure_pgp_option(struct secure *s, int sign, const char *arg);
/* Whether arg looks like a key ID or fingerprint (hex, 8 to 64 digits,
 * "0x" allowed): "--pgp-sign KEYID" then takes it as its argument. */
int secure_is_keyid(const char *arg);
/* NULL, or why the options given do not go together. */
const char *secure_conflict(const struct secure *s);
int secure_wanted(const struct secure *s);
void secure_free(struct secure *s);

/* Replace m by its S/MIME signed (multipart/signed, detached, SHA-256) and/or
 * encrypted (application/pkcs7-mime enveloped-data, AES-256-CBC; the
 * signer's own certificate is a recipient too) form.  The fields that
 * are not Content-* stay outside, in clear; the MIME entity is first made
 * 7-bit safe (8-bit text, long lines or trailing blanks become
 * quoted-printable, 8-bit data base64) so no relay has a reason to change
 * what was signed.  0, or -1 with why in err. */
/* With the --pgp-* options instead: PGP/MIME multipart/signed (micalg
 * from the hash gpg used) over the same 7-bit-safe entity, then
 * multipart/encrypted to every KEYID and the sender's own key (the
 * signing key, else the From: address's secret key, else gpg's default):
 * sign then encrypt (RFC 3156 6.1) when both. */
int secure_apply(const struct secure *s, struct message *m, char *err, size_t cap);

#endif
