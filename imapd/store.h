/* store.h — Maildir++ folders as IMAP mailboxes, laid out as Dovecot does.
 *
 * INBOX is the Maildir itself; folder "a.b" is the directory ".a.b" beside
 * cur/ new/ tmp/ (names kept on disk in modified UTF-7, as Dovecot does).
 * Flags live in the ":2," suffix of each file name (D F R S T).
 * UIDVALIDITY, the next UID, the first UID not yet announced as \Recent and
 * the UID of every file are kept in the folder's "maillab-uidlist", which
 * is only ever replaced whole (written to a temporary file, then renamed)
 * while "maillab-uidlist.lock" is locked with flock: a session killed at
 * any point leaves either the old or the new list, never half of one.
 *
 * The list also keeps the mod-sequences of RFC 7162 (CONDSTORE, QRESYNC):
 * the folder's HIGHESTMODSEQ, each message's MODSEQ, and the UIDs expunged
 * lately with the MODSEQ of their expunge.  Flags live in file names, which
 * any process may rename, so a change is given its MODSEQ by the next scan
 * that sees it (the session that made it scans at once when the client
 * asked for CONDSTORE); one scan gives all it finds one new MODSEQ. */
#ifndef IMAPD_STORE_H
#define IMAPD_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"

#define STORE_UIDLIST   "maillab-uidlist"
#define STORE_LOCK      "maillab-uidlist.lock"
#define STORE_UIDVALIDITY "maillab-uidvalidity"   /* in the Maildir's root: the last
                                                   * UIDVALIDITY given to any of its folders */
#define STORE_SUBSCRIPTIONS "subscriptions"
#define STORE_NAME_MAX  200     /* mailbox name bytes: ".name" must fit NAME_MAX (255) */
#define STORE_PATH_MAX  4096
#define STORE_VANISHED_MAX 10000 /* expunged UIDs remembered for VANISHED (EARLIER); older
                                  * ones are forgotten and the list's floor rises */

enum {
	FL_SEEN = 1, FL_ANSWERED = 2, FL_FLAGGED = 4, FL_DELETED = 8, FL_DRAFT = 16,
	FL_RECENT = 32          /* session state only, never on disk */
};

/* Keywords, as Dovecot keeps them in Maildir: the folder's file
 * "dovecot-keywords" numbers them ("0 $Forwarded"), and keyword N is the
 * letter 'a' + N in the ":2," suffix; here it is flag bit 6 + N. */
#define STORE_KEYWORDS  "dovecot-keywords"
#define KW_MAX          26
#define KW_NAME_MAX     64      /* longest keyword name we keep */
#define FL_KW(i)        (1u << (6 + (i)))
#define FL_KEYWORDS     (~0u << 6)

#define SIZE_UNKNOWN UINT64_MAX

struct msg {
	uint32_t uid;
	unsigned flags;         /* FL_* */
	int      gone;          /* the file went away; EXPUNGE not yet announced */
	int      in_new;        /* the file is still in new/ */
	char    *base;          /* unique part of the file name */
	char    *name;          /* file name in cur/ or new/ */
	char    *extra;         /* flag letters we keep but do not manage (P, keywords) */
	uint64_t wsize;         /* size on the wire (CRLF), or SIZE_UNKNOWN */
	time_t   date;          /* INTERNALDATE, 0: not known yet */
	uint64_t modseq;        /* RFC 7162 MODSEQ of its last change */
};

/* A UID expunged and the MODSEQ of its expunge. */
struct vanished {
	uint32_t uid;
	uint64_t modseq;
};

struct store_summary {
	uint32_t messages, unseen, first_unseen, recent, in_new;
};

struct folder {
	char     path[STORE_PATH_MAX];   /* the Maildir directory */
	char     name[STORE_NAME_MAX + 8];
	int      readonly;      /* EXAMINE: no flag changes, no \Recent claimed */
	uint32_t uidvalidity, uidnext;
	struct msg *m;          /* the session's view, by ascending UID */
	size_t   n, cap;
	struct timespec seen_cur, seen_new, seen_list;  /* mtimes at the last scan */
	int      dirty;         /* sizes or dates learnt that the list lacks */
	int      lazy;          /* opened from the list's header only: m not loaded */
	FILE    *snap;          /* the list as it was at SELECT, while lazy */
	struct store_summary sum;       /* what SELECT announced, while lazy */
	char    *kw[KW_MAX];    /* keyword names by number, NULL: unused */
	unsigned nkw_told;      /* keywords the client was told of in FLAGS */
	uint64_t highestmodseq; /* RFC 7162, as of the last scan */
	struct vanished *van;   /* expunges remembered, by ascending MODSEQ */
	size_t   nvan;
	uint64_t van_floor;     /* expunges up to this MODSEQ may have been forgotten */
	struct hcache *hc;      /* header fields read so far, by UID (hcache.c), NULL: none */
};

/* What a sync found, for the untagged replies. */
struct sync_report {
	uint32_t *expunged;     /* sequence numbers, in the order to announce */
	uint32_t *expunged_uid; /* and their UIDs (for VANISHED) */
	size_t   nexpunged;
	size_t  *changed;       /* indexes into f->m whose flags changed */
	size_t   nchanged;
	size_t  *touched;       /* and those whose MODSEQ alone moved (flags set */
	size_t   ntouched;      /* and reset elsewhere): told to CONDSTORE sessions */
	int      exists;        /* the number of messages changed */
	uint32_t recent;        /* messages now \Recent in this session */
};
void sync_report_free(struct sync_report *r);

/* Whether name is a mailbox name we accept: valid modified UTF-7, no "/",
 * no empty hierarchy level (so no ".." and no leading '.'), printable. */
int store_name_ok(const char *name);
/* Path of mailbox name (INBOX: root itself) under root; -1 if too long. */
int store_path(const char *root, const char *name, char *path, size_t cap);
/* Make a Maildir (cur new tmp) at path; marker: write "maildirfolder". */
int store_make_maildir(const char *path, int marker);
/* Whether path holds a Maildir (has cur/). */
int store_exists(const char *path);

/* Open folder name at path into f (f zeroed by caller) and scan it.  With
 * readonly 0, messages in new/ move to cur/ and this session claims the
 * \Recent ones.  Return 0, or -1 (errno) when it is not a Maildir. */
int store_open(struct folder *f, const char *path, const char *name, int readonly);
void store_close(struct folder *f);
/* Load the view of a folder opened lazily (a no-op otherwise); every use of
 * f->m in a command goes after it.  Return 0. */
int store_load(struct folder *f);
/* What SELECT announces: messages, unseen, first unseen, \Recent. */
void store_summary(const struct folder *f, struct store_summary *sum);

/* Rescan f if anything changed on disk (always with force).  Messages that
 * vanished are removed from the view and reported in r->expunged when
 * allow_expunge; otherwise they stay, marked gone.  New messages are
 * appended (r->exists), flag changes by others listed (r->changed). */
int store_sync(struct folder *f, int allow_expunge, int force, struct sync_report *r);

/* Map message m's file read-only; *data and *len: its stored bytes (LF or CRLF
 * line ends as stored).  Fills m->wsize / m->date if unknown.  Return 0, or
 * -1 when the file is gone (after looking for a renamed one).  Unmap with
 * store_unmap. */
int store_map(struct folder *f, struct msg *m, const char **data, size_t *len);
void store_unmap(const char *data, size_t len);
/* m's wire size / INTERNALDATE, looking at the file if not yet known. */
uint64_t store_wsize(struct folder *f, struct msg *m);
time_t store_date(struct folder *f, struct msg *m);

/* The header cache (hcache.c).  store_headers gives in v the fields of
 * m's header that SEARCH, SORT and THREAD read (those hcache_field names),
 * as stored, ended by a blank line: from memory when they were read before
 * in this session, else from the file, keeping them while the cache holds
 * less than max bytes.  -1 when the file is gone.  Release v with
 * store_headers_done. */
struct hview {
	const char *p;
	size_t len;
	struct buf tmp;         /* the block when it was not kept */
};
int store_headers(struct folder *f, struct msg *m, size_t max, struct hview *v);
void store_headers_done(struct hview *v);
/* Whether field name (name[0..n)) is one store_headers gives
 * (case-insensitive): its number from 1, or 0. */
int hcache_field(const char *name);
int hcache_field_n(const char *name, size_t n);
/* What a user of the cache derived from message uid's fields (SEARCH: the
 * decoded texts it matches), kept beside them: NULL if none is kept.
 * hcache_set_aux keeps b in place of what was kept (taking it, returning
 * where it now is) when uid's fields are kept and the cache stays under
 * max bytes; else NULL, and b stays the caller's. */
const char *hcache_aux(const struct folder *f, uint32_t uid, size_t *len);
const char *hcache_set_aux(struct folder *f, uint32_t uid, struct buf *b, size_t max);
/* Forget message uid's fields (expunged); free them all (folder closed). */
void hcache_drop(struct folder *f, uint32_t uid);
void hcache_free(struct folder *f);

/* Set m's flags to flags (renaming the file).  0, or -1 if it is gone. */
int store_set_flags(struct folder *f, struct msg *m, unsigned flags);
/* Add the flags add and remove the flags del on m, as its file has them now
 * (another session may have changed them).  0, or -1 if it is gone. */
int store_change_flags(struct folder *f, struct msg *m, unsigned add, unsigned del);
/* Unlink m's file.  0, or -1 if it was already gone. */
int store_unlink(struct folder *f, struct msg *m);

/* store_deliver's date for "now": no IMAP date-time comes near it (the
 * epoch, 0, is a valid one). */
#define STORE_DATE_NOW  ((time_t)INT64_MIN)
/* Deliver data[0..n) (CRLF or LF lines; stored with LF, converted in place,
 * so data is changed) into the Maildir at path with flags and date
 * (STORE_DATE_NOW: now).  Return the new base name (caller frees) or NULL (errno). */
char *store_deliver(const char *path, char *data, size_t n, unsigned flags, time_t date);
/* Remove the message store_deliver just saved as base with flags (an
 * APPEND of several messages that failed half-way).  0 or -1. */
int store_discard(const char *path, const char *base, unsigned flags);
/* Put a copy of m (a hard link when possible) into the Maildir at path with
 * flags; return the new base name or NULL. */
char *store_copy(struct folder *f, struct msg *m, const char *path, unsigned flags);
/* Give UIDs to new files of the Maildir at path, then report UIDVALIDITY,
 * UIDNEXT, the number of messages, of \Recent ones and of unseen ones; the
 * UIDs of the bases listed in bases[0..nb) go in uids (0 if not found). */
struct store_status {
	uint32_t uidvalidity, uidnext, messages, recent, unseen;
	uint64_t highestmodseq;
};
int store_status(const char *path, struct store_status *st, char *const *bases, size_t nb,
    uint32_t *uids);

/* Flag letters "DFRST" and keyword letters "a".."z" of flags (out: 40 bytes). */
void store_flag_letters(unsigned flags, char *out);

/* The number of keyword name (case-insensitive) in the folder at path,
 * adding it to the folder's list when create is set; -1 if there is no
 * such keyword, or no room (26), or the name is not a keyword atom. */
int store_keyword(const char *path, const char *name, int create);
/* Read the keyword names of f's folder into f->kw; return how many. */
unsigned store_keywords_load(struct folder *f);

#endif
