/* net.c — getting a connection: TCP with a bounded connect, or a child
 * server on two pipes (--pipe, the inetd way). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "send.h"

int hostport_split(const char *s, char *host, size_t hcap, int *port, int dport)
{
	const char *colon, *hs = s;
	size_t hl;
	char *end;
	long p;

	*port = dport;
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL)
			return -1;
		hs = s + 1;
		hl = (size_t)(rb - hs);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] != '\0' && colon == NULL)
			return -1;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))    /* bare IPv6, no port */
			colon = NULL;
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= hcap)
		return -1;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (colon) {
		errno = 0;
		p = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || p < 1 || p > 65535)
			return -1;
		*port = (int)p;
	}
	return 0;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

/* Connect fd to sa within timeout seconds; 0 or -1 with errno. */
static int connect_timed(int fd, const struct sockaddr *sa, socklen_t len, int timeout)
{
	int fl = fcntl(fd, F_GETFL), r, e = 0;
	socklen_t el = sizeof e;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	r = connect(fd, sa, len);
	if (r < 0 && errno != EINPROGRESS)
		return -1;
	if (r < 0) {
		do
			r = poll(&p, 1, timeout * 1000);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			return -1;
		if (e != 0) {
			errno = e;
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fl);
	return 0;
}

static int try_ai(const struct addrinfo *ai, int timeout, struct peer *p,
    const char *host, int port, char *err, size_t cap)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	int fd;

	if (ai->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr, addr, sizeof addr);
	else if (ai->ai_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, addr, sizeof addr);
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0 ||
	    connect_timed(fd, ai->ai_addr, ai->ai_addrlen, timeout) < 0) {
		snprintf(err, cap, "connect %s[%s]:%d: %s", host, addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(p, 0, sizeof *p);
	p->rfd = p->wfd = fd;
	p->child = -1;
	p->local = is_loopback(ai->ai_addr);
	snprintf(p->name, sizeof p->name, "%s[%s]:%d", host, addr, port);
	snprintf(p->host, sizeof p->host, "%s", host);
	return 0;
}

static int connect_ai(const char *host, const char *name, int port, int flags, int timeout,
    struct peer *p, char *err, size_t cap)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = flags }, *res, *ai;
	char ps[16];
	int r;

	snprintf(ps, sizeof ps, "%d", port);
	if ((r = getaddrinfo(host, ps, &hints, &res)) != 0) {
		snprintf(err, cap, "%s: %s", host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (try_ai(ai, timeout, p, name, port, err, cap) == 0)
			break;
	freeaddrinfo(res);
	return ai ? 0 : -1;
}

int net_connect_host(const char *host, int port, int timeout, struct peer *p,
    char *err, size_t cap)
{
	return connect_ai(host, host, port, 0, timeout, p, err, cap);
}

int net_connect_addr(const char *name, const char *addr, int port, int timeout,
    struct peer *p, char *err, size_t cap)
{
	return connect_ai(addr, name, port, AI_NUMERICHOST, timeout, p, err, cap);
}

int net_pipe(const char *cmd, struct peer *p, char *err, size_t cap)
{
	int to[2], from[2];
	pid_t pid;

	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, cap, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* its own process group, so that a hung server and whatever
		 * its shell started can be stopped together */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);      /* both sides, whoever runs first */
	close(to[0]);
	close(from[1]);
	memset(p, 0, sizeof *p);
	p->rfd = from[0];
	p->wfd = to[1];
	p->child = pid;
	p->local = 1;
	snprintf(p->name, sizeof p->name, "pipe:%s", cmd);
	return 0;
}

int net_spawn(char *const argv[], const struct ids *as, struct peer *p, char *err, size_t cap)
{
	int to[2], from[2];
	pid_t pid;

	if (pipe2(to, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(from, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		close(to[0]), close(to[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, cap, "fork: %s", strerror(errno));
		close(to[0]), close(to[1]), close(from[0]), close(from[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		/* for good, before the exec: the server never gets more */
		if (as != NULL && (setgroups(1, &as->gid) < 0 ||
		    setresgid(as->gid, as->gid, as->gid) < 0 ||
		    setresuid(as->uid, as->uid, as->uid) < 0 || geteuid() != as->uid)) {
			dprintf(2, "smtp-send: cannot switch to uid %u: %s\n", (unsigned)as->uid,
			    strerror(errno));
			_exit(127);
		}
		execvp(argv[0], argv);
		dprintf(2, "smtp-send: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(to[0]);
	close(from[1]);
	memset(p, 0, sizeof *p);
	p->rfd = from[0];
	p->wfd = to[1];
	p->child = pid;
	p->local = 1;
	snprintf(p->name, sizeof p->name, "%s", argv[0]);
	return 0;
}

/* Write all of buf to fd; -1 on error. */
static int put_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, buf, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		buf += k;
		n -= (size_t)k;
	}
	return 0;
}

int net_splice(struct peer *p, int in, int out, int timeout, char *err, size_t cap)
{
	struct pollfd pf[2] = { { .fd = in, .events = POLLIN }, { .fd = p->rfd, .events = POLLIN } };
	char buf[IO_BUFSIZE];

	while (pf[1].fd >= 0) {
		int r = poll(pf, 2, timeout * 1000);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, cap, "%s", r == 0 ? "timeout" : strerror(errno));
			return -1;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t k;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if ((k = read(pf[i].fd, buf, sizeof buf)) < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				pf[i].fd = -1;
				/* the client is done: the server sees its end of input */
				if (i == 0 && p->wfd == p->rfd)
					shutdown(p->wfd, SHUT_WR);
				else if (i == 0)
					close(p->wfd), p->wfd = -1;
				continue;
			}
			if (put_all(i == 0 ? p->wfd : out, buf, (size_t)k) < 0) {
				snprintf(err, cap, "%s: %s", i == 0 ? "write to the server" :
				    "write to the client", strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

void peer_close(struct peer *p)
{
	if (p->rfd >= 0)
		close(p->rfd);
	if (p->wfd >= 0 && p->wfd != p->rfd)
		close(p->wfd);
	p->rfd = p->wfd = -1;
	if (p->child > 0) {
		int st, i;

		/* with its input closed an inetd server ends; one that hangs
		 * gets SEND_CHILD_WAIT_MS and then SIGTERM */
		for (i = 0; i < SEND_CHILD_WAIT_MS / 10; i++) {
			if (waitpid(p->child, &st, WNOHANG) != 0)
				break;
			usleep(10 * 1000);
		}
		if (i == SEND_CHILD_WAIT_MS / 10) {
			kill(-p->child, SIGTERM);
			while (waitpid(p->child, &st, 0) < 0 && errno == EINTR)
				;
		}
		p->child = -1;
	}
}
