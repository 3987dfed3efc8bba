/* maildrop.h — a POP3 maildrop: the messages of one Maildir or mbox,
 * locked for one session, numbered 1..n, changed only by maildrop_commit
 * (the UPDATE state of RFC 1939 section 6).
 *
 * Sizes are the octets of the message as sent on the wire in CRLF form
 * before dot-stuffing (RFC 1939 section 11); maildrop_send produces exactly
 * that many octets plus the stuffing dots. */
#ifndef POP3D_MAILDROP_H
#define POP3D_MAILDROP_H

#include <stddef.h>
#include <sys/types.h>

#include "mailbox.h"

#define MAILDROP_LOCK      "pop3d.lock"    /* in the Maildir: one session at a time */
#define MAILDROP_SIZES     "pop3d.sizes"   /* in the Maildir: "uid size" cache */
#define MAILDROP_SIZES_MAX (64 << 20)      /* a bigger cache is ignored */
#define MAILDROP_UID_MAX   70              /* RFC 1939 7: unique-id is 1..70 chars */
#define MAILDROP_MSGS_MAX  1000000         /* messages we list in one session */
#define MBOX_DOTLOCK_TRIES 5               /* one second apart, for a delivering MDA */

enum maildrop_rc { MD_OK = 0, MD_ERR = -1, MD_INUSE = -2 };

struct msg {
	char  *name;            /* Maildir: "new/BASE" or "cur/BASE:2,FL"; mbox: NULL */
	char   uid[MAILDROP_UID_MAX + 1];
	off_t  size;            /* CRLF octets */
	off_t  off, len;        /* mbox: content bytes (after the From_ line) */
	off_t  from_off;        /* mbox: where its From_ line starts */
	int    deleted;         /* DELE in this session */
	int    seen;            /* RETR or TOP in this session */
	int    wname;           /* Maildir: size taken from ",W=" in the name */
};

struct maildrop {
	enum mailbox_kind kind;
	char   path[4096];
	int    lockfd;          /* Maildir: fd holding MAILDROP_LOCK; mbox: the mbox */
	int    dotlocked;       /* mbox: we made path.lock */
	unsigned char *map;     /* mbox: the whole file, read-only */
	size_t maplen;
	unsigned char *rbuf;    /* Maildir: the message being sent */
	size_t rcap;
	struct msg *m;
	size_t n;
};

/* Lock and read the maildrop at path.  MD_OK, MD_INUSE when another
 * session holds it, MD_ERR with a reason in why (static text, errno set
 * where it helps).  A missing Maildir counts as empty; so does a missing
 * mbox. */
enum maildrop_rc maildrop_open(struct maildrop *md, const char *path,
    enum mailbox_kind kind, const char **why);

/* Where to put message bytes: returns 0 or -1 (stop). */
typedef int (*maildrop_sink)(void *arg, const void *p, size_t n);

/* Send message i (0-based) in CRLF form, dot-stuffed when stuff is set,
 * through sink, without the final ".".  lines < 0: the whole message;
 * else the headers, the empty line and at most lines body lines (TOP).
 * The message is read before the first sink call, and a size taken from
 * a ",W=" name that turns out short (no line end at the end of the file,
 * which the wire form adds) is corrected in md->m[i].size by then.
 * Return 0, or -1 (message vanished, I/O error, or the sink failed). */
int maildrop_send(struct maildrop *md, size_t i, long lines, int stuff,
    maildrop_sink sink, void *arg);

/* CRLF size of the n bytes at p, as maildrop_send would send them
 * unstuffed (bare LF counts 2, a missing final line end counts 2). */
off_t maildrop_crlf_size(const unsigned char *p, size_t n);

/* UPDATE: remove the deleted messages; Maildir: move the others from new/
 * to cur/ and flag the seen ones S.  Return the number of deleted
 * messages that could not be removed (0: all done), or -1 when the
 * mailbox could not be rewritten (nothing lost; reason in why). */
int maildrop_commit(struct maildrop *md, const char **why);

/* Unlock and free everything (no UPDATE). */
void maildrop_close(struct maildrop *md);

#endif
