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

/* Expand tmpl (NULL or "": MAILBOX_DEFAULT) for u into path (cap bytes).
 * %u, %n and %d must each pass auth_name_ok, so a user name can never add
 * "../" or "/" to the path; %d is empty for a name with no domain; %h must
 * be an absolute path with no "." or ".." step.  With no prefix, an
 * existing regular file is an mbox, anything else a Maildir.  Return 0, or
 * -1 (no home for %h, unsafe name, result too long, bad template) with a
 * reason in why (static text). */
int mailbox_path(const char *tmpl, const struct user *u, char *path, size_t cap,
    enum mailbox_kind *kind, const char **why);

#endif
