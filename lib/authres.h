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

#endif
