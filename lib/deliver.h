/* deliver.h — local delivery: one message into Maildirs and mboxes.
 *
 * The one implementation behind maildeliver (the MDA, a message on stdin)
 * and smtpd's in-process delivery (no --mda): find each recipient's
 * mailbox (passwd-file or system account, --mailbox template, +detail
 * folder, .Junk for X-Spam-Flag: YES), add Return-Path: and Delivered-To:,
 * and store the message with fsync before success is reported.  Started
 * by root, a delivery runs as the recipient's uid/gid, never as root. */
#ifndef DELIVER_H
#define DELIVER_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "limits.h"

/* The largest message we take by default (--max-size): more is refused
 * (EX_DATAERR), as a size limit in an MTA is refused for good.  The whole
 * message is held in memory once, whatever the number of recipients. */
#define MD_SIZE_MAX      ((size_t)512 * 1024 * 1024)
#define MD_SENDER_MAX    SMTP_PATH_MAX      /* -f: a reverse-path, RFC 5321 4.5.3.1.3 */
#define MD_JUNK_FOLDER   ".Junk"            /* Maildir++ folder for X-Spam-Flag: YES */

struct md_opts {
	const char *sender;     /* -f, NULL: from a leading From_ line, $SENDER, or "" */
	const char *users;      /* --users passwd-file, NULL: system accounts */
	const char *tmpl;       /* --mailbox template */
	const char *direct;     /* -m MAILBOX: no user, no lookup */
	const char *folder;     /* folder for the no-operand case ($EXTENSION) */
	int   no_junk;          /* --no-junk */
	int   lock_wait;        /* --lock-wait seconds for a busy mbox */
	size_t max_size;        /* --max-size bytes */
	int   verbose;
	/* For a caller that delivers in-process (smtpd):
	 * err:    why a delivery failed, one line each, instead of stderr
	 *         (NULL: "progname: ..." on stderr, as maildeliver);
	 * become: as root, switch to the recipient's uid/gid for good in this
	 *         process instead of a child per delivery (the caller is a
	 *         throwaway child that delivers to one recipient), or with
	 *         MD_BECOME_EFFECTIVE only the effective uid/gid and groups for
	 *         the store itself, then back to root (the caller is a long-lived
	 *         single-threaded root process: smtpd's root half). */
	struct buf *err;
	int   become;
	/* --aliases: a recipient whose local part is an alias gets its
	 * members (lib/deliver_alias.c); alias_local says which domains are
	 * ours (NULL: none, every member with a domain is remote); members
	 * that are remote are left to the caller when remote_ok (smtpd
	 * queues them), else they fail. */
	const char *aliases;
	int  (*alias_local)(const void *ctx, const char *domain);
	const void *alias_ctx;
	int   remote_ok;
	/* ~/.forward (deliver_alias.c): no_forward turns it off; relay_cmd
	 * ("smtp-send [options]", NULL: none) forwards members in other domains. */
	int   no_forward;
	const char *relay_cmd;
	/* A Maildir over its Maildir++ quota (lib/quota.h) refuses the mail:
	 * for now (EX_TEMPFAIL, 4.2.2) or, with quota_bounce, for good
	 * (EX_UNAVAILABLE, 5.2.2). */
	int   quota_bounce;
};

#define MD_BECOME_FORGOOD    1
#define MD_BECOME_EFFECTIVE  2

/* The message as it will be stored: LF line ends, no leading From_ line,
 * no Return-Path fields (we add the one of this delivery). */
struct md_msg {
	char  *data;
	size_t len;
	size_t hdr_len;         /* bytes of the header section, incl. the blank line */
	int    spam;            /* X-Spam-Flag: YES in the header */
	char  *from_sender;     /* sender of a leading "From " line, or NULL */
};

/* Read and normalise the message from fd, at most max bytes as read.
 * EX_OK, or an EX_* code after printing why.  Free with md_msg_free. */
int md_read(int fd, size_t max, struct md_msg *m);
/* The same from memory (p[0..n) is copied). */
int md_from_mem(const char *p, size_t n, struct md_msg *m);
void md_msg_free(struct md_msg *m);
/* Whether the header has "Delivered-To: addr" anywhere. */
int md_delivered_to(const struct md_msg *m, const char *addr);

/* Where "Delivered-To: addr" fields (addr compared without case) stand in
 * the header of the message p[0..len) (LF line ends): MD_DT_HANDED for one
 * above every Received: field (the MTA handing us the message prepended
 * it for this very delivery, as OpenSMTPD's lmtp and mda actions do),
 * MD_DT_BELOW for one below a Received: (the message came back after a
 * delivery to addr: a mail loop); 0 for none. */
#define MD_DT_HANDED  1
#define MD_DT_BELOW   2
int md_dt_find(const char *p, size_t len, const char *addr);
/* Append p[0..len) to out without the MD_DT_HANDED fields for addr;
 * returns how many were left out. */
size_t md_dt_drop_handed(const char *p, size_t len, const char *addr, struct buf *out);

/* One recipient, a user (no alias expansion): an exit status. */
int md_deliver_user(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt);
/* Append m to the mbox file path as uid/gid (never 0), with Return-Path:
 * sender and Delivered-To: rcpt; who names it in messages. */
int md_deliver_file(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt, const char *path, uid_t uid, gid_t gid);
/* deliver_alias.c: one recipient: through the alias table when its local
 * part is an alias (each member delivered), else md_deliver_user. */
int md_deliver_rcpt(const struct md_opts *o, const struct md_msg *m, const char *sender,
    const char *rcpt);
/* Warn through o (o->err or stderr). */
void md_warnf(const struct md_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Deliver to each of rcpts[0..n) (or to o->direct, or with n == 0 to the
 * invoking user) and return the exit status: EX_OK when every delivery
 * succeeded, else the status of the first that failed. */
int md_run(const struct md_opts *o, const struct md_msg *m, char *const *rcpts, int n);

#endif
