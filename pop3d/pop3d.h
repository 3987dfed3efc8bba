/* pop3d.h — what main.c hands to the session: the configuration, and the
 * one entry point that runs a POP3 session (RFC 1939) on a pair of fds. */
#ifndef POP3D_H
#define POP3D_H

#include <openssl/ssl.h>

#include "server.h"

#define POP3_ERRORS_MAX  10     /* bad or unknown commands before we hang up (a flood) */
#define POP3_CMDS_MAX    100000 /* commands in one session, whatever they are */
#define POP3_APOP_MAX    32     /* APOP digest: 32 hex digits (RFC 1939 7) */
#define POP3_NUM_MAX     9      /* digits of a message number or line count */
#define POP3_IDLE_MAX    86400  /* --idle: a day; more is a typo (and overflows ms in poll) */

struct pop3d_cfg {
	const char *hostname;       /* in the greeting and the APOP timestamp */
	const char *users;          /* passwd-file, NULL: system accounts */
	const char *mailbox;        /* --mailbox template */
	const char *runas;          /* unprivileged user when started as root */
	SSL_CTX    *tls;            /* NULL: no STLS, no --tls */
	int         implicit_tls;   /* --tls: TLS from the first byte (pop3s) */
	int         plaintext_auth; /* enum plain_auth: passwords without TLS */
	int         require_tls;    /* --require-tls, i.e. --plaintext-auth=never */
	int         verbose;        /* transcript on stderr */
	int         use_syslog;     /* one line per login and logout */
	int         idle_secs;      /* autologout timer */
};

/* Run one session on rfd/wfd for peer (a session_fn of server.h): the
 * greeting, AUTHORIZATION, TRANSACTION and, on QUIT, UPDATE.  Returns the
 * process exit status (0 unless set-up failed). */
int pop3d_session(int rfd, int wfd, const struct peer *peer, void *cfg);

#endif
