/* arc.h — Authenticated Received Chain (RFC 8617): a forwarder seals what
 * it saw (its Authentication-Results) and the message as it passes it on,
 * so the next hop can trust the earlier results after the forwarder broke
 * SPF and DKIM (a new envelope sender, a footer in the body).
 *
 * An ARC set is three fields with the same instance i=N:
 * ARC-Authentication-Results (AAR), ARC-Message-Signature (AMS, a DKIM
 * signature of the message) and ARC-Seal (AS, a signature over every set
 * so far).  Signing and key handling are lib/dkim's.
 *
 * Ownership: nothing to free but what the caller passes. */
#ifndef ML_ARC_H
#define ML_ARC_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "authres.h"
#include "buf.h"
#include "dkim.h"

#define ARC_INSTANCE_MAX 50     /* RFC 8617 4.2.1: i= is 1 to 50 */

struct arc_out {
	enum ar_result cv;      /* AR_NONE (no chain), AR_PASS, AR_FAIL */
	int instance;           /* N: the latest set's i=, 0 if none */
	char why[160];
};

/* Validate the chain of msg[0..n) (RFC 8617 5.2) with keys found through
 * o (txt/dns, trace and now as for DKIM).  Fills *out, returns out->cv. */
enum ar_result arc_verify(const char *msg, size_t n, const struct dkim_verify_opts *o,
    struct arc_out *out);

struct arc_seal_opts {
	const char *domain, *selector, *authserv;
	EVP_PKEY *key;
	const char *results;    /* the AAR's results after "authserv-id; ", e.g. "dkim=pass ..." */
	enum ar_result cv;      /* the chain as this hop found it (arc_verify) */
	int instance;           /* the chain's latest i= (0: none) */
	const char *headers;    /* AMS h= (colon-separated), NULL: lib/dkim's default set */
	time_t t;
	FILE *trace;
};

/* Append the three new fields (AS, AMS, AAR, top down, each ended by the
 * message's line end) to out.  -1 with a reason in err (no From, i=50
 * reached, key). */
int arc_seal(const char *msg, size_t n, const struct arc_seal_opts *o, struct buf *out,
    char *err, size_t errlen);

#endif
