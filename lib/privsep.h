/* privsep.h — privilege separation for pop3d and imapd before login.
 *
 * Started as root, a session is split in two processes before any client
 * byte is read:
 *
 *   the login process  reads and answers the client until it has logged
 *       in (the TLS handshake included).  Its real, effective and saved
 *       uids and gids are all those of the login account (--user, default
 *       PRIVSEP_USER), it has no supplementary groups and no_new_privs, so
 *       it has no way back to root.  It cannot read the passwd-file: it
 *       asks the helper, over a socketpair, one fixed-size request at a
 *       time.
 *   the helper  (the process the server forked for the connection, root)
 *       holds no client descriptor and reads nothing but those requests,
 *       each checked strictly (struct privsep_msg): is this password
 *       USER's, is this APOP or CRAM-MD5 digest right for the challenge
 *       the helper itself made.  After a yes it takes one START request for
 *       that same user, with the client's descriptor, becomes the user for
 *       good (all ids, groups), and runs the post-login session.
 *
 * Without TLS the login process passes the client's socket (SCM_RIGHTS)
 * with the bytes it has read ahead, and exits.  With TLS it keeps the TLS
 * session and relays plaintext between the client and the post-login
 * session over a socketpair until either end closes (the model of
 * Dovecot's login processes): the session keys never reach a process that
 * runs as a mail user.
 *
 * Not started as root there is nothing to separate: the session runs in
 * one process, as before. */
#ifndef ML_PRIVSEP_H
#define ML_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "conn.h"
#include "limits.h"
#include "sasl.h"

#define PRIVSEP_USER       "nobody"     /* login account: owns no mail, no spool group */
#define PRIVSEP_MAGIC      0x6d6c7073u  /* "mlps", first field of every message */
#define PRIVSEP_NAME_MAX   256          /* AUTH_NAME_MAX + NUL */
#define PRIVSEP_SECRET_MAX 1024         /* a password, NUL included; longer ones fail */
#define PRIVSEP_DIGEST_MAX 64           /* 32 hex digits, NUL, zero padding */
#define PRIVSEP_STATE_MAX  256          /* the protocol's state carried across login */
#define PRIVSEP_TEXT_MAX   256          /* a challenge in a reply */
#define PRIVSEP_FAILS_MAX  (AUTH_FAIL_MAX * 2) /* wrong logins the helper answers at all */

/* Request types (login process to helper). */
enum privsep_type {
	PRIVSEP_PASSWORD = 1,   /* user, secret = password */
	PRIVSEP_APOP,           /* user, digest = MD5(stamp secret) in lower-case hex */
	PRIVSEP_CHALLENGE,      /* nothing: the reply's text is a new CRAM-MD5 challenge */
	PRIVSEP_CRAM,           /* user, digest = HMAC-MD5 of that challenge, lower case */
	PRIVSEP_START           /* user (the one just accepted), tls, state, pending; 1 or 2 fds */
};

/* Every request is exactly this, in host byte order; every byte a type
 * does not use is zero, every string ends in NUL within its field and is
 * zero after it.  Anything else ends the session. */
struct privsep_msg {
	uint32_t magic;
	uint32_t type;
	char     user[PRIVSEP_NAME_MAX];
	char     secret[PRIVSEP_SECRET_MAX];
	char     digest[PRIVSEP_DIGEST_MAX];
	uint32_t tls;                   /* START: 1 if the fd is the TLS relay */
	uint32_t nfds;                  /* START: 1 (a socket) or 2 (inetd's two pipes) */
	uint32_t nstate, npending;
	unsigned char state[PRIVSEP_STATE_MAX];
	unsigned char pending[CONN_BUFSIZE];
};

/* The helper's answer: ok 1 yes, 0 no; text is the challenge. */
struct privsep_reply {
	uint32_t magic;
	uint32_t type;
	uint32_t ok;
	char     text[PRIVSEP_TEXT_MAX];
};

/* What the post-login session is given. */
struct privsep_handoff {
	int rfd, wfd;                   /* the client: its socket, or the relay */
	int tls;                        /* the client is under TLS (kept by the login process) */
	size_t nstate, npending;
	unsigned char state[PRIVSEP_STATE_MAX];
	unsigned char pending[CONN_BUFSIZE];    /* client bytes read ahead, not yet used */
};

/* The post-login session, in the helper once it has tried to become the
 * user (became 0: it could not, and the session says so to the client and
 * ends).  Returns the exit status. */
typedef int (*privsep_post_fn)(const struct privsep_handoff *h, const struct user *u,
    int became, void *arg);

struct privsep_cfg {
	const char *users;              /* passwd-file, NULL: the system accounts */
	const char *runas;              /* login account, NULL: PRIVSEP_USER */
	const char *hostname;           /* in the challenges */
	const char *peer;               /* client address for logs */
	int   fail_delay;               /* seconds the helper waits before each "no" */
	privsep_post_fn post;
	void *arg;
};

/* The login process's side. */
struct privsep {
	int  fd;                        /* the helper socket */
	char stamp[PRIVSEP_TEXT_MAX];   /* the APOP timestamp the helper made */
	struct sasl_check check;        /* SASL through the helper */
	int  handed;                    /* privsep_handoff ran: the session is the helper's */
};

enum privsep_rc {
	PRIVSEP_OFF,                    /* not root: run the whole session here */
	PRIVSEP_LOGIN,                  /* in the login process: run the pre-login part */
	PRIVSEP_DONE,                   /* in the helper: the session is over, *status set */
	PRIVSEP_FAIL                    /* could not split (printed): refuse the client */
};

/* If root, split as above.  rfd/wfd are the client. */
enum privsep_rc privsep_start(const struct privsep_cfg *cfg, int rfd, int wfd, struct privsep *ps,
    int *status);

/* The pre-login part of a session, in the login process (ps NULL when not
 * separated); arg is the cfg's.  Returns the exit status. */
typedef int (*privsep_login_fn)(int rfd, int wfd, struct privsep *ps, void *arg);

/* A whole session: split if root (privsep_start), then login in the login
 * process, or here when there is nothing to separate; the cfg's post runs in
 * the helper.  0 with *status set; -1 when it could not split (printed):
 * the caller refuses the client in its protocol's words. */
int privsep_run(const struct privsep_cfg *cfg, int rfd, int wfd, privsep_login_fn login,
    int *status);

/* Login process: ask the helper.  1 yes, 0 no, -1 the helper is gone. */
int privsep_password(struct privsep *ps, const char *user, const char *pass);
int privsep_apop(struct privsep *ps, const char *user, const char *hex);

/* Login process, after a yes for user: hand the client to the helper
 * (output flushed, read-ahead bytes passed on), then, under TLS, relay
 * until the session ends.  idle bounds a write to a client that does not
 * read.  Returns the login process's exit status. */
int privsep_handoff(struct privsep *ps, struct conn *c, const char *user, const void *state,
    size_t nstate, int idle);

/* Post-login: put the read-ahead bytes back in front of c's input. */
void privsep_preload(struct conn *c, const struct privsep_handoff *h);

#endif
