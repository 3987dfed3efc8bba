/* maildir.h — the delivery side of Maildir (cr.yp.to/proto/maildir.html)
 * and Maildir++ folders.
 *
 * A message is written under tmp/ with a unique name, fsync'ed, then
 * hard-linked (or renamed) into new/ (or cur/ with flags), and the
 * directory is fsync'ed: once maildir_commit returns 0 the message
 * survives a crash, and a reader never sees a partial file in new/ or cur/.
 * Reading and scanning a Maildir is the servers' business (pop3d, imapd). */
#ifndef ML_MAILDIR_H
#define ML_MAILDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "auth.h"       /* PATH_MAX */

#define MAILDIR_UNIQ_MAX   256  /* time.M<usec>P<pid>R<random>.host, host escaped */
#define MAILDIR_RETRIES    8    /* unique-name collisions before giving up */

/* Whether path is a Maildir: path/cur, path/new and path/tmp are directories. */
int maildir_exists(const char *path);

/* Create the Maildir path (and missing parents, mode 0700) with its cur,
 * new and tmp; with folder != 0 also the empty "maildirfolder" file a
 * Maildir++ subfolder carries.  Existing parts are kept.  0, or -1 (errno). */
int maildir_make(const char *path, int folder);

/* A unique base name "time.M<usec>P<pid>R<hex random>.host", the host with
 * '/' and ':' written as "\057" and "\072" (Maildir spec).  0 or -1. */
int maildir_uniq(char *buf, size_t cap);

/* One message being written; fill it with maildir_open. */
struct maildir_msg {
	int   fd;                       /* open in tmp/, -1 when closed */
	off_t size;                     /* bytes written so far */
	off_t lines;                    /* bare LFs (no CR before) written: size + lines
	                                   is the size with CRLF line ends */
	int   last;                     /* last byte written, -1 before the first */
	char  dir[PATH_MAX];            /* the Maildir */
	char  uniq[MAILDIR_UNIQ_MAX];   /* base name in tmp/ */
	char  tmp[PATH_MAX];            /* dir/tmp/uniq */
};

/* Create a new file in dir/tmp/ (O_EXCL, mode 0600).  0, or -1 (errno). */
int maildir_open(struct maildir_msg *m, const char *dir);
/* Append n bytes.  0, or -1 (errno). */
int maildir_write(struct maildir_msg *m, const void *p, size_t n);
/* fsync and close the file, link it into new/ as "uniq,S=size,W=vsize"
 * (info NULL) or into cur/ as "uniq,S=size,W=vsize:2,<info>" (info: flags
 * such as "S" or ""); W= is the size with CRLF line ends (RFC822.SIZE,
 * POP3 LIST), as Dovecot writes it, remove it from tmp/, fsync the target directory.  The final base
 * name goes to name (cap bytes) when name is not NULL.  0, or -1 (errno):
 * then the tmp file is removed. */
int maildir_commit(struct maildir_msg *m, const char *info, char *name, size_t cap);
/* Give up: close and remove the tmp file. */
void maildir_abort(struct maildir_msg *m);

#endif
