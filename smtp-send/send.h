/* send.h — smtp-send's modules: reply parser, client session, message,
 * composer, SASL client, connections, MX routing and the queue runner.
 *
 * main.c fills a struct opts and calls send_run() or queue_run(); every
 * other function gets what it needs as arguments (no globals), so the
 * modules link straight into tests/unit/test_smtp-send.c. */
#ifndef SEND_H
#define SEND_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <sys/types.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "conn.h"
#include "dsn.h"
#include "limits.h"

#define SEND_REPLY_LINE_MAX 2048        /* a reply line we read (RFC: 512; some servers are chatty) */
#define SEND_REPLY_LINES_MAX 100        /* lines in one reply before we call it a flood */
#define SEND_REPLY_TEXT_MAX (16 * 1024) /* all text of one reply */
#define SEND_MSG_MAX    (256UL * 1024 * 1024)   /* a message we read into memory */
#define SEND_CONNECT_SECS 30            /* per address; Postfix: smtp_connect_timeout */
#define SEND_CMD_SECS   (5 * 60)        /* RFC 5321 4.5.3.2.1-.5: 5 minutes per reply */
#define SEND_DATA_END_SECS (10 * 60)    /* RFC 5321 4.5.3.2.6: 10 minutes after "." */
#define SEND_CHILD_WAIT_MS 1000        /* --pipe: how long a server may take to exit */
#define SEND_BDAT_CHUNK (64 * 1024)     /* BDAT chunk size */
#define SEND_RCPT_MAX   1000            /* recipients per run; servers take >= 100 per transaction */
#define SEND_PASS_MAX   512             /* a password */
#define SEND_MAX_AGE    (5 * 24 * 3600) /* queue: bounce after 5 days (RFC 5321 4.5.4.1: 4-5 days) */
#define SEND_RETRY_MIN  (5 * 60)        /* queue: first retry after 5 minutes, then doubling */
#define SEND_RETRY_MAX  (4 * 3600)      /* ... up to every 4 hours */

/* ---- replies (reply.c) ---- */

struct reply {
	int    code;            /* 0 until the first line */
	char   enh[16];         /* enhanced status code "5.1.1", or "" */
	struct buf text;        /* text of every line, '\n'-separated, codes stripped */
	size_t nlines;
	int    done;
};

enum reply_rc { REPLY_MORE, REPLY_DONE, REPLY_BAD };

/* Ready r for a new reply (keeps its buffer). */
void reply_reset(struct reply *r);
void reply_free(struct reply *r);
/* Feed one reply line (no line end).  REPLY_MORE: a continuation ("250-"),
 * REPLY_DONE: the last line, REPLY_BAD: not a reply line, a code that
 * changes mid-reply, or too many lines; *why says which (static text). */
enum reply_rc reply_feed(struct reply *r, const char *line, size_t len, const char **why);
/* The first line of text, for one-line messages ("5.1.1 No such user"). */
void reply_summary(const struct reply *r, char *out, size_t cap);
/* The whole text (no code) into out, lines joined by " / ", cut to cap - 1. */
void reply_flat(const struct reply *r, char *out, size_t cap);

struct caps {
	int    esmtp;           /* EHLO worked */
	int    pipelining, eightbitmime, smtputf8, starttls, chunking, enhanced, dsn;
	int    has_size;
	unsigned long long size;   /* SIZE limit, 0: none announced */
	char   auth[256];       /* mechanisms, space-separated, upper case */
};

/* Read the capabilities from the text of an EHLO/LHLO reply. */
void caps_parse(struct caps *c, const struct reply *r);

/* ---- the message (message.c) ---- */

struct message {
	char  *p;               /* CRLF line ends, always */
	size_t len;
	size_t hdrlen;          /* header section, up to and with the empty line */
	int    eightbit;        /* 8-bit bytes anywhere */
	int    utf8hdr;         /* 8-bit bytes in the header section (SMTPUTF8) */
};

/* Turn raw[0..n) into m: LF or CRLF line ends become CRLF, a last line gets
 * its line end.  Without ignore_dots, a line "." ends the message
 * (sendmail), and is refused (-1) unless only empty lines follow it.
 * Return 0, or -1 with a reason in err (NUL byte, bare CR, line over
 * RFC5322_LINE_MAX, text after a lone dot). */
int msg_from_bytes(const char *raw, size_t n, int ignore_dots, struct message *m,
    char *err, size_t cap);
/* Read fd to its end (at most SEND_MSG_MAX) into out; 0 or -1 (errno/err). */
int read_all(int fd, struct buf *out, char *err, size_t cap);
void msg_free(struct message *m);
/* Append the message dot-stuffed (RFC 5321 4.5.2) and ".\r\n" to out. */
void msg_stuff(const struct message *m, struct buf *out);
/* RFC 6152 3: for a server without 8BITMIME, a copy of m whose 8-bit
 * text body is quoted-printable (Content-Transfer-Encoding replaced,
 * MIME-Version added when missing).  Only a single text part (text/...) with a
 * 7bit or 8bit encoding and an ASCII header is rewritten; 0, else -1
 * (out untouched: send m as it is). */
int msg_downgrade(const struct message *m, struct message *out);
/* -t: append every address of the To, Cc and Bcc fields to the list and
 * remove the Bcc fields from m.  Return the number of addresses, or -1 if
 * a field cannot be parsed (reason in err). */
int msg_header_rcpts(struct message *m, char ***list, size_t *n, char *err, size_t cap);
/* Split an address-list field body into bare addresses (appended);
 * return how many, or -1 for a malformed list. */
int addr_split(const char *s, size_t n, char ***list, size_t *cnt);
/* Whether s is usable as an envelope address: no CR/LF/NUL/<>, no
 * spaces outside quotes, at most SMTP_PATH_MAX; "" is the null sender. */
int addr_ok(const char *s);
/* Whether s has a byte >= 0x80. */
int has_8bit(const char *s, size_t n);

/* ---- the composer (compose.c) ---- */

struct compose {
	const char *from;       /* address for From: */
	const char *name;       /* display name for From:, may be NULL */
	char *const *to;        /* recipients for To: */
	size_t nto;
	const char *subject;    /* UTF-8, NULL: none */
	const char *body;       /* UTF-8 text (or bytes), NULL: none */
	size_t bodylen;
	const char *html;       /* HTML text, NULL: none */
	size_t htmllen;
	char *const *attach;    /* file paths */
	size_t nattach;
	char *const *headers;   /* "Name: value" */
	size_t nheaders;
	time_t now;
	const char *domain;     /* for Message-ID */
	unsigned long long rnd; /* random seed for Message-ID and boundaries */
};

/* Build the whole message into out with CRLF line ends.  Return 0, or -1
 * with a reason in err (unreadable attachment, bad header, ...). */
int compose_build(const struct compose *c, struct buf *out, char *err, size_t cap);
/* MIME type for a file name, by extension; "application/octet-stream" when unknown. */
const char *mime_type_of(const char *path);
/* Append ";\r\n name=..." for a parameter value, quoted, or RFC 2231
 * encoded and split into continuations when it is not short ASCII. */
void mime_param(struct buf *out, const char *name, const char *value);
/* RFC 5322 date of t in local time: "Mon, 23 Nov 2026 18:54:11 +0000". */
void rfc5322_date(time_t t, char *out, size_t cap);

/* ---- SASL client (sasl_client.c) ---- */

enum sasl_mech { SASL_M_NONE, SASL_M_PLAIN, SASL_M_LOGIN, SASL_M_CRAM };

struct sasl_client {
	enum sasl_mech mech;
	int    step;
	const char *user, *pass;
};

/* The mechanism to use: wanted (case-insensitive) if offered, else the best
 * offered of CRAM-MD5, PLAIN, LOGIN; SASL_M_NONE if nothing fits. */
enum sasl_mech sasl_client_pick(const char *offered, const char *wanted);
const char *sasl_mech_name(enum sasl_mech m);
/* Initial response (base64, "=" for empty) for AUTH, or "" for none. */
void sasl_client_start(struct sasl_client *s, enum sasl_mech m, const char *user,
    const char *pass, struct buf *initial);
/* Answer the base64 challenge ch; 0, or -1 if it is malformed or unexpected. */
int sasl_client_step(struct sasl_client *s, const char *ch, struct buf *resp);

/* ---- options and the session (client.c) ---- */

enum stage { ST_NONE, ST_CONNECT, ST_EHLO, ST_TLS, ST_AUTH, ST_MAIL, ST_RCPT, ST_DATA };
enum tls_mode { TLSM_NONE, TLSM_STARTTLS, TLSM_STARTTLS_REQ, TLSM_IMPLICIT };

struct opts {
	const char *server;     /* -s HOST[:PORT] */
	const char *pipe_cmd;   /* --pipe */
	const char *dns;        /* --dns SERVER[:PORT] */
	int    port;            /* --port for MX hosts, 0: 25 */
	const char *from;       /* -f; NULL: user@host */
	const char *helo;       /* --helo; NULL: host name */
	enum tls_mode tls;
	const char *cafile;
	int    insecure;
	const char *auth_user;
	const char *auth_mech;
	const char *password;   /* read before connecting */
	int    plaintext_auth;
	int    lmtp, bdat, verbose, dry_run, timeout;
	enum stage quit_after;
	int    ret;             /* --ret: RET= (RFC 3461), DSN_RET_* */
	const char *envid;      /* --envid as xtext, NULL: none */
};

enum rstate { RS_PENDING, RS_OK, RS_TEMP, RS_PERM };

struct rcpt {
	const char *addr;
	enum rstate state;
	int    dataerr;         /* the message itself was refused (exit 65) */
	int    code;
	char   enh[16];
	char   text[SMTP_REPLY_MAX];
	char   host[300];       /* who answered */
	int    notify;          /* NOTIFY= bits (RFC 3461), 0: none */
	const char *orcpt;      /* ORCPT= value "rfc822;xtext", NULL: none */
	int    nodsn;           /* accepted by a server without DSN */
};

/* Where to talk: one connected peer. */
struct peer {
	int    rfd, wfd;
	pid_t  child;           /* --pipe */
	char   name[300];       /* "mx.example.org[192.0.2.1]:25" */
	char   host[256];       /* for TLS SNI and name check; "" for none */
	int    local;           /* loopback or pipe: plaintext AUTH is fine */
};

enum sess_rc { SESS_DONE, SESS_QUIT_AFTER, SESS_FAIL };

/* Run one SMTP (or LMTP) transaction with peer: greeting, EHLO, TLS, AUTH,
 * MAIL, RCPT, DATA/BDAT, QUIT.  Every pending recipient of rv gets a
 * state; a failure of the whole session (greeting, lost connection, 4xx
 * to MAIL) gives every pending recipient that reply.  ctx is the TLS
 * client context (NULL without TLS options).  SESS_FAIL when the session
 * failed before any recipient had an answer of its own (try another host). */
enum sess_rc smtp_session(const struct opts *o, struct peer *p, SSL_CTX *ctx,
    const char *from, const struct message *m, struct rcpt *rv, size_t n);

/* ---- connections (net.c) ---- */

/* Split "host", "host:port", "[v6]:port" into host and port (default dport). */
int hostport_split(const char *s, char *host, size_t hcap, int *port, int dport);
/* Connect to host:port trying every address in turn; fill p.  Return 0 or
 * -1 with a reason in err. */
int net_connect_host(const char *host, int port, int timeout, struct peer *p,
    char *err, size_t cap);
/* Connect to one address (text form) and port; name is the host name
 * for messages and TLS. */
int net_connect_addr(const char *name, const char *addr, int port, int timeout,
    struct peer *p, char *err, size_t cap);
/* Start sh -c cmd on two pipes; 0 or -1. */
int net_pipe(const char *cmd, struct peer *p, char *err, size_t cap);
/* Run argv (no shell) on two pipes, as net_pipe; with as, under those
 * ids for good (setgroups, setresgid, setresuid) before the exec. */
struct ids {
	uid_t uid;
	gid_t gid;
};
int net_spawn(char *const argv[], const struct ids *as, struct peer *p, char *err, size_t cap);
/* Copy bytes both ways between the client (in, out) and the peer until
 * the peer closes (sendmail -bs); the client's end of input is passed on.
 * -1 with err after timeout seconds of silence or an I/O error. */
int net_splice(struct peer *p, int in, int out, int timeout, char *err, size_t cap);
/* Close the peer and reap a --pipe child. */
void peer_close(struct peer *p);

/* ---- delivery (route.c) ---- */

/* Deliver m from `from` to every recipient of rv: through o->server or
 * o->pipe_cmd, else by MX of each recipient's domain (every address of
 * every host in order; the next host on connection failure or 4xx). */
void deliver(const struct opts *o, SSL_CTX *ctx, const char *from,
    const struct message *m, struct rcpt *rv, size_t n);
/* The exit code for the results: 65 > 69 > 75 > 0, worst wins. */
int rcpt_exit(const struct rcpt *rv, size_t n);

/* ---- the queue runner (queue.c) ---- */

struct qopts {
	const char *dir;
	int    retry_now;
	long   max_age;         /* seconds */
	long   delay_warn;      /* --delay-warning: seconds, 0: no delay reports */
};

/* Run the queue once; return an exit code (0 unless the queue is unusable). */
int queue_run(const struct opts *o, const struct qopts *q, SSL_CTX *ctx);

/* sendmail.c: the sendmail interface. */
#define SENDMAIL_QUEUE_DEFAULT "/var/spool/maillab"    /* -bp, -q without $MAILLAB_QUEUE */
/* Whether we run as sendmail, mailq or newaliases (argv[0]'s last part). */
int sendmail_invoked(const char *argv0);
/* Translate a sendmail command line into smtp-send's: the new argv in
 * *out (malloc'd array of argv's strings and constants, NULL-terminated),
 * its length returned.  Exits 64 on an option it cannot honour, 0 for
 * newaliases. */
int sendmail_argv(int argc, char **argv, char ***out);
/* --bs (sendmail -bs): the SMTP session on stdin/stdout, carried to the
 * server of -s or --pipe unchanged.  An exit status. */
int bs_session(const struct opts *o);
/* --list: the queue in DIR as mailq prints it, on f; an exit code. */
int queue_print(const char *dir, FILE *f);

#endif
