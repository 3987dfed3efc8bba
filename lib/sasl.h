/* sasl.h — server side of SASL PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195).
 *
 * Protocol-neutral: the caller sends each challenge after its own prefix
 * ("334 " in SMTP, "+ " in POP3 and IMAP) and passes back each client line.
 * All challenges and responses are base64 text, as on the wire. */
#ifndef ML_SASL_H
#define ML_SASL_H

#include <stddef.h>

#include "auth.h"

#define SASL_LINE_MAX 2048      /* a base64 response line we accept */

enum sasl_rc {
	SASL_CONTINUE,          /* send the challenge, read one more line */
	SASL_OK,                /* credentials verified; user filled */
	SASL_FAIL,              /* wrong credentials or unknown user */
	SASL_BAD,               /* malformed response (bad base64, fields) */
	SASL_CANCEL,            /* client sent "*" (RFC 4954 4) */
	SASL_NOMECH             /* unknown or disabled mechanism */
};

/* Who checks credentials.  With none (sasl_start), this module reads the
 * passwd-file or the system accounts itself.  A privilege-separated
 * login process cannot read them and asks its privileged helper instead
 * (privsep.h), which alone sees the secrets. */
struct sasl_check {
	/* 1: the password is name's (u filled, at least its name), 0: not */
	int (*password)(void *arg, const char *name, const char *pass, struct user *u);
	/* A fresh CRAM-MD5 challenge (the text, not base64) into buf: 0 or -1 */
	int (*challenge)(void *arg, char *buf, size_t cap);
	/* 1: hex is HMAC-MD5 of the last challenge with name's secret, 0: not */
	int (*cram)(void *arg, const char *name, const char *hex, struct user *u);
	void *arg;
};

struct sasl {
	int   mech;             /* internal */
	const struct sasl_check *check; /* NULL: look users up here */
	int   step;
	const char *users;      /* passwd-file, NULL: system accounts */
	char  user[AUTH_NAME_MAX + 1];  /* who tried, for logs */
	char  cram_challenge[256];
};

/* The mechanisms offered, space-separated: "PLAIN LOGIN CRAM-MD5"
 * (CRAM-MD5 needs clear-text secrets; it is listed only with a passwd-file). */
const char *sasl_mechs(const char *users);

/* Start mechanism mech (case-insensitive) with the optional initial
 * response (base64, "=" for empty, NULL for none).  hostname goes into
 * the CRAM-MD5 challenge.  On SASL_CONTINUE, challenge holds the base64
 * text to send.  On SASL_OK, u holds the user. */
enum sasl_rc sasl_start(struct sasl *s, const char *users, const char *mech,
    const char *initial, const char *hostname, char *challenge, size_t cap, struct user *u);
/* The same, with credentials checked by check (NULL: as sasl_start). */
enum sasl_rc sasl_start_check(struct sasl *s, const struct sasl_check *check, const char *users,
    const char *mech, const char *initial, const char *hostname, char *challenge, size_t cap,
    struct user *u);
/* Feed one client line; same results as sasl_start. */
enum sasl_rc sasl_step(struct sasl *s, const char *line, char *challenge, size_t cap,
    struct user *u);

#endif
