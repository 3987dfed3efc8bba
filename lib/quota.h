/* quota.h — the Maildir++ quota: a "maildirsize" file in the Maildir root.
 *
 * Its first line is the limit, "NNNS,MMMC" (bytes, messages; either may be
 * missing, 0 is no limit); every further line is a change "bytes count"
 * (may be negative) that a delivery or an expunge appended with one
 * write(2).  The usage is the sum of those lines.  The file is computed
 * again from the folders when it is missing or longer than QUOTA_FILE_MAX
 * (the Maildir++ rule, so it cannot grow for ever).  Courier, maildrop and
 * Dovecot's maildir quota backend read and write the same file. */
#ifndef ML_QUOTA_H
#define ML_QUOTA_H

#include <stddef.h>
#include <stdint.h>

#define QUOTA_FILE      "maildirsize"
#define QUOTA_FILE_MAX  5120    /* Maildir++: recalculate once it is larger */
#define QUOTA_RULE_MAX  256     /* a rule "*:storage=N:messages=N" is far shorter */

struct quota {
	uint64_t max_bytes, max_count;  /* 0: no limit of that kind */
	int64_t  bytes, count;          /* in use */
};

/* Parse a limit "STORAGE[,MESSAGES]" (bytes, with an optional K, M or G
 * suffix; a count) as given to --quota; 0 on success, -1 if malformed. */
int quota_parse_option(const char *arg, struct quota *def);

/* A Dovecot quota rule, the value of a passwd-file's userdb_quota_rule
 * extra field: "*:storage=100M", "*:bytes=N", "*:messages=N", or several
 * limits "*:storage=1G:messages=1000".  storage counts KiB without a unit
 * (B, K, M, G or T; Dovecot's), bytes counts bytes.  The limits it names
 * are set in q (0: no limit of that kind), the others left alone.  A rule
 * for one mailbox only ("Trash:storage=+10M"), "*:ignore" or one that
 * only speaks to Dovecot's backend ("*:backend=...") is not ours:
 * 0 with q untouched.  1 if the rule set a limit, -1 if malformed
 * (relative "+N" and "N%" limits included: there is no global rule here
 * to be relative to). */
int quota_parse_rule(const char *rule, struct quota *q);

/* The quota of the Maildir at root: the limit line of its maildirsize, or
 * def's limits (def NULL: none) when it has none; the usage from the file,
 * recalculated (and the file written again, if there is a limit) when it
 * is missing or too long.  1: a limit applies, 0: no quota (usage then
 * not counted when the file is missing), -1 on an error (errno set). */
int quota_get(const char *root, const struct quota *def, struct quota *q);

/* The quota of the Maildir at root for a user with its own limits (a
 * passwd-file quota rule): they win over maildirsize's limit line, and
 * the file is written again with them when it says otherwise (so the other
 * Maildir++ tools see the same).  Limits of 0 and 0: no quota.  As
 * quota_get. */
int quota_get_user(const char *root, const struct quota *rule, struct quota *q);

/* Whether adding bytes and count messages would go over q's limits. */
int quota_exceeded(const struct quota *q, uint64_t bytes, uint64_t count);

/* Record a change of bytes and count in root's maildirsize, if there is one
 * (Maildir++: without the file there is nothing to keep up to date).  0 or -1. */
int quota_note(const char *root, int64_t bytes, int64_t count);

/* Count root's usage again and write maildirsize anew, if it exists with a
 * limit (after a folder went away in one step).  0 or -1. */
int quota_refresh(const char *root);

/* The size a Maildir file name carries in its ",S=" field; otherwise if none. */
uint64_t quota_file_size(const char *name, uint64_t otherwise);

/* The Maildir++ root of the folder at path: path itself, or its parent when
 * the last component is a ".folder".  Into out (cap bytes); 0 or -1. */
int quota_root_of(const char *path, char *out, size_t cap);

#endif
