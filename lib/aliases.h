/* aliases.h — the aliases(5) table of sendmail and Postfix, and its expansion.
 *
 *   # comment
 *   name: member, member, ...
 *       continuation lines start with white space
 *   member:  user | user@domain | "|command" | /path/file | :include:/path
 *
 * A table is read once into memory (names sorted, looked up without case).
 * Expansion is recursive, depth-limited, without duplicates (the same
 * member reached through lists with different owners is not one); a member that
 * names its own alias ("bob: bob, bob@elsewhere") is the user, not the
 * alias again; a name met twice on one path is a loop.  Every |command and
 * /file member carries the uid/gid of the file it came from (the table's
 * owner, or an :include: file's), which delivery runs it with. */
#ifndef ALIASES_H
#define ALIASES_H

#include <stddef.h>
#include <sys/types.h>

#define ALIAS_DEPTH_MAX   10            /* nesting, as sendmail's MaxAliasRecursion */
#define ALIAS_FILE_MAX    (16L << 20)   /* bytes of one table or :include: file */
#define ALIAS_TARGETS_MAX 100000        /* members of one expansion (a big list is 10,000),
                                         * and members walked to find them (a table or
                                         * :include: files naming lists many times over
                                         * would walk exponentially many) */
#define ALIAS_INCLUDES_MAX 100          /* :include: files read by one expansion (each may be
                                         * ALIAS_FILE_MAX bytes; a list names one) */
#define ALIAS_NOBODY      65534         /* ids for a root-owned table's commands: never root */
#define ALIAS_CMD_SECS    (5 * 60)      /* a |command member may run this long (smtpd's MDA limit) */

/* AK_LOCAL: a user here (an address without a domain or in a local domain,
 * local part in lower case); AK_REMOTE: an address in another domain. */
enum alias_kind { AK_LOCAL, AK_REMOTE, AK_PIPE, AK_FILE };

struct alias_target {
	enum alias_kind kind;
	char  *text;            /* address (local part lower-cased), command, or path */
	uid_t  uid;             /* AK_PIPE, AK_FILE: run as */
	gid_t  gid;
	char  *owner;           /* "owner-list" of the innermost list holding it, or NULL:
	                         * its copy goes with that sender (as Postfix's local) */
};

struct alias_set {
	struct alias_target *v;
	size_t n;
};

struct alias_entry {
	char *name;             /* lower case */
	char *value;            /* members, continuation lines joined */
};

struct aliases {
	struct alias_entry *v;
	size_t n;
	uid_t uid;              /* the table's owner */
	gid_t gid;
};

/* Read a table: 0, or -1 with a reason in err (cannot read it, too big,
 * writable by group or others: anyone could run commands as its owner). */
int aliases_load(const char *path, struct aliases *a, char *err, size_t cap);
/* Same from memory (for tests), owned by uid/gid. */
void aliases_parse(const char *text, size_t len, uid_t uid, gid_t gid, struct aliases *a);
void aliases_free(struct aliases *a);
/* The members of name (case ignored), or NULL. */
const char *alias_lookup(const struct aliases *a, const char *name);
/* The alias name of addr (local part, else without +detail) into name[cap];
 * 1 when the table has it, else 0. */
int alias_name(const struct aliases *a, const char *addr, char *name, size_t cap);

/* is_local(ctx, domain): whether an address in domain is ours (its local
 * part may be an alias); an address without a domain always is. */
typedef int (*alias_local_fn)(const void *ctx, const char *domain);

/* ALIAS_SYNTAX: a member holds a control character (an address any, a
 * command or file CR or LF): it would reach a queue envelope or a log. */
enum alias_rc { ALIAS_OK = 0, ALIAS_NONE = 1, ALIAS_LOOP = -1, ALIAS_DEEP = -2,
	ALIAS_INCLUDE = -3, ALIAS_MANY = -4, ALIAS_SYNTAX = -5 };

/* Expand the local part name fully into out (caller frees with
 * alias_set_free): addresses that are not aliases, commands and files.  ALIAS_NONE when
 * name is no alias; a negative code with a reason in err for a loop, too
 * deep a nesting, an unusable :include: file, too many members, a member
 * with a control character. */
int alias_expand(const struct aliases *a, const char *name, alias_local_fn is_local,
    const void *ctx, struct alias_set *out, char *err, size_t cap);
void alias_set_free(struct alias_set *s);

/* A user's ~/.forward at path, in the same member syntax (one or more a
 * line, # comments): expanded like an alias of user (a may be NULL: no
 * table), commands and files with uid/gid.  The file must be the user's
 * or root's and writable by its owner only (Postfix's local(8) rule), else
 * ALIAS_INCLUDE.  ALIAS_NONE when there is no file or it names nobody;
 * naming user (or \user) means the user's own mailbox. */
int alias_forward(const struct aliases *a, const char *path, const char *user, uid_t uid,
    gid_t gid, alias_local_fn is_local, const void *ctx, struct alias_set *out, char *err,
    size_t cap);

/* The list owner of name: "owner-name" when that alias exists, else NULL
 * (RFC 5321 3.9: a list's bounces go to its owner, not to the author). */
int alias_owner(const struct aliases *a, const char *name, char *out, size_t cap);

#endif
