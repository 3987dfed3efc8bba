/* mailbox.h — where a user's mail is: the --mailbox template.
 *
 * TEMPLATE is [maildir:|mbox:]PATH with %u (user as given), %n (local part),
 * %d (domain), %h (home), %% (a percent sign).  Default: maildir:%h/Maildir. */
#ifndef ML_MAILBOX_H
#define ML_MAILBOX_H

#include <stddef.h>

#include "auth.h"

#define MAILBOX_DEFAULT "maildir:%h/Maildir"

enum mailbox_kind { MB_MAILDIR, MB_MBOX };

/* Expand tmpl for u into path (cap bytes).  Every expansion is checked with
 * auth_name_ok-like rules, so a user name can never add "../" or "/" to
 * the path.  Return 0, or -1 (no home for %h, result too long, bad
 * template) with a reason in why (static text). */
int mailbox_path(const char *tmpl, const struct user *u, char *path, size_t cap,
    enum mailbox_kind *kind, const char **why);

#endif
