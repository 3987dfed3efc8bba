/* queue.h — the mail spool shared by smtpd (writer) and smtp-send --queue
 * (the runner that delivers it).
 *
 * On-disk format (version 1).  A queue DIR holds three folders:
 *
 *   DIR/tmp/   files being written; never read by a runner
 *   DIR/msg/ID the message: LF line ends, smtpd's Received: line on top
 *   DIR/env/ID the envelope; its presence is the commit point
 *
 * An ID is a unique file name "TIME.M<usec>P<pid>R<rand>", e.g.
 * "1795460168.M123456P4242R9f3a2b1c" (TIME: seconds since the epoch, rand:
 * 8 hex digits from the kernel's random source).  IDs sort by time.
 *
 * The envelope is text, one field per LF-terminated line, in this order:
 *
 *   version 1
 *   from <alice@example.org>          ("from <>" for the null sender)
 *   created 1795460168                (UNIX time of enqueue)
 *   attempts 0                        (delivery attempts made)
 *   next 1795460168                   (UNIX time of the next attempt)
 *   rcpt <bob@example.net> pending
 *   rcpt <carol@example.com> done 250 2.0.0 Ok: queued as 4Xb
 *   rcpt <dave@example.com> failed 550 5.1.1 No such user
 *
 * and, only when the client gave DSN parameters (RFC 3461), "ret FULL|HDRS"
 * and "envid XTEXT" after "next", and after a recipient's line a line
 * "dsn notify=SUCCESS,DELAY orcpt=rfc822;XTEXT warned delivered" (each
 * word optional; "warned": a delay report was sent; "delivered": smtpd
 * delivered it locally and the runner owes the success report;
 * "expanded": that recipient was a list, the report says "expanded") for
 * that recipient.
 * Readers before these lines ignore them.
 *
 * Local delivery handed back to smtpd (issue 15, store and forward): a
 * line "local" after a recipient's lines marks it as one of smtpd's local
 * recipients whose delivery failed temporarily; the runner retries it by
 * running smtpd --lmtp (the smtpd beside it) with the arguments of the
 * envelope's "local-arg XTEXT" lines (one argument each, xtext-encoded,
 * after "next"), which say how smtpd delivered: --hostname, --domains,
 * --users, --mailbox, --mda, --aliases, --queue...  smtpd writes them in
 * every envelope, so the runner also knows its local domains (a report to
 * a sender in one of them is delivered the same way, not routed by MX).
 * The runner runs that smtpd with the ids of the envelope file's owner,
 * never more (see smtp-send/queue.c).
 *
 * one "rcpt <addr> STATE [text]" line per recipient, STATE one of
 * pending|done|failed, text the last reply from the remote server (control
 * characters replaced by spaces).  Addresses are stored without the angle
 * brackets in struct queue_env; a quoted local part may hold '>' or spaces
 * and is parsed quote-aware.  Unknown field names are ignored, so later
 * versions may add lines.
 *
 * Enqueue: write tmp/ID.msg and tmp/ID.env, fsync both, rename the message
 * into msg/ID, then the envelope into env/ID (the commit point), then fsync
 * msg/ and env/.  A crash before the last rename leaves only tmp/ files or
 * an orphan msg/ID without env/ID, which runners ignore.
 *
 * Locking: a runner works on a message only while it holds
 * flock(LOCK_EX|LOCK_NB) on env/ID (queue_lock).  An update writes a new
 * envelope in tmp/, locks it, and renames it over env/ID
 * (queue_update_env), so the lock moves with the file and is never
 * dropped; queue_lock checks after locking that the file it locked is still
 * the one named env/ID.  Removal unlinks env/ID first, then msg/ID.
 *
 * Every function returns 0 on success, or -1 with errno set (and, where
 * there is a why argument, a static reason). */
#ifndef ML_QUEUE_H
#define ML_QUEUE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "dsn.h"
#include "limits.h"

#define QUEUE_VERSION   1
#define QUEUE_ID_MAX    64              /* an ID with its NUL */
#define QUEUE_ADDR_MAX  SMTP_PATH_MAX   /* RFC 5321 4.5.3.1.3 */
#define QUEUE_TEXT_MAX  SMTP_REPLY_MAX  /* one reply line */
#define QUEUE_ENV_MAX   (1024 * 1024)   /* an envelope file we read at most */
#define QUEUE_LARG_MAX  32              /* local-arg lines: smtpd's delivery options */
#define QUEUE_LARG_LEN  4096            /* one local-arg, decoded (a path: PATH_MAX) */

enum queue_state { QR_PENDING, QR_DONE, QR_FAILED };

struct queue_rcpt {
	char addr[QUEUE_ADDR_MAX + 1];  /* without < >, "" never */
	enum queue_state state;
	char text[QUEUE_TEXT_MAX + 1];  /* last reply text, may be "" */
	int  notify;                    /* DSN_* bits, 0: no NOTIFY */
	int  warned;                    /* a delay report went out */
	int  delivered;                 /* done locally by smtpd: success report owed */
	int  expanded;                  /* ... to a list's members (RFC 3461 6.2.7.2) */
	int  local;                     /* smtpd's local recipient: retried through smtpd --lmtp */
	char remote[256];               /* the server that answered in this run (not stored) */
	char orcpt[DSN_ORCPT_MAX + 1];  /* "rfc822;xtext" as received, or "" */
};

struct queue_env {
	int    version;
	char   from[QUEUE_ADDR_MAX + 1];  /* "" for the null sender */
	time_t created;
	int    attempts;
	time_t next;
	int    ret;                       /* DSN_RET_*, 0: no RET */
	char   envid[DSN_ENVID_MAX * 3 + 1];  /* ENVID as received (xtext), or "" */
	size_t nrcpt;
	struct queue_rcpt *rcpt;          /* nrcpt entries, malloc'd */
	size_t nlarg;
	char **larg;                      /* "local-arg" lines decoded, malloc'd */
};

/* Set e to an empty version-1 envelope from sender (NULL or "" for <>),
 * created and next = now, attempts 0.  Free with queue_env_free. */
void queue_env_init(struct queue_env *e, const char *from, time_t now);
/* Append a pending recipient; -1 (EINVAL) if addr is empty or too long. */
int queue_env_add(struct queue_env *e, const char *addr);
/* Append a local-arg; -1 (E2BIG) past QUEUE_LARG_MAX or QUEUE_LARG_LEN. */
int queue_env_add_arg(struct queue_env *e, const char *arg);
/* Free the recipient array and args; e may be reused after queue_env_init. */
void queue_env_free(struct queue_env *e);

/* Parse envelope text p[0..n) into e (freed by the caller with
 * queue_env_free, also after an error).  -1 with why on bad syntax, a
 * version other than 1, or no recipient. */
int queue_env_parse(const char *p, size_t n, struct queue_env *e, const char **why);
/* Append the text form of e to out.  -1 (EINVAL) if an address holds a
 * control character (it could not be read back). */
int queue_env_format(const struct queue_env *e, struct buf *out);

/* Create DIR and its tmp/, msg/, env/ (mode 0700) if missing. */
int queue_init(const char *dir);
/* A new unique ID into id (QUEUE_ID_MAX bytes). */
void queue_new_id(char *id);
/* Whether id is a well-formed queue ID (no '/', no leading '.'). */
int queue_id_ok(const char *id);

/* Store message msg[0..len) with envelope e in the queue as described
 * above; on success id (QUEUE_ID_MAX bytes) names it.  The message is
 * written as given: the caller supplies LF line ends. */
int queue_enqueue(const char *dir, const struct queue_env *e, const void *msg, size_t len,
    char *id);

/* The committed IDs (names in env/), sorted; *ids is a malloc'd array of
 * malloc'd strings, free with queue_list_free. */
int queue_list(const char *dir, char ***ids, size_t *n);
void queue_list_free(char **ids, size_t n);

/* Open and lock env/ID for work (LOCK_EX|LOCK_NB).  Return the locked fd
 * (close it to unlock), or -1: errno EWOULDBLOCK when another runner has
 * it, ENOENT when it is gone (delivered and removed meanwhile). */
int queue_lock(const char *dir, const char *id);
/* Read and parse the envelope from the locked fd (or any fd on env/ID). */
int queue_read_env(int fd, struct queue_env *e, const char **why);
/* Open msg/ID read-only; the fd is the caller's. */
int queue_open_msg(const char *dir, const char *id);
/* Replace env/ID with e, atomically (tmp + fsync + rename), keeping the
 * lock: *lockfd is closed and replaced by a locked fd on the new file. */
int queue_update_env(const char *dir, const char *id, const struct queue_env *e, int *lockfd);
/* Remove the message (env/ID first, then msg/ID) and close lockfd (-1: none). */
int queue_remove(const char *dir, const char *id, int lockfd);

#endif
