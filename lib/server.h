/* server.h — what the three servers share: inetd or listening mode, the
 * peer's address, privilege dropping.
 *
 * Default is inetd mode: one session on fds 0/1.  server_listen() binds
 * every -l [ADDR:]PORT (default address 127.0.0.1; "[::1]:PORT" for IPv6),
 * and forks one child per connection that runs the same session function
 * on the accepted socket, exactly as in inetd mode. */
#ifndef ML_SERVER_H
#define ML_SERVER_H

#include <netinet/in.h>
#include <sys/types.h>

#define SERVER_LISTEN_MAX   8    /* -l options */
#define SERVER_CHILDREN_MAX 100  /* concurrent sessions in listening mode */
#define SERVER_PER_CLIENT_MAX 50 /* sessions at once from one address (Postfix's anvil
                                    default), so one client cannot take them all */

struct peer {
	char addr[INET6_ADDRSTRLEN];    /* "127.0.0.1", "::1"; "" when not a socket */
	int  port;
	char local_addr[INET6_ADDRSTRLEN];
	int  local_port;
	int  loopback;                  /* peer on 127/8 or ::1, or not a socket (a pipe) */
	char name[256];                 /* reverse DNS name, or "" (not looked up by default) */
};

/* Runs one session on rfd/wfd; returns the child's exit status. */
typedef int (*session_fn)(int rfd, int wfd, const struct peer *peer, void *arg);

/* --plaintext-auth[=never|loopback|always]: when a password may be sent
 * without TLS.  loopback, the default, allows it from 127/8, ::1 and a
 * pipe, so a lab works without certificates; never refuses it even there,
 * to show what a client meets on the Internet (RFC 3207, 2595, 3501). */
enum plain_auth { PLAIN_LOOPBACK = 0, PLAIN_NEVER, PLAIN_ALWAYS };

/* The option's argument (NULL: the bare option, always) as a policy, or
 * -1 for a word that is none of the three. */
int server_plain_auth_arg(const char *arg);

/* May this peer send a password on a connection without TLS? */
int server_plain_ok(int policy, const struct peer *p);

/* Describe fd's peer (getpeername); for a pipe or tty, loopback = 1. */
void server_peer(int fd, struct peer *p);

/* inetd mode, before anything is printed (call it first in main): inetd,
 * xinetd and systemd (StandardError=inherit) give the server the client's
 * socket as fd 2 too, so a diagnostic would land inside the protocol
 * stream.  When fd 2 is the socket of fd 0, fd 2 becomes /dev/null (for
 * the programs we start as well) and stderr's lines go to syslog (mail
 * facility, as ident progname, LOG_ERR); and if the process then exits
 * with a status of sysexits.h (64 and up) after a "prog: ..." diagnostic,
 * the client gets farewell on fd 1 (one protocol-correct line, CRLF
 * included) instead of a silent close.  Return 1 if stderr was moved. */
int server_inetd_stderr(const char *farewell);

/* inetd mode: run fn on fds 0/1 with the peer of fd 0, SIGPIPE ignored
 * (a write error is seen as such).  Returns fn's status. */
int server_inetd(session_fn fn, void *arg);

/* Bind every address in addrs[0..n) ("PORT", "ADDR:PORT", "[ADDR6]:PORT",
 * "*:PORT" for all addresses; SO_REUSEADDR) and serve forever: accept,
 * fork, run fn in the child with the socket as both fds, SIGPIPE, SIGCHLD,
 * SIGTERM, SIGINT and SIGHUP at their defaults and the signal mask restored.  SIGCHLD reaps children; at most
 * SERVER_CHILDREN_MAX at once (more wait in the backlog).  SIGTERM, SIGINT
 * or SIGHUP stop the listener, which sends SIGTERM to running sessions and
 * returns EX_OK.  A set-up error returns EX_USAGE/EX_UNAVAILABLE/EX_OSERR
 * after printing it. */
int server_listen(char *const *addrs, int n, session_fn fn, void *arg);

#define SERVER_REUSE_MAX  10000  /* sessions one worker may serve (--max-use) */
#define SERVER_IDLE_SECS  100    /* a reusing worker idle this long exits (Postfix max_idle) */

/* Called once in each new worker of server_listen_reuse, before its first
 * session, with the descriptors a process that will serve no client must
 * close (the listening sockets and the first client's).  Return 0 to go
 * on serving in this process; a process that is not to serve clients
 * (smtpd's root half) closes them and never returns. */
typedef int (*worker_init_fn)(void *arg, const int *fds, int nfds);

/* As server_listen, but a child that has finished its session goes back
 * to accepting on the inherited listening sockets (non-blocking, woken one
 * at a time with EPOLLEXCLUSIVE) for up to max_use sessions in all, and
 * exits after SERVER_IDLE_SECS without a client, when a session returns
 * non-zero, or when the listener has ended.  The listener accepts only
 * while no worker waits, and forks a new worker for each connection it
 * accepts itself (at most SERVER_CHILDREN_MAX workers).  init (may be
 * NULL) runs once per worker.  max_use <= 1 is exactly server_listen. */
int server_listen_reuse(char *const *addrs, int n, session_fn fn, void *arg, int max_use,
    worker_init_fn init);

/* What server_listen_limits enforces beyond SERVER_CHILDREN_MAX. */
struct server_limits {
	int per_client;         /* sessions at once from one address; 0: SERVER_PER_CLIENT_MAX */
	const char *busy;       /* line sent (CRLF included) to a client over it, NULL: none */
	int verbose;            /* print the limits in effect on stderr at start */
};

/* As server_listen_reuse, with limits (NULL: the defaults, as the other
 * two use).  A connection from an address that already has per_client
 * sessions (the listener's children and the reusing workers' clients
 * together) gets the busy line and is closed at once, before any session
 * starts. */
int server_listen_limits(char *const *addrs, int n, session_fn fn, void *arg, int max_use,
    worker_init_fn init, const struct server_limits *lim);

/* If running as root: switch for good to user runas (default "mail"):
 * setgroups, setgid, setuid, and check that root cannot be regained.  A
 * no-op for an ordinary user.  Return 0, or -1 after printing why. */
int server_drop_privs(const char *runas);

/* Switch the effective ids to uid/gid to touch a user's mail (refusing
 * uid 0, as Dovecot does).  When root (real, effective or saved uid 0),
 * the switch is for good (groups, real, effective and saved ids), so call
 * it in the process that does that user's work (a session child, the MDA).
 * A no-op for an ordinary user: file permissions decide.  Return 0 or -1
 * after printing why. */
int server_become(uid_t uid, gid_t gid);

/* Sanitizer builds only: LeakSanitizer cannot trace a process whose ids
 * changed (not dumpable): server_keep_dumpable after each change of ids.
 * (pop3d and imapd started as root: privsep.h.) */
void server_keep_dumpable(void);

#endif
