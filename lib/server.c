/* server.c — inetd and listening modes, peers, privileges (server.h).
 *
 * Design note: the listener takes its signals through a signalfd polled with
 * the listening sockets, so there is no handler and no global state: SIGCHLD
 * reaps, SIGTERM/SIGINT/SIGHUP stop (and pass SIGTERM on to the sessions
 * still running).  At SERVER_CHILDREN_MAX sessions it stops accepting and
 * lets the kernel's backlog hold new connections until a child ends.
 *
 * With reuse (server_listen_reuse, Postfix's max_use), a child that has
 * finished a session accepts the next client itself on the inherited
 * listening sockets, and the listener accepts only while no worker is
 * waiting: a busy server forks a worker now and then instead of once per
 * connection.
 *
 * Per-client limit: a table in memory shared by the listener and every
 * child holds, for each child (by the listener's pid of it), the address
 * of the client it serves.  Whoever accepts a connection (the listener or
 * a reusing worker) counts that address in the table first and turns the
 * client away when it already has per_client sessions.  The count is
 * approximate only when two processes accept from one address at the same
 * instant. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "server.h"

#define SERVER_BACKLOG      64
#define SERVER_DEFAULT_ADDR "127.0.0.1"
#define SERVER_DEFAULT_USER "mail"
#define SERVER_SOCKS_MAX    (SERVER_LISTEN_MAX * 4)  /* a name may give several addresses */
#define SERVER_BUSY_MS      100  /* pause after accept fails for want of resources */
#define SERVER_LOGLINE_MAX  1024 /* a stderr line sent to syslog; longer ones are split */
#define SERVER_PARENT_POLL_MS 1000 /* an idle worker checks its parent is alive */

/* Text form of a socket address; IPv4-mapped IPv6 is shown as IPv4. */
static void sa_text(const struct sockaddr_storage *ss, char *addr, size_t cap, int *port,
    int *loop)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;
		inet_ntop(AF_INET, &in->sin_addr, addr, cap);
		*port = ntohs(in->sin_port);
		*loop = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], addr, cap);
			*loop = in6->sin6_addr.s6_addr[12] == 127;
		} else {
			inet_ntop(AF_INET6, &in6->sin6_addr, addr, cap);
			*loop = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		}
		*port = ntohs(in6->sin6_port);
	} else {
		addr[0] = '\0';
		*port = 0;
		*loop = 1;      /* a UNIX socket: someone on this host */
	}
}

void server_peer(int fd, struct peer *p)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int loop;

	memset(p, 0, sizeof *p);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		p->loopback = 1;        /* a pipe or a tty: a local user */
		return;
	}
	sa_text(&ss, p->addr, sizeof p->addr, &p->port, &p->loopback);
	len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		sa_text(&ss, p->local_addr, sizeof p->local_addr, &p->local_port, &loop);
}

int server_plain_auth_arg(const char *arg)
{
	if (arg == NULL || strcmp(arg, "always") == 0)
		return PLAIN_ALWAYS;
	if (strcmp(arg, "loopback") == 0)
		return PLAIN_LOOPBACK;
	if (strcmp(arg, "never") == 0)
		return PLAIN_NEVER;
	return -1;
}

int server_plain_ok(int policy, const struct peer *p)
{
	return policy == PLAIN_ALWAYS || (policy == PLAIN_LOOPBACK && p->loopback);
}

/* stderr under inetd (server_inetd_stderr): a stdio stream whose lines go
 * to syslog.  It lives until the process ends. */
struct errlog {
	const char *farewell;           /* the line for the client, or NULL */
	pid_t  pid;                     /* the process the client talks to */
	int    said;                    /* a "prog: ..." diagnostic was logged */
	size_t len;
	char   line[SERVER_LOGLINE_MAX];
};

static void errlog_flush(struct errlog *l)
{
	size_t n = strlen(progname);
	const char *text = l->line;
	int prio = LOG_INFO;            /* the -v transcript */

	l->line[l->len] = '\0';
	l->len = 0;
	if (strncmp(text, progname, n) == 0 && strncmp(text + n, ": ", 2) == 0) {
		text += n + 2;          /* syslog names the program already */
		prio = LOG_ERR;
		l->said = 1;
	}
	syslog(LOG_MAIL | prio, "%s", text);
}

static ssize_t errlog_write(void *cookie, const char *p, size_t n)
{
	struct errlog *l = cookie;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			errlog_flush(l);
			continue;
		}
		if (l->len == sizeof l->line - 1)
			errlog_flush(l);
		l->line[l->len++] = p[i] == '\r' ? ' ' : p[i];
	}
	return (ssize_t)n;
}

/* on_exit: a startup failure is told to the client in its protocol. */
static void errlog_exit(int status, void *cookie)
{
	struct errlog *l = cookie;

	fflush(stderr);
	if (l->len > 0)
		errlog_flush(l);
	if (getpid() == l->pid && status >= EX__BASE && l->said && l->farewell != NULL) {
		ssize_t w = write(STDOUT_FILENO, l->farewell, strlen(l->farewell));
		(void)w;        /* the client may be gone: nothing more to do */
	}
}

static int same_socket(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && S_ISSOCK(sa.st_mode) &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int server_inetd_stderr(const char *farewell)
{
	static const cookie_io_functions_t io = { .write = errlog_write };
	struct errlog *l;
	FILE *f;
	int null;

	if (!same_socket(STDIN_FILENO, STDERR_FILENO))
		return 0;
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)
		return 0;       /* no way to silence fd 2: keep it (cannot happen) */
	/* The stream is never closed: stderr must work until the end. */
	if ((l = calloc(1, sizeof *l)) == NULL || (f = fopencookie(l, "w", io)) == NULL) {
		free(l);
		close(null);
		return 0;
	}
	l->farewell = farewell;
	l->pid = getpid();
	setvbuf(f, NULL, _IOLBF, 0);
	openlog(progname, LOG_PID, LOG_MAIL);
	fflush(stderr);
#ifndef __SANITIZE_ADDRESS__
	dup2(null, STDERR_FILENO);
#endif
	/* (Sanitizer builds keep fd 2: a report, written there directly,
	 * then reaches the test's client instead of vanishing.) */
	close(null);
	stderr = f;
	on_exit(errlog_exit, l);
	return 1;
}

int server_inetd(session_fn fn, void *arg)
{
	struct peer peer;

	signal(SIGPIPE, SIG_IGN);
	server_peer(STDIN_FILENO, &peer);
	return fn(STDIN_FILENO, STDOUT_FILENO, &peer, arg);
}

/* Split "PORT", "ADDR:PORT", "[V6]:PORT" or "*:PORT" into host (NULL for
 * any address) and port.  0, or -1 when malformed. */
static int split_addr(const char *spec, char *host, size_t cap, const char **port)
{
	const char *colon;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - spec - 1) >= cap)
			return -1;
		memcpy(host, spec + 1, end - spec - 1);
		host[end - spec - 1] = '\0';
		*port = end + 2;
	} else if ((colon = strrchr(spec, ':')) == NULL) {
		snprintf(host, cap, "%s", SERVER_DEFAULT_ADDR);
		*port = spec;
	} else {
		if ((size_t)(colon - spec) >= cap || strchr(spec, ':') != colon)
			return -1;      /* bare IPv6 must be bracketed */
		memcpy(host, spec, colon - spec);
		host[colon - spec] = '\0';
		*port = colon + 1;
	}
	if (**port == '\0' || strspn(*port, "0123456789") != strlen(*port) ||
	    atol(*port) > 65535)
		return -1;
	return 0;
}

static int bind_one(const struct addrinfo *ai, const char *spec)
{
	int fd, on = 1;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0) {
		warn_("socket for %s", spec);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SERVER_BACKLOG) < 0) {
		warn_("listen on %s", spec);
		close(fd);
		return -1;
	}
	return fd;
}

/* Bind spec, adding sockets to fds; return the new count or -1. */
static int bind_spec(const char *spec, int *fds, int nfds)
{
	struct addrinfo hints, *res, *ai;
	char host[256];
	const char *port;
	int rc, fd;

	if (split_addr(spec, host, sizeof host, &port) < 0) {
		warnx_("listen address %s: expected PORT, ADDR:PORT or [ADDR6]:PORT", spec);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(strcmp(host, "*") == 0 || host[0] == '\0' ? NULL : host, port,
	    &hints, &res);
	if (rc != 0) {
		warnx_("listen address %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && nfds < SERVER_SOCKS_MAX; ai = ai->ai_next) {
		if ((fd = bind_one(ai, spec)) < 0) {
			freeaddrinfo(res);
			return -1;
		}
		fds[nfds++] = fd;
	}
	freeaddrinfo(res);
	return nfds;
}

/* The signals the listener handles, blocked and read from a signalfd. */
static int signals_fd(sigset_t *old)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		warn_("signalfd");
	return fd;
}

/* One child's client in the shared table; pid 0: a free slot. */
struct slot {
	pid_t pid;
	unsigned char addr[16];         /* IPv6, IPv4 as ::ffff:a.b.c.d; all zero: none */
};

struct listener {
	struct pollfd pfd[SERVER_SOCKS_MAX + 1];   /* [0] is the signalfd */
	int    nfds;
	pid_t  child[SERVER_CHILDREN_MAX];
	char   idle[SERVER_CHILDREN_MAX];   /* reusing worker waiting for a client */
	int    nchild, nidle;
	int    status[2];               /* reusing workers report idle/busy here, or -1 */
	sigset_t oldmask;
	session_fn fn;
	void  *arg;
	int    max_use;                 /* sessions per child (1: no reuse) */
	worker_init_fn init;
	struct slot *slots;             /* SERVER_CHILDREN_MAX, shared; NULL: no limit */
	int    per_client;
	const char *busy;
};

/* The client address of socket fd as a slot key; 0, or -1 for a peer that
 * is not on IP (a UNIX socket: not limited). */
static int peer_key(int fd, unsigned char key[16])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6) {
		memcpy(key, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		return 0;
	}
	if (ss.ss_family != AF_INET)
		return -1;
	memset(key, 0, 10);
	key[10] = key[11] = 0xff;
	memcpy(key + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	return 0;
}

static struct slot *slot_of(const struct listener *l, pid_t pid)
{
	for (int i = 0; l->slots != NULL && i < SERVER_CHILDREN_MAX; i++)
		if (l->slots[i].pid == pid)
			return &l->slots[i];
	return NULL;
}

/* Whether the client on cfd may have one more session: if not, it gets
 * the busy line and cfd is closed.  When it may, its address goes into
 * the slot of child (when there is one yet). */
static int admit(const struct listener *l, int cfd, pid_t child)
{
	unsigned char key[16];
	struct slot *mine = child != 0 ? slot_of(l, child) : NULL;
	int n = 0;

	if (l->slots == NULL || peer_key(cfd, key) < 0)
		return 1;
	for (int i = 0; i < SERVER_CHILDREN_MAX; i++)
		n += l->slots[i].pid != 0 && &l->slots[i] != mine &&
		    memcmp(l->slots[i].addr, key, 16) == 0;
	if (n >= l->per_client) {
		char text[INET6_ADDRSTRLEN];

		if (l->busy != NULL)
			(void)!send(cfd, l->busy, strlen(l->busy), MSG_DONTWAIT | MSG_NOSIGNAL);
		inet_ntop(AF_INET6, key, text, sizeof text);
		warnx_("%s: too many connections (%d at once from one address); refused", text,
		    l->per_client);
		close(cfd);
		return 0;
	}
	if (mine != NULL)
		memcpy(mine->addr, key, 16);
	return 1;
}

static void reap(struct listener *l)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < l->nchild; i++)
			if (l->child[i] == pid) {
				struct slot *sl = slot_of(l, pid);

				if (sl != NULL)
					memset(sl, 0, sizeof *sl);
				l->nidle -= l->idle[i];
				l->child[i] = l->child[--l->nchild];
				l->idle[i] = l->idle[l->nchild];
				break;
			}
	}
}

/* Read pending signals: return 1 when the listener must stop. */
static int take_signals(struct listener *l)
{
	struct signalfd_siginfo si;
	int stop = 0;

	while (read(l->pfd[0].fd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap(l);
		else
			stop = 1;
	}
	return stop;
}

/* Reusing workers (server_listen_reuse).  Each tells the listener over a
 * SOCK_SEQPACKET pair when it starts and stops waiting for a client, so
 * the listener accepts (and forks) only while no worker is idle.  Every
 * worker holds the same end of the pair; the listener alone holds the
 * other, so when the listener ends, however it ends, that end hangs up and
 * idle workers exit instead of serving on for a dead listener. */
struct worker_state {
	pid_t worker;                   /* the listener's child (smtpd's root half) */
	int   idle;                     /* 1: waiting for a client */
};

static void tell(struct listener *l, pid_t worker, int idle)
{
	struct worker_state ws = { worker, idle };

	/* Blocking: a lost "busy" would leave the listener waiting for an
	 * idle worker that is not.  The listener reads at once; if it has
	 * gone, the send fails and the hang-up ends the worker. */
	while (send(l->status[1], &ws, sizeof ws, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static void take_status(struct listener *l)
{
	struct worker_state ws;

	while (recv(l->status[0], &ws, sizeof ws, MSG_DONTWAIT) == sizeof ws)
		for (int i = 0; i < l->nchild; i++)
			if (l->child[i] == ws.worker) {
				l->nidle += (ws.idle != 0) - l->idle[i];
				l->idle[i] = ws.idle != 0;
				break;
			}
}

/* The worker's epoll set: every listening socket, each connection waking
 * one waiter (EPOLLEXCLUSIVE), and the status socket, whose hang-up wakes
 * all.  -1 on failure. */
static int worker_epoll(const struct listener *l)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.u32 = 0 };

	if (ep < 0)
		return -1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l->status[1], &ev) < 0)
		goto fail;
	for (int i = 1; i < l->nfds; i++) {
		ev = (struct epoll_event){ .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, l->pfd[i].fd, &ev) < 0)
			goto fail;
	}
	return ep;
fail:
	warn_("epoll");
	close(ep);
	return -1;
}

/* Wait for the next client: its socket, or -1 to end this worker (idle
 * for SERVER_IDLE_SECS, listener gone, parent gone, out of descriptors:
 * the listener forks a new worker when it needs one).  The parent is
 * smtpd's root half for its protocol half: if it dies while its effective
 * uid is a recipient's, PR_SET_PDEATHSIG is not sent (the kernel checks
 * the dying process's credentials), so the worker looks for itself, every
 * SERVER_PARENT_POLL_MS and before each accept, and serves no one more. */
static int worker_accept(struct listener *l, int ep, pid_t worker, pid_t parent)
{
	struct epoll_event ev;
	int cfd = -1, n, waited = 0;

	tell(l, worker, 1);
	while (getppid() == parent) {
		n = epoll_wait(ep, &ev, 1, SERVER_PARENT_POLL_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && (waited += SERVER_PARENT_POLL_MS) < SERVER_IDLE_SECS * 1000)
			continue;
		if (n <= 0 || ev.data.u32 == 0 || getppid() != parent)
			break;
		cfd = accept4(l->pfd[ev.data.u32].fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd >= 0 && !admit(l, cfd, worker))
			continue;       /* turned away: wait for the next */
		if (cfd >= 0 || (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED))
			break;  /* a client, or accept failed for want of resources */
	}
	tell(l, worker, 0);
	return cfd;
}

noreturn static void run_child(struct listener *l, int cfd)
{
	struct peer peer;
	int rc, ep;
	pid_t worker = getpid(), parent;

	/* Start as inetd would: default dispositions for what the listener
	 * handles (a handler inherited from the caller must not run here). */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, &l->oldmask, NULL);
	close(l->pfd[0].fd);
	if (l->max_use <= 1) {
		for (int i = 1; i < l->nfds; i++)
			close(l->pfd[i].fd);
		/* Only the listener and reusing workers write the per-client
		 * table: a session (pop3d's login process) must not hold it. */
		if (l->slots != NULL)
			munmap(l->slots, SERVER_CHILDREN_MAX * sizeof *l->slots);
		server_peer(cfd, &peer);
		exit(l->fn(cfd, cfd, &peer, l->arg));
	}
	close(l->status[0]);
	if (l->init != NULL) {
		int fds[SERVER_SOCKS_MAX + 2], n = 0;

		for (int i = 1; i < l->nfds; i++)
			fds[n++] = l->pfd[i].fd;
		fds[n++] = cfd;
		fds[n++] = l->status[1];
		if (l->init(l->arg, fds, n) != 0)
			exit(EX_OSERR);
	}
	ep = worker_epoll(l);
	parent = getppid();     /* after init: smtpd's protocol half has a new one */
	for (int used = 1;; used++) {
		server_peer(cfd, &peer);
		rc = l->fn(cfd, cfd, &peer, l->arg);
		close(cfd);
		if (slot_of(l, worker) != NULL)         /* between clients: counts for none */
			memset(slot_of(l, worker)->addr, 0, 16);
		if (used >= l->max_use || rc != 0 || ep < 0 ||
		    (cfd = worker_accept(l, ep, worker, parent)) < 0)
			exit(rc);
	}
}

static void accept_one(struct listener *l, int lfd)
{
	int cfd;
	pid_t pid;

	if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
			return;
		int e = errno;
		warn_("accept");
		/* Out of descriptors or memory: the connection stays queued and
		 * poll would wake us at once; let the children finish some. */
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
			poll(NULL, 0, SERVER_BUSY_MS);
		return;
	}
	if (!admit(l, cfd, 0))
		return;
	/* The session runs on the socket as on fds 0/1 under inetd. */
	if (fcntl(cfd, F_SETFD, 0) < 0 || (pid = fork()) < 0) {
		warn_("fork");
		close(cfd);
		return;
	}
	if (pid == 0)
		run_child(l, cfd);
	struct slot *sl = slot_of(l, 0);        /* a free one: there are as many as children */

	if (sl != NULL) {
		sl->pid = pid;
		(void)peer_key(cfd, sl->addr);
	}
	l->idle[l->nchild] = 0;
	l->child[l->nchild++] = pid;
	close(cfd);
}

static void stop_children(struct listener *l)
{
	for (int i = 0; i < l->nchild; i++)
		kill(l->child[i], SIGTERM);
}

int server_listen(char *const *addrs, int n, session_fn fn, void *arg)
{
	return server_listen_reuse(addrs, n, fn, arg, 1, NULL);
}

int server_listen_reuse(char *const *addrs, int n, session_fn fn, void *arg, int max_use,
    worker_init_fn init)
{
	return server_listen_limits(addrs, n, fn, arg, max_use, init, NULL);
}

int server_listen_limits(char *const *addrs, int n, session_fn fn, void *arg, int max_use,
    worker_init_fn init, const struct server_limits *lim)
{
	struct listener l;
	int fds[SERVER_SOCKS_MAX], nfds = 0, sfd;

	memset(&l, 0, sizeof l);
	l.fn = fn;
	l.arg = arg;
	l.max_use = max_use;
	l.init = init;
	l.per_client = lim != NULL && lim->per_client > 0 ? lim->per_client : SERVER_PER_CLIENT_MAX;
	l.busy = lim != NULL ? lim->busy : NULL;
	if (lim != NULL && lim->verbose)
		warnx_("limits: %d sessions at once, %d from one address", SERVER_CHILDREN_MAX,
		    l.per_client);
	l.status[0] = l.status[1] = -1;
	if (n > SERVER_LISTEN_MAX) {
		warnx_("too many listen addresses (at most %d)", SERVER_LISTEN_MAX);
		return EX_USAGE;
	}
	for (int i = 0, k; i < n; i++) {
		if ((k = bind_spec(addrs[i], fds, nfds)) < 0) {
			while (nfds > 0)
				close(fds[--nfds]);
			return EX_UNAVAILABLE;
		}
		nfds = k;
	}
	if (max_use > 1 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l.status) < 0) {
		warn_("socketpair");
		l.status[0] = l.status[1] = -1;
		l.max_use = 1;          /* a process per connection, then */
	}
	/* Workers and listener race for each connection: nobody may block. */
	for (int i = 0; l.max_use > 1 && i < nfds; i++)
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	if (l.per_client < SERVER_CHILDREN_MAX &&
	    (l.slots = mmap(NULL, SERVER_CHILDREN_MAX * sizeof *l.slots, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		warn_("mmap");
		l.slots = NULL;         /* no per-client limit, but serve */
	}
	if ((sfd = signals_fd(&l.oldmask)) < 0) {
		while (nfds > 0)
			close(fds[--nfds]);
		if (l.slots != NULL)
			munmap(l.slots, SERVER_CHILDREN_MAX * sizeof *l.slots);
		return EX_OSERR;
	}
	signal(SIGPIPE, SIG_IGN);
	l.pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (int i = 0; i < nfds; i++)
		l.pfd[i + 1] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
	l.nfds = nfds + 1;
	for (;;) {
		/* At the limit, or while a reusing worker waits for clients,
		 * poll only the signalfd and the status socket: new clients
		 * wait in the backlog for a worker. */
		struct pollfd p[SERVER_SOCKS_MAX + 2];
		int np = 0, base, accepting = l.nchild < SERVER_CHILDREN_MAX && l.nidle == 0;

		p[np++] = l.pfd[0];
		if (l.status[0] >= 0)
			p[np++] = (struct pollfd){ .fd = l.status[0], .events = POLLIN };
		base = np;
		for (int i = 1; accepting && i < l.nfds; i++)
			p[np++] = l.pfd[i];
		if (poll(p, np, -1) < 0) {
			if (errno == EINTR)
				continue;
			warn_("poll");
			break;
		}
		if ((p[0].revents & POLLIN) && take_signals(&l))
			break;
		if (base > 1 && (p[1].revents & POLLIN)) {
			take_status(&l);
			continue;       /* a worker may have become idle */
		}
		for (int i = base; i < np; i++)
			if ((p[i].revents & POLLIN) && l.nchild < SERVER_CHILDREN_MAX)
				accept_one(&l, p[i].fd);
	}
	stop_children(&l);
	if (l.status[0] >= 0)
		close(l.status[0]), close(l.status[1]);
	for (int i = 0; i < l.nfds; i++)
		close(l.pfd[i].fd);
	if (l.slots != NULL)
		munmap(l.slots, SERVER_CHILDREN_MAX * sizeof *l.slots);
	sigprocmask(SIG_SETMASK, &l.oldmask, NULL);
	return EX_OK;
}

/* The unprivileged user runas (default "mail") the protocol runs as, or
 * NULL after printing why (no such user, or root itself). */
static struct passwd *run_user(const char *runas)
{
	const char *name = runas != NULL && *runas ? runas : SERVER_DEFAULT_USER;
	struct passwd *pw;

	if ((pw = getpwnam(name)) == NULL) {
		warnx_("user %s: no such user (needed to drop root privileges): create it, or name "
		    "an existing unprivileged account with --user", name);
		return NULL;
	}
	if (pw->pw_uid == 0) {
		warnx_("user %s: is root; refusing to run the protocol as root: name an "
		    "unprivileged account with --user (default mail)", name);
		return NULL;
	}
	return pw;
}

int server_drop_privs(const char *runas)
{
	struct passwd *pw;

	if (geteuid() != 0 && getuid() != 0)
		return 0;
	if ((pw = run_user(runas)) == NULL)
		return -1;
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		warn_("switch to user %s", pw->pw_name);
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		warnx_("user %s: root privileges could be regained; stopping", pw->pw_name);
		return -1;
	}
	return 0;
}

int server_become(uid_t uid, gid_t gid)
{
	uid_t r, e, s;

	if (uid == 0) {
		warnx_("refusing to access mail as root (uid 0): give the user the ids of an "
		    "ordinary account in the passwd-file (as root, maillab-user add uses the mail "
		    "account's) and make its mailbox that account's");
		return -1;
	}
	if (gid == 0) {         /* files owned by group root: refused as Dovecot does */
		warnx_("refusing to access mail as group root (gid 0): give the user its own "
		    "group in the gid field of the passwd-file");
		return -1;
	}
	getresuid(&r, &e, &s);
	if (r != 0 && e != 0 && s != 0)
		return 0;       /* an ordinary user: file permissions decide */
	if (e != 0 && seteuid(0) < 0) {
		warn_("regain root to switch to uid %lu", (unsigned long)uid);
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		warn_("switch to uid %lu gid %lu", (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	if (setuid(0) == 0) {
		warnx_("root privileges could be regained after switching to uid %lu; stopping",
		    (unsigned long)uid);
		return -1;
	}
	return 0;
}

void server_keep_dumpable(void)
{
#ifdef __SANITIZE_ADDRESS__
	prctl(PR_SET_DUMPABLE, 1);
#endif
}
