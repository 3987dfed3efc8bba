/* Unit tests of lib/conn.c over socketpairs: line ends, long lines,
 * chunks, timeouts, the transcript with masking, and STARTTLS for real
 * (a forked TLS server with a throwaway certificate). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "tls.h"

const char *const progname = "test_conn";

static int sv[2];
static struct conn c;

static void setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	conn_init(&c, sv[0], sv[0], CONN_SERVER);
	conn_set_timeout(&c, 5);
}

static void teardown(void)
{
	conn_close(&c);
	close(sv[0]);
	close(sv[1]);
}

/* One throwaway certificate for localhost, made once in main() for every
 * TLS test (each runs in a child of main: check's fork mode). */
static char certdir[] = "/tmp/test_conn_XXXXXX", cert[300], key[300];

static void make_cert(void)
{
	char cmd[1024];

	if (mkdtemp(certdir) == NULL) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
	snprintf(cert, sizeof cert, "%s/cert.pem", certdir);
	snprintf(key, sizeof key, "%s/key.pem", certdir);
	snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey rsa:2048 -nodes -days 1 "
	    "-subj /CN=localhost -keyout %s -out %s 2>/dev/null", key, cert);
	if (system(cmd) != 0) {
		fprintf(stderr, "test_conn: openssl req failed\n");
		exit(EXIT_FAILURE);
	}
}

static void remove_cert(void)
{
	unlink(cert);
	unlink(key);
	rmdir(certdir);
}

static void peer_says(const char *s)
{
	ck_assert_int_eq(write(sv[1], s, strlen(s)), (ssize_t)strlen(s));
}

START_TEST(line_ends)
{
	char buf[64];
	size_t n;

	peer_says("EHLO a\r\nNOOP\nlast");
	shutdown(sv[1], SHUT_WR);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_str_eq(buf, "EHLO a");
	ck_assert_int_eq(conn_last_eol(&c), CONN_EOL_CRLF);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_str_eq(buf, "NOOP");
	ck_assert_int_eq(conn_last_eol(&c), CONN_EOL_LF);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_str_eq(buf, "last");
	ck_assert_int_eq(conn_last_eol(&c), CONN_EOL_NONE);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_EOF);
}
END_TEST

START_TEST(long_lines)
{
	char buf[16], big[100];
	size_t n;

	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\0';
	peer_says(big);
	peer_says("\r\nNEXT\r\n");
	/* 14 characters + CRLF fit exactly in 16 */
	peer_says("12345678901234\r\n123456789012345\r\n");
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_TOOLONG);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_str_eq(buf, "NEXT");          /* the rest was skipped */
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_uint_eq(n, 14);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_TOOLONG);
}
END_TEST

START_TEST(chunks_and_reads)
{
	char buf[8];
	size_t n;

	peer_says("abc\r\n0123456789\nxyz");
	ck_assert_int_eq(conn_getchunk(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(memcmp(buf, "abc\r\n", 5), 0);
	ck_assert_int_eq(conn_getchunk(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_uint_eq(n, 8);                 /* no LF within 8 bytes */
	ck_assert_int_eq(conn_last_eol(&c), CONN_EOL_NONE);
	ck_assert_int_eq(conn_getchunk(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(conn_last_eol(&c), CONN_EOL_LF);
	ck_assert_uint_eq(conn_pending(&c), 3);
	ck_assert_int_eq(conn_read(&c, buf, 3), CONN_OK);
	ck_assert_int_eq(memcmp(buf, "xyz", 3), 0);
}
END_TEST

START_TEST(timeout)
{
	char buf[8];
	size_t n;

	conn_set_timeout(&c, 1);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_TIMEOUT);
}
END_TEST

/* A peer that never reads: writing gives up after the timeout instead of
 * blocking for ever (a server must not hang on a client that stopped). */
START_TEST(write_timeout)
{
	static char block[64 * 1024];
	time_t t0 = time(NULL);
	int r = 0;

	memset(block, 'x', sizeof block);
	conn_set_timeout(&c, 1);
	for (int i = 0; i < 1024 && r == 0; i++)       /* up to 64 MB */
		r = conn_write(&c, block, sizeof block);
	if (r == 0)
		r = conn_flush(&c);
	ck_assert_int_eq(r, -1);
	ck_assert_int_le(time(NULL) - t0, 6);
}
END_TEST

/* A peer writing its line one byte every 200 ms (a trickle, never idle
 * for a whole timeout) gets CONN_TIMEOUT once the timeout has passed for
 * the whole line; conn_set_deadline bounds a run of complete lines. */
static void trickle(int fd, const char *s, int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	for (; *s; s++) {
		if (write(fd, s, 1) != 1)
			_exit(0);
		nanosleep(&ts, NULL);
	}
	_exit(0);
}

START_TEST(whole_line_and_session_deadlines)
{
	char buf[64];
	size_t n;
	struct timespec t0, t1;
	pid_t pid;

	if ((pid = fork()) == 0)
		trickle(sv[1], "NOOP NOOP NOOP NOOP NOOP NOOP\r\n", 200);
	conn_set_timeout(&c, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	/* whole lines, each in time, but the session's deadline passes */
	if ((pid = fork()) == 0)
		trickle(sv[1], "A\nB\nC\nD\nE\nF\nG\nH\nI\nJ\nK\nL\n", 100);
	conn_set_timeout(&c, 5);
	conn_set_deadline(&c, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (conn_getline(&c, buf, sizeof buf, &n) == CONN_OK)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 3);
	ck_assert_str_ne(buf, "L");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

/* A TLS peer that sends part of a record and stops (slowloris): the
 * handshake fails after the timeout instead of blocking in SSL_accept. */
START_TEST(tls_partial_record)
{
	char err[256];
	SSL_CTX *sctx;
	pid_t pid;
	int st = -1;

	sctx = tls_server_ctx(cert, key, err, sizeof err);
	ck_assert_msg(sctx != NULL, "%s", err);
	pid = fork();
	if (pid == 0) {
		struct conn s;

		conn_init(&s, sv[1], sv[1], CONN_SERVER);
		conn_set_timeout(&s, 1);
		_exit(conn_starttls(&s, sctx, NULL) < 0 ? 0 : 1);
	}
	/* a handshake record header announcing 200 bytes, then 5 of them */
	ck_assert_int_eq(write(sv[0], "\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03", 10), 10);
	for (int i = 0; i < 100; i++) {         /* 10 s at most */
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	if (!WIFEXITED(st) && kill(pid, SIGKILL) == 0)
		waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SSL_accept hung on a partial record");
	SSL_CTX_free(sctx);
}
END_TEST

/* A TLS peer that closes the connection without close_notify (as Python's
 * smtplib and many clients do after QUIT) is an end of file, not an error. */
START_TEST(tls_eof_without_close_notify)
{
	char err[256], buf[64];
	SSL_CTX *sctx, *cctx;
	pid_t pid;
	size_t n;
	int st;

	sctx = tls_server_ctx(cert, key, err, sizeof err);
	ck_assert_msg(sctx != NULL, "%s", err);
	pid = fork();
	if (pid == 0) {
		struct conn s;
		enum conn_rc rc;

		close(sv[0]);
		conn_init(&s, sv[1], sv[1], CONN_SERVER);
		conn_set_timeout(&s, 5);
		if (conn_starttls(&s, sctx, NULL) < 0)
			_exit(2);
		if (conn_getline(&s, buf, sizeof buf, &n) != CONN_OK || strcmp(buf, "QUIT") != 0)
			_exit(3);
		rc = conn_getline(&s, buf, sizeof buf, &n);
		_exit(rc == CONN_EOF ? 0 : 10 + (int)rc);
	}
	close(sv[1]);
	sv[1] = -1;
	cctx = tls_client_ctx(NULL, 1, err, sizeof err);
	ck_assert_msg(cctx != NULL, "%s", err);
	c.side = CONN_CLIENT;
	ck_assert_msg(conn_starttls(&c, cctx, NULL) == 0, "%s", c.errbuf);
	conn_printf(&c, "QUIT\r\n");
	ck_assert_int_eq(conn_flush(&c), 0);
	SSL_free(c.ssl);                /* no SSL_shutdown: no close_notify */
	c.ssl = NULL;
	close(sv[0]);
	sv[0] = -1;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server got exit %d (10 + conn_rc)",
	    WEXITSTATUS(st));
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

START_TEST(output_and_discard)
{
	char buf[64];
	ssize_t r;
	size_t n;

	peer_says("QUIT\r\nRCPT TO:<evil>\r\n");
	conn_printf(&c, "250 %s\r\n", "ok");
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);  /* flushes */
	r = read(sv[1], buf, sizeof buf);
	ck_assert_int_eq(r, 8);
	ck_assert_int_eq(memcmp(buf, "250 ok\r\n", 8), 0);
	conn_discard(&c);                       /* pipelined plaintext dropped */
	ck_assert_uint_eq(conn_pending(&c), 0);
}
END_TEST

static size_t mask_pass(const char *line, size_t len, int incoming)
{
	(void)incoming;
	return (len >= 5 && strncmp(line, "PASS ", 5) == 0) ? 5 : len;
}

START_TEST(transcript)
{
	char buf[64], *log = NULL;
	size_t n, loglen = 0;
	FILE *f = open_memstream(&log, &loglen);

	conn_set_log(&c, f, mask_pass);
	peer_says("USER bob\r\nPASS secret\r\ndGVzdA==\r\n");
	conn_printf(&c, "+OK\r\n");
	conn_getline(&c, buf, sizeof buf, &n);
	conn_getline(&c, buf, sizeof buf, &n);
	conn_mask_next(&c);
	conn_getline(&c, buf, sizeof buf, &n);
	fclose(f);
	ck_assert_str_eq(log, "S: +OK\nC: USER bob\nC: PASS ****\nC: ****\n");
	free(log);
}
END_TEST

/* The transcript goes to an unbuffered stderr shared by concurrent
 * sessions (-l): each line must be one write(2), or lines interleave.
 * A SOCK_SEQPACKET log keeps the writes apart: one packet each. */
START_TEST(transcript_one_write_per_line)
{
	static const char *const want[] = { "S: 250-first line\n", "S: 250 second\n",
	    "C: MAIL FROM:<a@b.example>\n" };
	char buf[128];
	int lv[2];
	size_t n;
	FILE *f;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, lv), 0);
	ck_assert_ptr_nonnull(f = fdopen(lv[0], "w"));
	setvbuf(f, NULL, _IONBF, 0);
	conn_set_log(&c, f, NULL);
	peer_says("MAIL FROM:<a@b.example>\r\n");
	conn_printf(&c, "250-first line\r\n250 second\r\n");
	conn_getline(&c, buf, sizeof buf, &n);
	fclose(f);
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		ssize_t k = recv(lv[1], buf, sizeof buf - 1, MSG_DONTWAIT);

		ck_assert_int_gt(k, 0);
		buf[k] = '\0';
		ck_assert_str_eq(buf, want[i]);
	}
	ck_assert_int_eq(recv(lv[1], buf, sizeof buf, MSG_DONTWAIT), 0);
	close(lv[1]);
}
END_TEST

/* COMPRESS=DEFLATE both ways: a forked client sends a line, one of 8 MiB
 * (a few KiB compressed: it must come as CONN_TOOLONG through the 16 KiB
 * buffer) and one more; the reply goes back compressed. */
START_TEST(deflate_both_ways)
{
	char buf[512];
	size_t len;
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct conn k;
		char *big = malloc(8u << 20);

		conn_init(&k, sv[1], sv[1], CONN_CLIENT);
		conn_set_timeout(&k, 10);
		if (big == NULL || conn_compress(&k) < 0)
			_exit(2);
		memset(big, 'a', 8u << 20);
		conn_printf(&k, "hello\r\n");
		conn_write(&k, big, 8u << 20);
		conn_printf(&k, "\r\nafter\r\n");
		free(big);
		if (conn_getline(&k, buf, sizeof buf, &len) != CONN_OK || strcmp(buf, "reply") != 0)
			_exit(3);
		conn_close(&k);
		_exit(0);
	}
	close(sv[1]);           /* the child's end only, for the EOF below */
	sv[1] = -1;
	ck_assert_int_eq(conn_compress(&c), 0);
	ck_assert(conn_is_compressed(&c));
	ck_assert_int_eq(conn_compress(&c), -1);        /* once only */
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &len), CONN_OK);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &len), CONN_TOOLONG);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &len), CONN_OK);
	ck_assert_str_eq(buf, "after");
	ck_assert(!conn_input_buffered(&c));
	conn_printf(&c, "reply\r\n");
	conn_flush(&c);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	/* the peer closed: the end of the compressed stream is EOF */
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &len), CONN_EOF);
}
END_TEST

/* Bytes that are not DEFLATE after COMPRESS: an error, not a crash. */
START_TEST(deflate_garbage)
{
	char buf[64];
	size_t len;

	ck_assert_int_eq(conn_compress(&c), 0);
	ck_assert_int_eq(write(sv[1], "\xff\xff\xff\xff garbage\r\n", 14), 14);
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &len), CONN_ERR);
	ck_assert(strstr(c.errbuf, "inflate") != NULL);
}
END_TEST

/* TLS: a forked server accepts, the client connects, a line each way. */
START_TEST(starttls)
{
	char err[256], buf[64];
	SSL_CTX *sctx, *cctx;
	pid_t pid;
	size_t n;
	int st;

	sctx = tls_server_ctx(cert, key, err, sizeof err);
	ck_assert_msg(sctx != NULL, "%s", err);
	ck_assert_ptr_null(tls_server_ctx(cert, "/nonexistent", err, sizeof err));

	pid = fork();
	if (pid == 0) {
		struct conn s;

		conn_init(&s, sv[1], sv[1], CONN_SERVER);
		conn_set_timeout(&s, 5);
		if (conn_starttls(&s, sctx, NULL) < 0)
			_exit(2);
		if (conn_getline(&s, buf, sizeof buf, &n) != CONN_OK || strcmp(buf, "hello") != 0)
			_exit(3);
		conn_printf(&s, "secure %d\r\n", conn_is_tls(&s));
		conn_flush(&s);
		conn_close(&s);
		_exit(0);
	}
	/* client side over sv[0]: verification against our own cert */
	cctx = tls_client_ctx(cert, 0, err, sizeof err);
	ck_assert_msg(cctx != NULL, "%s", err);
	c.side = CONN_CLIENT;
	ck_assert_msg(conn_starttls(&c, cctx, "localhost") == 0, "%s", c.errbuf);
	conn_tls_info(&c, buf, sizeof buf);
	ck_assert_msg(strstr(buf, "TLSv1") != NULL, "%s", buf);
	conn_printf(&c, "hello\r\n");
	ck_assert_int_eq(conn_getline(&c, buf, sizeof buf, &n), CONN_OK);
	ck_assert_str_eq(buf, "secure 1");
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

/* A client that checks the name refuses a certificate for another host. */
START_TEST(verify_fails)
{
	char err[256];
	SSL_CTX *sctx, *cctx;
	pid_t pid;
	int st;

	sctx = tls_server_ctx(cert, key, err, sizeof err);
	pid = fork();
	if (pid == 0) {
		struct conn s;

		conn_init(&s, sv[1], sv[1], CONN_SERVER);
		conn_set_timeout(&s, 5);
		_exit(conn_starttls(&s, sctx, NULL) < 0 ? 0 : 1);
	}
	cctx = tls_client_ctx(cert, 0, err, sizeof err);
	c.side = CONN_CLIENT;
	ck_assert_int_eq(conn_starttls(&c, cctx, "mx.example.org"), -1);
	ck_assert_msg(strstr(c.errbuf, "verif") != NULL, "%s", c.errbuf);
	waitpid(pid, &st, 0);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

/* With --insecure (no verification), a handshake the peer breaks off
 * (here: it wants a client certificate we do not have) is reported as
 * what it is, not as the self-signed certificate we chose to accept. */
START_TEST(insecure_reports_handshake_error)
{
	char err[256];
	SSL_CTX *sctx, *cctx;
	pid_t pid;
	int st;

	sctx = tls_server_ctx(cert, key, err, sizeof err);
	SSL_CTX_set_max_proto_version(sctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	pid = fork();
	if (pid == 0) {
		struct conn s;

		conn_init(&s, sv[1], sv[1], CONN_SERVER);
		conn_set_timeout(&s, 5);
		_exit(conn_starttls(&s, sctx, NULL) < 0 ? 0 : 1);
	}
	cctx = tls_client_ctx(NULL, 1, err, sizeof err);
	c.side = CONN_CLIENT;
	ck_assert_int_eq(conn_starttls(&c, cctx, "localhost"), -1);
	ck_assert_msg(strstr(c.errbuf, "verif") == NULL, "%s", c.errbuf);
	ck_assert_msg(strstr(c.errbuf, "alert") != NULL, "%s", c.errbuf);
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conn");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, line_ends);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, chunks_and_reads);
	tcase_add_test(tc, timeout);
	tcase_add_test(tc, whole_line_and_session_deadlines);
	tcase_add_test(tc, output_and_discard);
	tcase_add_test(tc, transcript);
	tcase_add_test(tc, transcript_one_write_per_line);
	tcase_add_test(tc, starttls);
	tcase_add_test(tc, verify_fails);
	tcase_add_test(tc, insecure_reports_handshake_error);
	tcase_add_test(tc, write_timeout);
	tcase_add_test(tc, tls_partial_record);
	tcase_add_test(tc, tls_eof_without_close_notify);
	tcase_add_test(tc, deflate_both_ways);
	tcase_add_test(tc, deflate_garbage);
	suite_add_tcase(s, tc);
	make_cert();
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_cert();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
