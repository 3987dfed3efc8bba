/* auth.h — users and passwords: Dovecot-style passwd-files and system accounts.
 *
 * A passwd-file line is  user:{SCHEME}secret:uid:gid:gecos:home:shell:extra
 * (user may be name@domain; empty fields allowed; '#' lines are comments).
 * Schemes: PLAIN (and CLEARTEXT), SHA512-CRYPT, SHA256-CRYPT, MD5-CRYPT, CRYPT
 * (all crypt(3) forms); a secret with no {SCHEME} is taken as CRYPT.
 * The extra field holds space-separated key=value pairs, as Dovecot's; the
 * one read here is the quota rule, userdb_quota_rule=*:storage=100M
 * (also quota_rule, and quota_rule2... for more limits; lib/quota.h). */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include <limits.h>
#include <sys/types.h>

#include "quota.h"
/* With -iquote lib, GCC's <limits.h> include_next finds lib/limits.h
 * instead of glibc's, so PATH_MAX must come from the kernel header. */
#ifndef PATH_MAX
#include <linux/limits.h>
/* APOP (RFC 1939 7): whether hex is MD5(stamp secret) with u's clear-text
 * secret; CRAM-MD5 (RFC 2195 2): whether hex is HMAC-MD5(secret,
 * challenge).  32 hex digits, either case.  1 yes, 0 no (also without a
 * clear-text secret). */
int auth_apop_ok(const struct user *u, const char *stamp, const char *hex);
int auth_cram_ok(const struct user *u, const char *challenge, const char *hex);

#endif

#define AUTH_NAME_MAX   255     /* user names (and name@domain) */
#define AUTH_SECRET_MAX 512

struct user {
	char  name[AUTH_NAME_MAX + 1];      /* as found: "bob" or "bob@example.org" */
	char  secret[AUTH_SECRET_MAX + 1];  /* "{SCHEME}..." or "" (system account) */
	uid_t uid;
	gid_t gid;
	int   has_ids;                      /* uid/gid fields were present */
	char  home[PATH_MAX];               /* may be "" */
	int   has_quota;                    /* a quota rule in the extra field: */
	struct quota quota;                 /* its limits, over imapd's --quota */
};

/* Whether name is acceptable as a user name at all: 1..AUTH_NAME_MAX bytes,
 * printable ASCII or well-formed UTF-8, no '/', '\\', ':', white space or
 * control characters, not starting with '.' (so not "." or "..") or '-'.
 * Checked before any lookup or path use; auth_lookup checks it too. */
int auth_name_ok(const char *name);

/* Find name in the passwd-file (or, with file NULL, in the system accounts
 * with getpwnam).  Return 1 and fill u when found, 0 when there is no such
 * user, -1 when the file cannot be read (errno set). */
int auth_lookup(const char *file, const char *name, struct user *u);

/* Find a mail recipient: with a local part and domain "n@d", the user
 * "n@d" if there is one, else the user "n" (DESIGN.md).  A local part
 * "n+detail" (RFC 5233 sub-addressing) that matches nobody falls back to
 * "n@d", then "n"; maildeliver files such mail into the folder "detail".
 * Domains compare without case, local parts exactly.  As auth_lookup. */
int auth_lookup_rcpt(const char *file, const char *addr, struct user *u);

/* Whether password matches u's secret (constant-time compare for PLAIN).
 * 1 yes, 0 no (also for a user with no usable secret). */
int auth_verify(const struct user *u, const char *password);

/* The clear-text secret of u (scheme PLAIN/CLEARTEXT), for CRAM-MD5 and
 * APOP; NULL for any hashed scheme. Points into u. */
const char *auth_plain_secret(const struct user *u);

/* APOP (RFC 1939 7): whether hex is MD5(stamp secret) with u's clear-text
 * secret; CRAM-MD5 (RFC 2195 2): whether hex is HMAC-MD5(secret,
 * challenge).  32 hex digits, either case.  1 yes, 0 no (also without a
 * clear-text secret). */
int auth_apop_ok(const struct user *u, const char *stamp, const char *hex);
int auth_cram_ok(const struct user *u, const char *challenge, const char *hex);

#endif
