/* parse.h — reading and parsing IMAP commands (RFC 3501 section 9).
 *
 * Two steps.  The reader is fed the bytes of the connection and assembles
 * one whole command: its lines and its literals ({n} synchronising, {n+}
 * LITERAL+, RFC 7888) in one buffer, checking every limit as the bytes
 * arrive, so a "{4294967295}" literal is refused before anything is
 * allocated.  The parser then turns a whole command into a tag, a name and
 * a tree of arguments (atoms, strings, lists). */
#ifndef IMAPD_PARSE_H
#define IMAPD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "limits.h"

#define IMAP_LITERAL_MAX (64u * 1024 * 1024)  /* an APPENDed message; Dovecot's default is 64 MiB */
#define IMAP_CMD_MAX     (IMAP_LITERAL_MAX + 256u * 1024)  /* a command, literals included */
#define IMAP_NEST_MAX    16       /* nested parenthesised lists (Dovecot: 20) */
#define IMAP_ARGS_MAX    100000   /* tokens in one command: a long UID set is one token */
#define IMAP_TAG_MAX     64       /* a tag longer than this is not a client's */
#define IMAP_LITERALS_MAX 1000    /* literals in one command */
#define IMAP_PREAUTH_LITERAL_MAX (8 * 1024)  /* before login: a user name or password (Dovecot's imap-login is as strict) */

enum rd_event {
	RD_MORE,        /* everything was taken; feed more */
	RD_CONT,        /* a synchronising literal is announced: send "+ ..." */
	RD_DONE,        /* a whole command is in r->cmd (len r->cmd.len) */
	RD_ERROR,       /* a bad command was dropped: answer BAD with r->why */
	RD_FATAL        /* the stream cannot be resynchronised: BYE and close */
};

struct imap_reader {
	struct buf cmd;         /* the command: lines with CRLF, literals inline */
	size_t line;            /* offset of the current line in cmd */
	uint64_t litleft;       /* literal bytes still to come */
	int    skipping;        /* dropping the rest of a bad line */
	int    nlits;
	int    has_nul;
	uint64_t litmax;        /* largest literal taken now; 0: IMAP_LITERAL_MAX */
	const char *why;        /* reason for RD_ERROR / RD_FATAL, static text */
};

void imap_reader_init(struct imap_reader *r);
void imap_reader_free(struct imap_reader *r);
/* Feed p[0..n).  Stops at the first event and tells in *used how many
 * bytes it took; the caller feeds the rest afterwards.  After RD_DONE the
 * command stays in r->cmd until the next feed, which starts a new one. */
enum rd_event imap_reader_feed(struct imap_reader *r, const char *p, size_t n, size_t *used);
/* Copy into tag (cap bytes) the tag at the start of the buffered command,
 * or "*" when there is no valid one. */
void imap_reader_tag(const struct imap_reader *r, char *tag, size_t cap);

enum arg_type { ARG_ATOM, ARG_STRING, ARG_LIST };

struct imap_arg {
	enum arg_type type;
	int    literal;         /* a string sent as a literal: 1, or 2 as a literal8 (RFC 3516) */
	char  *s;               /* NUL-terminated copy (strings may hold NULs: use len) */
	size_t len;
	struct imap_arg *kids;  /* ARG_LIST */
	size_t nkids;
};

struct imap_cmd {
	char  *tag;
	char  *name;            /* upper-cased */
	struct imap_arg *args;
	size_t nargs;
};

/* Parse one whole command text (as the reader assembled it, without the
 * last CRLF).  Return 0, or -1 with a static reason in *why; the tag is
 * set whenever it could be read.  Free with imap_cmd_free in every case. */
int imap_parse(const char *p, size_t n, struct imap_cmd *c, const char **why);
/* Whether s[0..n) is what imap_parse takes as a command's tag. */
int imap_is_tag(const char *s, size_t n);
void imap_cmd_free(struct imap_cmd *c);

/* Whether a is an atom equal (case-insensitively) to s. */
int arg_is(const struct imap_arg *a, const char *s);
/* Whether a is an astring (atom or string) / nstring ("NIL" or string). */
int arg_astring(const struct imap_arg *a);

/* A sequence set (RFC 3501 9 sequence-set); 0 stands for "*". */
struct seq_range { uint32_t lo, hi; };
struct seqset {
	struct seq_range *r;
	size_t n;
};
/* Parse s; return 0 or -1.  Free with seqset_free. */
int seqset_parse(const char *s, struct seqset *set);
/* Whether v is in set, with "*" standing for max (the largest number in
 * use); a range is taken in either order (RFC 3501 9, seq-range). */
int seqset_has(const struct seqset *set, uint32_t v, uint32_t max);
/* Range i of set as lo <= hi, "*" standing for max as in seqset_has. */
void seqset_range(const struct seqset *set, size_t i, uint32_t max, uint32_t *lo, uint32_t *hi);
void seqset_free(struct seqset *set);

/* Modified UTF-7 mailbox names (RFC 3501 5.1.3).  Append the UTF-8 form of
 * s to out and return 0, or -1 if s is not valid modified UTF-7. */
int mutf7_decode(const char *s, struct buf *out);
/* Append the modified UTF-7 form of the UTF-8 text s; -1 if not UTF-8. */
int mutf7_encode(const char *s, struct buf *out);

/* Whether day is a day of month (1-12) in year: 31-Feb and 29-Feb of a
 * common year are not (dates of APPEND and of URLAUTH's EXPIRE). */
int imap_day_ok(int year, int month, int day);

/* The month (1-12) whose three-letter English name, in any case, starts p;
 * 0 if none does. */
int imap_month(const char *p);
/* At most max digits at *p as a number, advancing *p past them; -1 if there
 * are fewer than min.  *len, if not NULL, gets how many there were. */
int imap_digits(const char **p, int min, int max, int *len);
/* A number of RFC 3501 9 at *p, at most 2^32-1; with nz, a nz-number (no
 * leading zero, so not 0).  *p moves past the digits read; -1 if there is
 * none ("-1", " 1", "+1", "01" with nz) or it is too large. */
int64_t imap_number32(const char **p, int nz);
/* All of s[0..n) as such a number (s[n] is not read); -1 if it is not one. */
int64_t imap_number32_span(const char *s, size_t n, int nz);

/* The date-time of a Date: field (RFC 5322 3.3, with the obsolete two- and
 * three-digit years and named zones of 4.3; a day name and the seconds may
 * be left out, a missing or unknown zone is taken as +0000).  Its fields go
 * to *d, zone in minutes east of UTC; -1 if it cannot be read or is not a
 * real time ("31 Feb", "-1:-1", "25:00", zone "+9959"): SORT then takes
 * INTERNALDATE (RFC 5256 2.2) and the SENT* search keys do not match. */
struct sent_date {
	int year, month, day, hh, mm, ss, zone;
};
int imap_sent_date(const char *v, struct sent_date *d);

#endif
