/* test_server.c — lib/server.c: peers, listening mode, privileges. */
#include <arpa/inet.h>
#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "server.h"

const char *const progname = "test_server";

START_TEST(peer_pipe)
{
	int p[2];
	struct peer pe;

	ck_assert_int_eq(pipe(p), 0);
	server_peer(p[0], &pe);
	ck_assert_int_eq(pe.loopback, 1);
	ck_assert_str_eq(pe.addr, "");
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The session: say who the peer is, then echo one line. */
static int session(int rfd, int wfd, const struct peer *pe, void *arg)
{
	char buf[128];
	ssize_t n;

	dprintf(wfd, "%s %s %d %s\n", (const char *)arg, pe->addr, pe->loopback,
	    pe->local_addr);
	if ((n = read(rfd, buf, sizeof buf)) > 0)
		write(wfd, buf, n);
	return 0;
}

static int connect_to(int family, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i;

	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		inet_pton(AF_INET, addr, &in->sin_addr);
		len = sizeof *in;
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &in6->sin6_addr);
		len = sizeof *in6;
	}
	for (i = 0; i < 100; i++) {
		fd = socket(family, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&ss, len) == 0)
			return fd;
		close(fd);
		usleep(20000);
	}
	return -1;
}

static void talk(int fd, const char *want)
{
	char buf[256];
	ssize_t n, got = 0;

	ck_assert_int_ge(fd, 0);
	write(fd, "ping\n", 5);
	while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	ck_assert_str_eq(buf, want);
	close(fd);
}

START_TEST(listen_fork)
{
	int port = 22000 + 1000 + getpid() % 900;
	char a4[32], a6[32];
	char *addrs[2] = { a4, a6 };
	pid_t pid;
	int st;

	snprintf(a4, sizeof a4, "%d", port);            /* default 127.0.0.1 */
	snprintf(a6, sizeof a6, "[::1]:%d", port);
	if ((pid = fork()) == 0)
		_exit(server_listen(addrs, 2, session, "hi"));
	talk(connect_to(AF_INET, "127.0.0.1", port), "hi 127.0.0.1 1 127.0.0.1\nping\n");
	talk(connect_to(AF_INET6, "::1", port), "hi ::1 1 ::1\nping\n");
	talk(connect_to(AF_INET, "127.0.0.1", port), "hi 127.0.0.1 1 127.0.0.1\nping\n");
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), EX_OK);
}
END_TEST

/* Hold the connection until the client closes it. */
static int hold(int rfd, int wfd, const struct peer *pe, void *arg)
{
	char c;

	(void)pe;
	(void)arg;
	if (write(wfd, "hi\n", 3) != 3)
		return 1;
	while (read(rfd, &c, 1) > 0)
		;
	return 0;
}

/* Whether fd has something to read within ms. */
static int readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

START_TEST(listen_limit_and_stop)
{
	int port = 22000 + 1900 + getpid() % 90;
	char a4[32], buf[8];
	char *addrs[1] = { a4 };
	int fds[SERVER_CHILDREN_MAX + 1];
	pid_t pid;
	int st;

	struct server_limits lim = { SERVER_CHILDREN_MAX, NULL, 0 };   /* all from 127.0.0.1 */

	snprintf(a4, sizeof a4, "127.0.0.1:%d", port);
	if ((pid = fork()) == 0)
		_exit(server_listen_limits(addrs, 1, hold, NULL, 1, NULL, &lim));
	for (int i = 0; i < SERVER_CHILDREN_MAX; i++) {
		fds[i] = connect_to(AF_INET, "127.0.0.1", port);
		ck_assert_int_ge(fds[i], 0);
		ck_assert(readable(fds[i], 5000));
		ck_assert_int_eq(read(fds[i], buf, sizeof buf), 3);
	}
	/* One more waits in the backlog: no session until one ends. */
	fds[SERVER_CHILDREN_MAX] = connect_to(AF_INET, "127.0.0.1", port);
	ck_assert_int_ge(fds[SERVER_CHILDREN_MAX], 0);
	ck_assert(!readable(fds[SERVER_CHILDREN_MAX], 300));
	close(fds[0]);
	ck_assert(readable(fds[SERVER_CHILDREN_MAX], 5000));
	ck_assert_int_eq(read(fds[SERVER_CHILDREN_MAX], buf, sizeof buf), 3);
	/* SIGTERM stops the listener and the sessions still running. */
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), EX_OK);
	for (int i = 1; i <= SERVER_CHILDREN_MAX; i++) {
		ck_assert(readable(fds[i], 5000));
		ck_assert_int_eq(read(fds[i], buf, sizeof buf), 0);   /* EOF */
		close(fds[i]);
	}
}
END_TEST

/* --max-per-client: three sessions from 127.0.0.1, the fourth is told
 * and closed at once, 127.0.0.2 still gets in; when one of the three
 * ends, 127.0.0.1 may come back.  With and without reusing workers. */
static int connect_from(const char *src, int port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	inet_pton(AF_INET, src, &me.sin_addr);
	if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
	    connect(fd, (struct sockaddr *)&in, sizeof in) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

START_TEST(listen_per_client)
{
	int port = 22000 + 1800 + getpid() % 90;
	char a4[32], buf[16];
	char *addrs[1] = { a4 };
	struct server_limits lim = { 3, "busy\r\n", 0 };
	int fds[5];
	pid_t pid;

	snprintf(a4, sizeof a4, "127.0.0.1:%d", port + _i);
	if ((pid = fork()) == 0)
		_exit(server_listen_limits(addrs, 1, hold, NULL, _i ? 5 : 1, NULL, &lim));
	ck_assert_int_ge(fds[0] = connect_to(AF_INET, "127.0.0.1", port + _i), 0);
	for (int i = 0; i < 5; i++) {
		if (i > 0)
			ck_assert_int_ge(fds[i] = connect_from(i == 4 ? "127.0.0.2" : "127.0.0.1",
			    port + _i), 0);
		ck_assert(readable(fds[i], 5000));
		ck_assert_int_gt(read(fds[i], buf, sizeof buf), 0);
		ck_assert_int_eq(memcmp(buf, i == 3 ? "busy\r\n" : "hi\n", 3), 0);
	}
	ck_assert_int_eq(read(fds[3], buf, sizeof buf), 0);     /* closed */
	close(fds[3]);
	close(fds[0]);
	/* once the session has ended, its slot frees: retry until then */
	for (int tries = 0;; tries++) {
		ck_assert_int_lt(tries, 50);
		ck_assert_int_ge(fds[0] = connect_from("127.0.0.1", port + _i), 0);
		ck_assert(readable(fds[0], 5000));
		ck_assert_int_gt(read(fds[0], buf, 3), 0);
		if (memcmp(buf, "hi\n", 3) == 0)
			break;
		close(fds[0]);
		usleep(100000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 5; i++)
		if (i != 3)
			close(fds[i]);
}
END_TEST

/* A reusing worker's session: say our pid and how many times init ran in
 * this process, then hold until the client closes. */
static int inits;

static int init_count(void *arg, const int *fds, int nfds)
{
	(void)arg;
	ck_assert_int_ge(nfds, 3);      /* listening socket, client, status */
	for (int i = 0; i < nfds; i++)
		ck_assert_int_ge(fds[i], 0);
	inits++;
	return 0;
}

static int whoami(int rfd, int wfd, const struct peer *pe, void *arg)
{
	char c;

	(void)pe;
	(void)arg;
	dprintf(wfd, "%ld %d\n", (long)getpid(), inits);
	while (read(rfd, &c, 1) > 0)
		;
	return 0;
}

/* Connect, read "pid inits", close; the pid of the worker that served. */
static long served_by(int port, int *ninit)
{
	char buf[64];
	long pid = -1;
	int fd = connect_to(AF_INET, "127.0.0.1", port);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert(readable(fd, 5000));
	n = read(fd, buf, sizeof buf - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_int_eq(sscanf(buf, "%ld %d", &pid, ninit), 2);
	close(fd);
	usleep(300000);                 /* the worker is waiting again */
	return pid;
}

START_TEST(listen_reuse)
{
	int port = 22000 + 2000 + getpid() % 90, ninit;
	char a4[32], buf[8];
	char *addrs[1] = { a4 };
	int fds[SERVER_CHILDREN_MAX + 1];
	long w[4];
	pid_t pid;
	int st;

	/* every client here is 127.0.0.1: no per-client limit below the total */
	struct server_limits lim = { SERVER_CHILDREN_MAX, NULL, 0 };

	snprintf(a4, sizeof a4, "127.0.0.1:%d", port);
	if ((pid = fork()) == 0)
		_exit(server_listen_limits(addrs, 1, whoami, NULL, 3, init_count, &lim));
	/* One worker serves three sessions, init once; the fourth client gets
	 * a new worker. */
	for (int i = 0; i < 4; i++) {
		w[i] = served_by(port, &ninit);
		ck_assert_int_eq(ninit, 1);
	}
	ck_assert_int_eq(w[0], w[1]);
	ck_assert_int_eq(w[1], w[2]);
	ck_assert_int_ne(w[2], w[3]);
	ck_assert_int_ne(w[0], pid);
	/* The limit holds with reuse: SERVER_CHILDREN_MAX sessions at once,
	 * one more waits until a session ends, then a worker takes it. */
	for (int i = 0; i < SERVER_CHILDREN_MAX; i++) {
		fds[i] = connect_to(AF_INET, "127.0.0.1", port);
		ck_assert_int_ge(fds[i], 0);
		ck_assert(readable(fds[i], 5000));
		ck_assert_int_gt(read(fds[i], buf, sizeof buf), 0);
	}
	fds[SERVER_CHILDREN_MAX] = connect_to(AF_INET, "127.0.0.1", port);
	ck_assert_int_ge(fds[SERVER_CHILDREN_MAX], 0);
	ck_assert(!readable(fds[SERVER_CHILDREN_MAX], 300));
	close(fds[0]);
	ck_assert(readable(fds[SERVER_CHILDREN_MAX], 5000));
	for (int i = 1; i <= SERVER_CHILDREN_MAX; i++)
		close(fds[i]);
	usleep(300000);
	/* A listener killed outright: its idle workers leave, the port closes. */
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	for (int i = 0; i < 100; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };

		inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
		st = connect(fd, (struct sockaddr *)&in, sizeof in);
		close(fd);
		if (st < 0)
			break;
		usleep(50000);
	}
	ck_assert_int_lt(st, 0);
}
END_TEST

START_TEST(inetd_mode)
{
	int sv[2], in, out;
	char buf[128];
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((pid = fork()) == 0) {
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		close(sv[0]);
		close(sv[1]);
		_exit(server_inetd(session, "inetd"));
	}
	close(sv[1]);
	in = sv[0];
	out = sv[0];
	ck_assert_int_eq(write(out, "x\n", 2), 2);
	shutdown(out, SHUT_WR);
	n = 0;
	for (ssize_t k; (k = read(in, buf + n, sizeof buf - 1 - n)) > 0; )
		n += k;
	buf[n] = '\0';
	ck_assert_str_eq(buf, "inetd  1 \nx\n");    /* a UNIX socket: local, no address */
	waitpid(pid, NULL, 0);
	close(sv[0]);
}
END_TEST

START_TEST(listen_errors)
{
	char *bad[] = { "[::1]2525" };
	char *bad2[] = { "::1:2525" };
	char *bad3[] = { "127.0.0.1:99999" };
	char *bad4[] = { "127.0.0.1:" };

	ck_assert_int_eq(server_listen(bad, 1, session, NULL), EX_UNAVAILABLE);
	ck_assert_int_eq(server_listen(bad2, 1, session, NULL), EX_UNAVAILABLE);
	ck_assert_int_eq(server_listen(bad3, 1, session, NULL), EX_UNAVAILABLE);
	ck_assert_int_eq(server_listen(bad4, 1, session, NULL), EX_UNAVAILABLE);
}
END_TEST

/* In a child (the switches are for good): run fn, return its exit code. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(fn());
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static int become_other(void)
{
	uid_t r, e, s;

	if (server_become(12345, 12346) < 0)
		return 1;
	getresuid(&r, &e, &s);
	if (geteuid() == 0)     /* root: all three ids switched, for good */
		return 2;
	if (getuid() != 0 && getresuid(&r, &e, &s) == 0 && (r == 0 || s == 0))
		return 3;
	return setuid(0) == 0 ? 4 : 0;
}

static int drop_to_nobody(void)
{
	if (server_drop_privs("nobody") < 0)
		return 1;
	return geteuid() == 0 || setuid(0) == 0 ? 2 : 0;
}

static int drop_to_root(void)
{
	return server_drop_privs("root") < 0 ? 0 : 1;
}

START_TEST(privileges)
{
	ck_assert_int_eq(server_become(0, 0), -1);      /* never as root */
	ck_assert_int_eq(server_become(12345, 0), -1);  /* nor as group root */
	if (geteuid() != 0) {
		ck_assert_int_eq(server_drop_privs(NULL), 0);   /* no-op */
		ck_assert_int_eq(server_become(getuid(), getgid()), 0);
		ck_assert_int_eq(server_become(12345, 12345), 0); /* no-op: files decide */
		ck_assert_int_eq(getuid(), geteuid());
		return;
	}
	ck_assert_int_eq(in_child(become_other), 0);
	ck_assert_int_eq(in_child(drop_to_nobody), 0);
	ck_assert_int_eq(in_child(drop_to_root), 0);
}
END_TEST

START_TEST(plain_auth_policy)
{
	struct peer lo = { .loopback = 1 }, far = { .loopback = 0 };

	ck_assert_int_eq(server_plain_auth_arg(NULL), PLAIN_ALWAYS);   /* the bare option */
	ck_assert_int_eq(server_plain_auth_arg("always"), PLAIN_ALWAYS);
	ck_assert_int_eq(server_plain_auth_arg("loopback"), PLAIN_LOOPBACK);
	ck_assert_int_eq(server_plain_auth_arg("never"), PLAIN_NEVER);
	ck_assert_int_eq(server_plain_auth_arg("Never"), -1);
	ck_assert_int_eq(server_plain_auth_arg(""), -1);
	ck_assert_int_eq(PLAIN_LOOPBACK, 0);    /* a zeroed config is the default */
	ck_assert(server_plain_ok(PLAIN_LOOPBACK, &lo));
	ck_assert(!server_plain_ok(PLAIN_LOOPBACK, &far));
	ck_assert(!server_plain_ok(PLAIN_NEVER, &lo));
	ck_assert(server_plain_ok(PLAIN_ALWAYS, &far));
}
END_TEST

/* Not the inetd situation (fd 2 is not fd 0's socket): stderr stays. */
START_TEST(inetd_stderr_untouched)
{
	FILE *before = stderr;

	ck_assert_int_eq(server_inetd_stderr("421 x\r\n"), 0);
	ck_assert_ptr_eq(stderr, before);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, peer_pipe);
	tcase_add_test(tc, listen_fork);
	tcase_add_test(tc, listen_errors);
	tcase_add_test(tc, listen_limit_and_stop);
	tcase_add_test(tc, listen_reuse);
	tcase_add_loop_test(tc, listen_per_client, 0, 2);
	tcase_add_test(tc, inetd_mode);
	tcase_add_test(tc, privileges);
	tcase_add_test(tc, plain_auth_policy);
	tcase_add_test(tc, inetd_stderr_untouched);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
