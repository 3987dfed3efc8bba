/* mbox.h — the delivery side of mbox files: locking and mboxrd appends.
 *
 * Locking is what Postfix's local(8), mutt and Dovecot agree on: an
 * fcntl() write lock on the mbox, then a dot-file "PATH.lock" made with
 * O_EXCL (skipped when the directory does not let us create it, as
 * Postfix does).  Messages are stored in the mboxrd form: a "From SENDER
 * DATE" line, every line matching /^>*From / gets one more '>', and a
 * blank line ends each message.
 *
 * Our dot-lock holds "maildeliver PID SIZE\n": the size of the mbox
 * before the append.  A process killed in the middle of an append leaves
 * that lock behind; the next mbox_lock finds its owner dead, cuts the mbox
 * back to SIZE, and takes the lock, so a partial message never stays. */
#ifndef ML_MBOX_H
#define ML_MBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "auth.h"       /* PATH_MAX */

#define MBOX_LOCK_SECS   10      /* default wait for a busy lock */
#define MBOX_STALE_SECS  (5 * 60)   /* a foreign dot-lock this old is stale (mutt, Postfix) */
#define MBOX_FROM_MAX    (AUTH_NAME_MAX + 128)   /* "From " line */

struct mbox {
	int   fd;                       /* the mbox, O_RDWR|O_APPEND; -1 when closed */
	int   dotlocked;                /* we made path.lock */
	off_t orig;                     /* size before our append */
	char  path[PATH_MAX];
	char  lock[PATH_MAX];           /* path.lock */
};

/* Open (creating, mode 0600; never through a symlink) and lock the mbox
 * at path, waiting up to wait_secs for other holders.  0; or -1 with errno
 * EAGAIN when the lock stayed busy, else the open/lock error. */
int mbox_lock(struct mbox *mb, const char *path, int wait_secs);

/* Write the "From " line for sender ("" means MAILER-DAEMON; white space
 * becomes '_') at time t, in asctime form in UTC, with its LF.  Returns
 * the length (always < cap for cap >= MBOX_FROM_MAX). */
size_t mbox_from_line(char *buf, size_t cap, const char *sender, time_t t);

/* Append one message: the From line, then iov[0..n) (LF line ends; the
 * pieces may split lines anywhere) with mboxrd quoting, a final LF if the
 * message lacks one, and the blank line.  Fsync'ed before return.  On any
 * failure the mbox is truncated back to its size before the call.
 * 0, or -1 (errno). */
int mbox_append(struct mbox *mb, const char *from_line, const struct iovec *iov, int n);

/* A dot-lock file lock already exists for the mbox open on mboxfd, whose
 * fcntl lock the caller holds.  Remove it when its owner is dead (a lock
 * "TAG PID [SIZE]" naming a process that no longer runs; a dead
 * maildeliver's "maildeliver PID SIZE" also has the mbox cut back to SIZE,
 * dropping its partial message) or when it is MBOX_STALE_SECS old.
 * 1 removed (take it again), 0 still held (wait), -1 error (errno). */
int mbox_lock_recover(int mboxfd, const char *lock);

/* Remove the dot-lock, release the fcntl lock and close. */
void mbox_unlock(struct mbox *mb);

#endif
