/* secure.h — S/MIME signing and encryption of the outgoing message
 * (RFC 8551), after it is composed or read and before it is sent. */
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
	unsigned long long rnd; /* for boundaries */
};

/* --sign ARG / --encrypt ARG; 0, or -1 (too many, empty). */
int secure_option(struct secure *s, int sign, const char *arg);
int secure_wanted(const struct secure *s);
void secure_free(struct secure *s);

/* Replace m by its signed (multipart/signed, detached, SHA-256) and/or
 * encrypted (application/pkcs7-mime enveloped-data, AES-256-CBC; the
 * signer's own certificate is a recipient too) form.  The fields that
 * are not Content-* stay outside, in clear; the MIME entity is first made
 * 7-bit safe (8-bit text, long lines or trailing blanks become
 * quoted-printable, 8-bit data base64) so no relay has a reason to change
 * what was signed.  0, or -1 with why in err. */
int secure_apply(const struct secure *s, struct message *m, char *err, size_t cap);

#endif
