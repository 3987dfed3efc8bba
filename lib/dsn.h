/* dsn.h — the SMTP parameters of Delivery Status Notifications (RFC 3461):
 * xtext (section 4), NOTIFY, RET, ENVID and ORCPT checks shared by smtpd
 * (which receives them), lib/queue (which stores them) and smtp-send
 * (which passes them on and writes the reports). */
#ifndef ML_DSN_H
#define ML_DSN_H

#include <stddef.h>

#define DSN_ENVID_MAX  100      /* RFC 3461 4.4: at most 100 characters */
#define DSN_ORCPT_MAX  500      /* RFC 3461 4.2: the ORCPT value, at most 500 */

/* NOTIFY values as bits; 0: NOTIFY not given (failures are reported). */
enum {
	DSN_NEVER = 1, DSN_SUCCESS = 2, DSN_FAILURE = 4, DSN_DELAY = 8
};
/* RET values; 0: RET not given. */
enum { DSN_RET_NONE, DSN_RET_FULL, DSN_RET_HDRS };

/* Decode xtext s into out (cap bytes).  Refuse (-1) a character outside
 * "!".."~", an '=', a '+' not followed by two upper-case hex digits (a
 * hexchar for a character that could stand as itself is accepted), a
 * decoded control or 8-bit character (the text goes into report fields),
 * and a result that does not fit.  Return the decoded length. */
int dsn_xtext_decode(const char *s, char *out, size_t cap);
/* Encode s as xtext into out; -1 if it does not fit. */
int dsn_xtext_encode(const char *s, char *out, size_t cap);
/* NOTIFY=value: NEVER alone, or SUCCESS, FAILURE, DELAY each at most
 * once, comma-separated, case-insensitive.  The bits, or -1. */
int dsn_notify_parse(const char *v);
/* The NOTIFY value text of bits (non-zero) into out. */
void dsn_notify_format(int bits, char *out, size_t cap);
/* RET=value: DSN_RET_FULL or DSN_RET_HDRS, or -1. */
int dsn_ret_parse(const char *v);
const char *dsn_ret_name(int ret);
/* ORCPT=addr-type;xtext (RFC 3461 4.2): check the form and the decoded
 * address; 0 or -1. */
int dsn_orcpt_ok(const char *v);
/* Whether a report of kind (DSN_SUCCESS, DSN_FAILURE or DSN_DELAY) is
 * wanted by notify bits: failures unless NEVER or a list without
 * FAILURE; success and delay only when asked for. */
int dsn_wanted(int notify, int kind);

#endif
