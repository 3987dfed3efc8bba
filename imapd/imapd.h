/* imapd.h — what the modules of imapd share: options, the session, the
 * reply helpers, and the command handlers of each module. */
#ifndef IMAPD_IMAPD_H
#define IMAPD_IMAPD_H

#include <stdint.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "conn.h"
#include "parse.h"
#include "quota.h"
#include "server.h"
#include "store.h"

#define IMAP_CHUNK      (64 * 1024)   /* bytes read from the connection at a time */
#define IMAP_POLL_SECS  1             /* IDLE looks at the Maildir this often */
#define IMAP_BAD_MAX    20            /* bad commands in a row before BYE */

/* Special-use folders made for a new user (RFC 6154). */
#define SPECIAL_FOLDERS { { "Drafts", "\\Drafts" }, { "Sent", "\\Sent" }, \
	{ "Trash", "\\Trash" }, { "Junk", "\\Junk" } }

struct imapd_opts {
	const char *users;      /* passwd-file, NULL: system accounts */
	const char *mailbox;    /* --mailbox template */
	const char *hostname;
	const char *runas;      /* --user, when started as root */
	SSL_CTX    *ctx;        /* NULL: no STARTTLS */
	int         implicit_tls;
	int         plaintext_auth;
	int         verbose;
	int         use_syslog; /* --syslog: logins and logouts, mail facility */
	int         auth_delay; /* seconds after a failed login */
	const char *submit_user; /* --submit-user: may fetch submit+ URLAUTH URLs (RFC 4467 3) */
	struct quota quota;     /* --quota: limits where maildirsize has none (0: none) */
	size_t      header_cache; /* --header-cache: bytes of header fields kept (hcache.c) */
};

enum { ST_NOAUTH = 1, ST_AUTH = 2, ST_SELECTED = 4, ST_LOGOUT = 8 };

struct session {
	struct conn  conn;
	const struct imapd_opts *o;
	const struct peer *peer;
	int          state;
	int          fails;     /* failed logins */
	int          bad;       /* BAD replies in a row */
	struct privsep *ps;     /* started as root: the login process's helper (privsep.h) */
	int          uid;       /* the command came as UID ... */
	int          expunge_ok; /* EXPUNGE responses allowed before the reply */
	int          condstore;  /* RFC 7162: CONDSTORE enabled (MODSEQ in FETCH responses) */
	int          qresync;    /* RFC 7162: QRESYNC enabled (VANISHED, not EXPUNGE) */
	int          rev2;       /* RFC 9051: IMAP4rev2 enabled (no \Recent, ESEARCH, ...) */
	uint32_t    *saved;      /* RFC 5182: "$", the UIDs SEARCH RETURN (SAVE) kept, ascending */
	size_t       nsaved;
	struct user  user;
	char         root[STORE_PATH_MAX];   /* the user's Maildir */
	struct folder sel;
	struct imap_reader rd;
	struct context *ctx;    /* updating searches (context.c), NULL: none */
	struct notify *notify;  /* NOTIFY (notify.c), NULL: never used */
};

/* Run one session on rfd/wfd (inetd mode, or a child of -l); exit status. */
int imapd_session(int rfd, int wfd, const struct peer *peer, void *opts);

/* Replies.  tagged: "TAG OK text"; untagged: "* text". */
void reply(struct session *s, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void untagged(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append an IMAP string: quoted when safe and short, else a literal. */
void imap_string(struct buf *out, const char *p, size_t n);
/* Append flags as "(\Seen \Draft ...)" (FL_RECENT and the keywords of
 * folder f included). */
void flags_text(const struct folder *f, unsigned flags, struct buf *out);
/* flags as this session shows them: IMAP4rev2 has no \Recent (RFC 9051 appendix E). */
unsigned shown_flags(const struct session *s, unsigned flags);
/* Send FLAGS and PERMANENTFLAGS for the selected folder if it has new
 * keywords (or always, with force). */
void announce_flags(struct session *s, int force);
/* Sync the selected folder and send EXPUNGE/EXISTS/RECENT/FETCH updates. */
void send_updates(struct session *s, int allow_expunge);
/* Send what a sync found (EXPUNGE or VANISHED, EXISTS, RECENT, FETCH). */
void report_updates(struct session *s, const struct sync_report *r);
/* Enable CONDSTORE (RFC 7162 3.1: by ENABLE or by a first command that uses
 * it); selected, the client is told the HIGHESTMODSEQ it has now. */
void condstore_enable(struct session *s);
/* "* VANISHED (EARLIER) uids" for the UIDs in within (NULL: any) expunged
 * after MODSEQ since (RFC 7162 3.2.5.1, 3.2.6); nothing if there are none. */
void send_vanished(struct session *s, uint64_t since, const struct seqset *within);
/* A mod-sequence value of RFC 7162 (1 to 2^63 - 1; 0 with zero_ok) in a; -1 if not. */
int64_t arg_modseq(const struct imap_arg *a, int zero_ok);
/* Parse a flag list ("(\Seen \Flagged)" or one atom) into FL_* bits;
 * keywords are numbered in the folder at path (made there with create; one
 * that cannot be kept is dropped); -1 for \Recent or a malformed flag. */
int parse_flags(const struct imap_arg *a, unsigned *flags, const char *path, int create);
/* The mailbox name argument a, checked and with INBOX upper-cased, into
 * name; its path into path.  -1 (reply already sent) if not acceptable. */
int mailbox_arg(struct session *s, const char *tag, const struct imap_arg *a, char *name,
    char *path);
/* Resolve a sequence set argument to indexes of the selected folder's
 * messages (UIDs with s->uid); -1 if malformed. */
int resolve_set(struct session *s, const struct imap_arg *a, size_t **idx, size_t *n);

typedef void (*cmd_fn)(struct session *s, struct imap_cmd *c);
struct command {
	const char *name;
	int         states;
	cmd_fn      fn;
	int         expunge_ok;   /* EXPUNGE may be sent after it */
};

/* folders.c */
void cmd_select(struct session *s, struct imap_cmd *c);
void cmd_create(struct session *s, struct imap_cmd *c);
void cmd_delete(struct session *s, struct imap_cmd *c);
void cmd_rename(struct session *s, struct imap_cmd *c);
void cmd_subscribe(struct session *s, struct imap_cmd *c);
void cmd_list(struct session *s, struct imap_cmd *c);
void cmd_status(struct session *s, struct imap_cmd *c);
void cmd_append(struct session *s, struct imap_cmd *c);
void cmd_check(struct session *s, struct imap_cmd *c);
void cmd_close(struct session *s, struct imap_cmd *c);
void cmd_expunge(struct session *s, struct imap_cmd *c);
/* Make the Maildir of a new user, with its special-use folders. */
int folders_init(const char *root);

/* fetch.c */
void cmd_fetch(struct session *s, struct imap_cmd *c);
void cmd_store(struct session *s, struct imap_cmd *c);
void cmd_copy(struct session *s, struct imap_cmd *c);
/* Append to out the wire bytes an IMAP URL of this server names
 * ("/INBOX;UIDVALIDITY=5/;UID=3/;SECTION=1.TEXT/;PARTIAL=0.100", RFC 5092),
 * for CATENATE (RFC 4469); -1 if it names nothing here. */
int fetch_url(struct session *s, const char *url, struct buf *out);
/* Append the leaf p's body with its transfer encoding undone, as BINARY
 * and URLAUTH=BINARY give it: quoted-printable text with CRLF line ends,
 * base64 as its bytes are.  -1 for an encoding we cannot undo. */
struct mime_part;
int fetch_decoded_body(const struct mime_part *p, struct buf *out);

/* For NOTIFY's MessageNew fetch-att (RFC 5465 5.2): FETCH items compiled
 * once (NULL: malformed, or MODSEQ), and the FETCH responses for the
 * messages from index from to the end, as the FETCH command gives them. */
struct fetch;
struct fetch *fetch_compile(const struct imap_arg *a);
void fetch_compiled_free(struct fetch *fe);
void fetch_send_new(struct session *s, const struct fetch *fe, size_t from);

/* search.c */
void cmd_search(struct session *s, struct imap_cmd *c);
/* The CHARSET argument cs of SEARCH, SORT or THREAD: the strings of
 * a[0..n) converted from it to UTF-8; -1 (NO [BADCHARSET] sent) if unknown. */
int search_charset(struct session *s, const char *tag, const struct imap_arg *cs,
    struct imap_arg *a, size_t n);
/* The indexes (ascending) of the selected folder's messages that match the
 * search criteria a[0..n), in *hits (caller frees); -1 if malformed. */
int search_run(struct session *s, const struct imap_arg *a, size_t n, size_t **hits, size_t *nhits);
/* Append v[0..n) as a compact set: "1:3,7" (runs of consecutive numbers
 * become ranges; the order is kept). */
void number_set(const uint32_t *v, size_t n, struct buf *out);
/* The search result variable "$" of SEARCHRES (RFC 5182): replaced by the
 * UIDs uids[0..n) (ascending; n 0: emptied), and whether uid is in it. */
void searchres_set(struct session *s, const uint32_t *uids, size_t n);
int searchres_has(const struct session *s, uint32_t uid);
/* RETURN options of RFC 4731 (and ESORT, CONTEXT=SEARCH/SORT of RFC 5267,
 * PARTIAL of RFC 9394): RET_* bits, and PARTIAL's range lo:hi (|lo| <= |hi|,
 * negative: counted from the end).  "()" is ALL.  -1 if malformed. */
enum { RET_MIN = 1, RET_MAX = 2, RET_ALL = 4, RET_COUNT = 8, RET_PARTIAL = 16, RET_UPDATE = 32,
	RET_CONTEXT = 64 };
struct retopts {
	int ret;
	long long lo, hi;
};
int search_return_options(const struct imap_arg *a, struct retopts *r);
/* "* ESEARCH (TAG "t") [UID] MIN a MAX b COUNT n ALL set PARTIAL (r set)"
 * for the numbers v[0..n) (in the order ALL lists them: ascending, or SORT's). */
void esearch_reply(struct session *s, const char *tag, const struct retopts *r,
    const uint32_t *v, size_t n);
/* The same, ending with "MODSEQ modseq" when modseq is not 0 (RFC 7162 3.1.5). */
void esearch_reply_modseq(struct session *s, const char *tag, const struct retopts *r,
    const uint32_t *v, size_t n, uint64_t modseq);
/* Search criteria compiled once, to be matched against messages (by index
 * into the selected folder's view) now and after later changes. */
struct search_key;
struct search_key *search_compile(const struct imap_arg *a, size_t n);   /* NULL: malformed */
int search_match(struct session *s, const struct search_key *k, size_t idx);
/* Whether the key names sequence numbers or UID sets, whose meaning moves
 * with the view. */
int search_key_volatile(const struct search_key *k);
void search_key_free(struct search_key *k);

/* sort.c: a SORT program kept for an updating SORT */
struct sort_program;
/* Sort idx[0..n) (indexes into the view) by program p. */
void sort_indexes(struct session *s, const struct sort_program *p, size_t *idx, size_t n);
void sort_program_free(struct sort_program *p);

/* context.c: updating searches, RFC 5267 4.3 */
/* Whether an updating search of this tag is live. */
int context_has(const struct session *s, const char *tag);
/* Keep the search of command tag (key k; sort program p, or NULL for a
 * SEARCH) whose result is hits[0..n) (indexes, in the result's order):
 * changes to it are then announced; 0, and k and p are the context's.
 * -1 at the limit (NOUPDATE sent), and they stay the caller's. */
int context_add(struct session *s, const char *tag, struct search_key *k, struct sort_program *p,
    const size_t *hits, size_t n);
/* Before the EXPUNGE responses of a sync: REMOVEFROM for the messages gone
 * from the view, numbered as the client still knows them. */
void context_expunging(struct session *s);
/* After a sync or a command of ours: ADDTO/REMOVEFROM for every updating
 * search whose result changed. */
void context_refresh(struct session *s);
/* The folder is left: every updating search ends. */
void context_clear(struct session *s);
void cmd_cancelupdate(struct session *s, struct imap_cmd *c);

/* sort.c */
void cmd_sort(struct session *s, struct imap_cmd *c);
void cmd_thread(struct session *s, struct imap_cmd *c);

/* notify.c: NOTIFY (RFC 5465) */
enum { NEV_NEW = 1, NEV_EXPUNGE = 2, NEV_FLAG = 4, NEV_NAME = 8, NEV_SUBS = 16 };
void cmd_notify(struct session *s, struct imap_cmd *c);
/* Tell what changed in the other mailboxes watched (STATUS, LIST). */
void notify_poll(struct session *s);
/* Whether the selected mailbox's event ev (NEV_*) may be told unasked. */
int notify_selected(const struct session *s, int ev);
void notify_clear(struct session *s);
/* MessageNew's fetch-att for the selected folder: before a sync, the last
 * UID the client knows (the folder loaded); after it, the FETCH of every
 * message past that UID.  Nothing without a fetch-att. */
uint32_t notify_fetch_mark(struct session *s);
void notify_fetch_new(struct session *s, uint32_t mark);
/* folders.c, for notify.c: every folder name (INBOX first) and the
 * subscriptions (NULL when none); free both with folders_free. */
char **folders_names(const char *root, size_t *n);
char **folders_subscribed(const char *root, size_t *n);

/* urlauth.c: URLAUTH (RFC 4467) and URLAUTH=BINARY (RFC 5524) */
#define URLAUTH_CAPS "URLAUTH URLAUTH=BINARY"
void cmd_genurlauth(struct session *s, struct imap_cmd *c);
void cmd_resetkey(struct session *s, struct imap_cmd *c);
void cmd_urlfetch(struct session *s, struct imap_cmd *c);
/* Append to out the bytes a CATENATE URL names (RFC 4469 5): a relative
 * one as fetch_url, an absolute one of this user's, or a URLAUTH one that
 * verifies as URLFETCH would; -1 if it names nothing this user may read. */
int urlauth_catenate_url(struct session *s, const char *url, struct buf *out);

/* quota.c: QUOTA (RFC 9208) on the Maildir++ maildirsize file */
#define QUOTA_CAPS "QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE"
void cmd_getquota(struct session *s, struct imap_cmd *c);
void cmd_getquotaroot(struct session *s, struct imap_cmd *c);
void cmd_setquota(struct session *s, struct imap_cmd *c);
#define QUOTA_OVER_TEXT "NO [OVERQUOTA] Quota exceeded (mailbox for user is full)"
/* Whether count more messages of bytes in all would put the user over
 * quota (1), or not (0, also when the quota cannot be read). */
int quota_over(struct session *s, uint64_t bytes, uint64_t count);
/* The size of message p[0..n) once stored (CRLF becomes LF). */
uint64_t quota_stored_size(const char *p, size_t n);
/* Record in the user's maildirsize the files bases[0..n) saved (by their
 * ",S=" sizes). */
void quota_saved(struct session *s, char *const *bases, size_t n);

#endif
