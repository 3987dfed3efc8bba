/* smtpd.h — the SMTP/LMTP server: configuration, per-connection session,
 * and the entry points of its modules.
 *
 *   main.c     options -> struct config, then smtpd_run()
 *   session.c  the command table, dispatcher, state changes, replies
 *   data.c     DATA (dot-stuffing, no smuggling) and BDAT message input
 *   addr.c     RFC 5321 paths, local domains, CIDR lists
 *   deliver.c  Received:, filter, MDA, queue, the post-DATA replies
 *   policy.c   relay rules, DNSBL, greylisting
 *   log.c      one Postfix-style log line per message
 *   dsn.c      success reports for local delivery (NOTIFY=SUCCESS)
 *   defer.c    local recipients that failed temporarily, queued (--queue) */
#ifndef SMTPD_H
#define SMTPD_H

#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "buf.h"
#include "conn.h"
#include "dsn.h"
#include "limits.h"
#include "queue.h"
#include "server.h"

/* smtpd's own limits (the protocol ones are in lib/limits.h). */
#define SMTPD_SIZE_DEFAULT   (10 * 1024 * 1024) /* like Postfix's message_size_limit */
#define SMTPD_AUTH_LINE_MAX  12288   /* RFC 4954 4: AUTH command line incl. CRLF */
#define SMTPD_DOMAINS_MAX    64      /* --domains entries */
#define SMTPD_NETS_MAX       64      /* --relay-from entries */
#define SMTPD_DNSBL_MAX      8       /* --dnsbl zones */
#define SMTPD_CHILD_SECS     (5 * 60) /* an MDA or filter run, before it is killed */
#define SMTPD_FILTER_OUT_MAX (SMTPD_SIZE_DEFAULT * 2) /* filter output we read */
#define SMTPD_GREYLIST_DELAY (5 * 60) /* Postgrey's default: 300 s */
#define SMTPD_GREYLIST_MAXAGE (35 * 24 * 3600) /* a triplet is forgotten after 35 days */
#define SMTPD_REASON_MAX     256     /* DNSBL TXT reasons we quote */
#define SMTPD_MAX_USE        100     /* --max-use: sessions per process, as Postfix's max_use */
/* --max-hops: a message arriving with more Received: fields than this is
 * refused (554 5.4.6), so a routing loop ends.  RFC 5321 6.3 asks for "a
 * large rejection threshold, normally at least 100"; Postfix's
 * hopcount_limit (50), Exim's received_headers_max (30) and Sendmail's
 * MaxHopCount (25) are lower, but we follow the RFC's figure. */
#define SMTPD_MAX_HOPS       100
#define SMTPD_HOPS_CAP       100000  /* largest --max-hops we take */

struct cidr {
	int family;                     /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct config {
	char   hostname[256];
	const char *users;              /* passwd-file, NULL: system accounts */
	const char *mailbox;            /* template, NULL: maildeliver's default */
	const char *mda;                /* --mda command, NULL: deliver in-process */
	const char *smtp_send;          /* the queue runner to start, "" if absent */
	const char *queue;              /* spool for relayed mail, NULL: no relaying */
	const char *runas;              /* --user */
	const char *cert, *key;
	const char *dns_server;         /* --dns for DNSBL lookups */
	const char *greylist;           /* directory */
	const char *filter;             /* shell command */
	const char *dnsbl[SMTPD_DNSBL_MAX];
	size_t ndnsbl;
	char  *domains[SMTPD_DOMAINS_MAX];
	size_t ndomains;
	struct cidr nets[SMTPD_NETS_MAX];
	size_t nnets;
	char  *listen[SERVER_LISTEN_MAX];
	int    nlisten;
	int    tls, lmtp, submission, plaintext_auth, verbose, syslog;
	long long max_size;
	int    max_rcpt;
	int    cmd_timeout, data_timeout;
	int    greylist_delay;
	int    max_use;                 /* --max-use: sessions per worker process */
	int    max_hops;                /* --max-hops: Received: fields a message may carry */
	int    per_client;              /* --max-per-client, 0: SERVER_PER_CLIENT_MAX */
	int    worker_chan;             /* a reusing worker's channel to its root half, or -1 */
	SSL_CTX *ssl;
	int    authres, authres_policy;  /* --authres, --authres-policy (authres.c) */
	struct authres_signer *signer;  /* --dkim-sign, or NULL */
	const char *aliases;            /* --aliases: aliases(5) table (expand.c) */
	int    expn;                    /* --expn: EXPN lists a list's members */
	int    no_forward;              /* --no-forward: ignore ~/.forward */
	int    list_headers;            /* --list-headers: List-Id and friends on list copies */
	int    quota_bounce;            /* --quota-bounce: over quota is 552 5.2.2, not 452 4.2.2 */
};

/* Session states (a bit each, so the command table can list several). */
enum {
	S_INIT = 1,     /* greeted, no HELO/EHLO yet */
	S_GREET = 2,    /* HELO/EHLO done, no transaction */
	S_MAIL = 4,     /* MAIL accepted */
	S_RCPT = 8,     /* at least one RCPT accepted */
	S_BDAT = 16     /* inside a BDAT sequence */
};

struct rcpt {
	char addr[SMTP_PATH_MAX + 1];
	int  local;                     /* to the MDA, else relayed through the queue */
	int  alias;                     /* local: an alias (--aliases), delivered through it */
	int  deferred;                  /* local: failed for now, queued for a retry (defer.c) */
	struct user user;               /* local: who */
	int  code;                      /* result after DATA: 250, 451, 550... */
	char reply[SMTP_REPLY_MAX];     /* "2.0.0 Ok ..." text after the code */
	int  notify;                    /* RCPT NOTIFY= (RFC 3461), DSN_* bits */
	char orcpt[DSN_ORCPT_MAX + 1];  /* RCPT ORCPT= as received, or "" */
};

struct session {
	const struct config *cfg;
	struct conn conn;
	struct peer peer;
	int    state;
	int    esmtp;                   /* EHLO/LHLO, not HELO */
	int    quit;                    /* close after this reply */
	int    errors;                  /* bad commands so far */
	int    auth_failures;
	char   helo[SMTP_CMD_MAX];
	char   authuser[AUTH_NAME_MAX + 1];
	/* DNSBL verdict for this client, looked up once */
	int    dnsbl_done, dnsbl_listed;
	char   dnsbl_reason[SMTPD_REASON_MAX];
	/* the transaction */
	char   from[SMTP_PATH_MAX + 1];
	int    utf8;                    /* MAIL ... SMTPUTF8 */
	int    body8;                   /* BODY=8BITMIME */
	int    ret;                     /* MAIL RET= (RFC 3461), DSN_RET_* */
	char   envid[DSN_ENVID_MAX * 3 + 1];   /* MAIL ENVID= as received (xtext) */
	struct rcpt *rcpt;
	size_t nrcpt;
	struct buf msg;                 /* the message, LF line ends (BDAT: raw until LAST) */
	char   id[QUEUE_ID_MAX];
	size_t size;                    /* of the message delivered, for logs */
	int    privsep;                 /* channel to the root half, or -1 */
	int    privsep_gone;            /* the root half has gone: serve no more sessions */
	int    spf_result;              /* --authres: SPF at MAIL FROM (enum ar_result) */
	char   spf_ar[SMTP_CMD_MAX + 64];      /* its "spf=... smtp.mailfrom=..." */
};

/* main.c hands over here: inetd mode or listening.  Returns an exit code. */
int smtpd_run(struct config *cfg);
/* One session on rfd/wfd (server_listen's session_fn). */
int smtpd_session(int rfd, int wfd, const struct peer *peer, void *cfg);

/* dsn.c: queue the success reports owed for the local recipients
 * delivered with NOTIFY=SUCCESS (the runner sends them); 1 if queued. */
int dsn_local_success(struct session *s, const struct buf *m);

/* defer.c: with --queue, in SMTP, queue the local recipients whose
 * delivery failed temporarily for a later retry through smtpd --lmtp and
 * turn their 4xx into 250 (issue 15, store and forward). */
void defer_local(struct session *s, const struct buf *m);
/* Record in e how smtpd delivers locally (lib/queue.h "local-arg"). */
void queue_local_args(const struct config *cfg, struct queue_env *e);

/* session.c */
void reply(struct session *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void set_state(struct session *s, int state);
void transaction_reset(struct session *s);
/* Count a client error; after SMTP_ERRORS_MAX, say 421 and end. */
void client_error(struct session *s);

/* data.c: read the DATA text up to CRLF.CRLF into s->msg (LF line ends,
 * dots unstuffed).  Returns 0 and fills *code/reply on a refused message
 * (code 0: fine), -1 when the connection broke. */
int data_read(struct session *s, int *code, char *why, size_t cap);
/* BDAT n [LAST] (RFC 3030). */
void cmd_bdat(struct session *s, char *args);
/* CRLF -> LF over b, in place (BDAT data). */
void crlf_to_lf(struct buf *b);

/* addr.c */
/* Parse "<path>" at *p (RFC 5321 4.1.2; source routes dropped); utf8:
 * SMTPUTF8 allowed.  Fill out (no brackets); advance *p.  NULL or a static
 * reason. */
const char *parse_path(char **p, char *out, size_t cap, int utf8, int null_ok);
/* The domain part of addr ("" if none). */
const char *addr_domain(const char *addr);
int domain_is_local(const struct config *cfg, const char *domain);
/* "10.0.0.0/8" or "::1/128" or a plain address. 0 or -1. */
int cidr_parse(const char *text, struct cidr *c);
int cidr_match(const struct cidr *c, size_t n, const char *addr);
/* Whether s holds any byte >= 0x80. */
int has_8bit(const char *s);

/* deliver.c: deliver s->msg to every accepted recipient and reply. */
void deliver_message(struct session *s);
/* expand.c: --aliases.  At RCPT: 1 when addr's local part is an alias
 * (the recipient is accepted and delivered through it), 0 when not, -1
 * after a reply (a loop, an unreadable table or :include: file). */
int rcpt_alias(struct session *s, const char *addr);
/* After local delivery: queue the members in other domains of each alias
 * recipient delivered (sender owner-NAME for a list); 1 if any queued. */
int alias_relay(struct session *s, const struct buf *m);
/* --list-headers: when addr is a list (an alias with an owner-NAME alias),
 * copy m into out with List-Id (RFC 2919), List-Post, List-Help and
 * List-Owner (RFC 2369) after our Received: line and return 1; else 0. */
int list_copy(const struct session *s, const char *addr, const struct buf *m, struct buf *out);
/* RFC 3461 6.2.7: whether the alias addr expands to more than one member
 * (a list: its success report says "expanded"; one member is a forward). */
int alias_is_list(const struct session *s, const char *addr);
/* The EXPN command (RFC 5321 3.5.2, 7.3: only with --expn). */
void expn_reply(struct session *s, const char *arg);
/* Whether domain is one of ours, as an alias_local_fn (ctx: the config). */
int alias_domain_local(const void *ctx, const char *domain);

/* handoff.c: when the client's message starts with a "Delivered-To: rcpt"
 * above every Received: (the handing MTA's, for this delivery), copy m (the
 * message as built for delivery, s->msg at its end) into out without it and
 * return 1; else 0 and out is untouched. */
int handoff_copy(const struct session *s, const char *rcpt, const struct buf *m, struct buf *out);
/* The RFC 5321 4.4 trace field for this session into b. */
void received_line(struct session *s, struct buf *b, const char *rcpt);
/* Whether the header block of an LF message has field name (case-insensitive). */
int header_has(const char *msg, size_t len, const char *name);
/* How many fields called name the header block of an LF message has. */
size_t header_count(const char *msg, size_t len, const char *name);

/* Run the MDA for one recipient with the message on fd; its stderr
 * (first bytes) into err.  The exit status, 128+signal, or -1. */
int mda_exec(const struct config *cfg, const char *sender, const char *rcpt, int fd,
    struct buf *err);

/* Deliver locally in-process (no --mda): lib/deliver, maildeliver's code,
 * the message from msg or else from fd; as root in a forked child that
 * becomes the recipient.  Returns a sysexits status as the MDA would. */
int local_deliver(const struct config *cfg, const char *sender, const char *rcpt, int fd,
    const struct buf *msg, struct buf *err);

/* privsep.c: started as root, a session splits; see there. */
/* Fork the protocol half.  Returns its pid in the root half (which then
 * calls privsep_serve), 0 in the protocol half, -1 on error; *chan is
 * each half's end of the channel. */
pid_t privsep_fork(int *chan);
/* The root half: run the MDA for each request until the protocol half
 * ends; return its exit status. */
int privsep_serve(const struct config *cfg, int chan, pid_t child);
/* The protocol half: ask root to deliver fd's message; as mda_exec. */
int privsep_deliver(int chan, const char *sender, const char *rcpt, int fd, struct buf *err);

/* policy.c */
int relay_allowed(const struct session *s);
/* 0 pass; else a 5xx code with the reply text in why. */
int dnsbl_check(struct session *s, char *why, size_t cap);
/* 0 pass, 451 to defer (greylisted), -1 error (pass, logged). */
int greylist_check(struct session *s, const char *rcpt);

/* authres.c: --authres, --authres-policy, --dkim-sign.  authres_option
 * takes one of them (opt without dashes; exits on a bad one).
 * authres_mail checks SPF at MAIL FROM: 0, or -1 after replying (refused).
 * authres_message checks (or, for an authenticated user, signs) the
 * message m and prepends the field: 0, or a reply code with the text in why. */
struct authres_signer;
int authres_option(struct config *c, const char *opt, const char *arg);
int authres_mail(struct session *s);
int authres_message(struct session *s, struct buf *m, char *why, size_t cap);

/* log.c: one line to syslog (--syslog) and stderr (-v); nothing else. */
void log_open(const struct config *cfg);
void log_line(const struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The per-message line after delivery. */
void log_delivery(const struct session *s);

#endif
