/* authres.h — the results of message authentication methods (RFC 8601
 * 2.7) that SPF, DKIM, DMARC and ARC report, and their names. */
#ifndef ML_AUTHRES_H
#define ML_AUTHRES_H

enum ar_result {
	AR_NONE = 0,
	AR_PASS,
	AR_FAIL,
	AR_SOFTFAIL,    /* SPF only */
	AR_NEUTRAL,
	AR_POLICY,
	AR_TEMPERROR,
	AR_PERMERROR
};

/* The RFC 8601 keyword of r ("pass", "temperror", ...): static text. */
const char *ar_name(enum ar_result r);

#include "buf.h"

/* Summarise an Authentication-Results value v[0..n) (folded or not) for a
 * reader: "spf=pass dkim=fail dmarc=fail (by mx.example.org)" -- each
 * method=result, comments and properties left out.  Appends to out. */
void ar_summary(const char *v, size_t n, struct buf *out);

#endif
