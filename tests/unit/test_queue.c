/* Unit tests of lib/queue.c: envelope parse/format round trips (whole and
 * byte by byte), hostile envelopes, enqueue layout and atomicity, locking
 * across update and removal. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>   /* PATH_MAX: lib/limits.h hides glibc's <limits.h> under -iquote lib */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "queue.h"

const char *const progname = "test_queue";

static const char sample[] =
    "version 1\n"
    "from <alice@example.org>\n"
    "created 1795460168\n"
    "attempts 2\n"
    "next 1795460768\n"
    "rcpt <bob@example.net> pending\n"
    "rcpt <carol@example.com> done 250 2.0.0 Ok: queued as 4Xb\n"
    "rcpt <\"d> ave\"@example.com> failed 550 5.1.1 No such user\n";

START_TEST(parse_sample)
{
	struct queue_env e;
	const char *why = NULL;

	ck_assert_int_eq(queue_env_parse(sample, strlen(sample), &e, &why), 0);
	ck_assert_int_eq(e.version, 1);
	ck_assert_str_eq(e.from, "alice@example.org");
	ck_assert_int_eq((long long)e.created, 1795460168LL);
	ck_assert_int_eq(e.attempts, 2);
	ck_assert_int_eq((long long)e.next, 1795460768LL);
	ck_assert_uint_eq(e.nrcpt, 3);
	ck_assert_str_eq(e.rcpt[0].addr, "bob@example.net");
	ck_assert_int_eq(e.rcpt[0].state, QR_PENDING);
	ck_assert_str_eq(e.rcpt[0].text, "");
	ck_assert_int_eq(e.rcpt[1].state, QR_DONE);
	ck_assert_str_eq(e.rcpt[1].text, "250 2.0.0 Ok: queued as 4Xb");
	ck_assert_str_eq(e.rcpt[2].addr, "\"d> ave\"@example.com");
	ck_assert_int_eq(e.rcpt[2].state, QR_FAILED);
	queue_env_free(&e);
}
END_TEST

START_TEST(round_trip)
{
	struct queue_env e;
	struct buf b = { 0 };
	const char *why;

	ck_assert_int_eq(queue_env_parse(sample, strlen(sample), &e, &why), 0);
	ck_assert_int_eq(queue_env_format(&e, &b), 0);
	ck_assert_str_eq(b.p, sample);
	queue_env_free(&e);
	buf_free(&b);
}
END_TEST

/* The DSN lines (RFC 3461): read, written back unchanged, and bad ones
 * refused; xtext and NOTIFY syntax of lib/dsn. */
static const char dsn_sample[] =
    "version 1\n"
    "from <alice@example.org>\n"
    "created 1795460168\n"
    "attempts 0\n"
    "next 1795460168\n"
    "ret HDRS\n"
    "envid QQ+2Bx\n"
    "rcpt <bob@example.net> pending\n"
    "dsn notify=SUCCESS,DELAY orcpt=rfc822;Bob+40example.net warned\n"
    "rcpt <carol@example.com> done 250 2.0.0 Ok\n"
    "dsn notify=NEVER delivered\n"
    "rcpt <dave@example.com> pending\n";

START_TEST(dsn_round_trip)
{
	static const char *const bad[] = { "ret BODY\n", "envid a+0A\n", "envid a=b\n",
	    "dsn notify=NEVER,SUCCESS\n", "dsn orcpt=rfc822\n", "dsn orcpt=;x\n" };
	struct queue_env e;
	struct buf b = { 0 };
	const char *why;
	char out[64];

	ck_assert_int_eq(queue_env_parse(dsn_sample, strlen(dsn_sample), &e, &why), 0);
	ck_assert_int_eq(e.ret, DSN_RET_HDRS);
	ck_assert_str_eq(e.envid, "QQ+2Bx");
	ck_assert_int_eq(e.rcpt[0].notify, DSN_SUCCESS | DSN_DELAY);
	ck_assert_str_eq(e.rcpt[0].orcpt, "rfc822;Bob+40example.net");
	ck_assert(e.rcpt[0].warned && !e.rcpt[0].delivered && e.rcpt[1].delivered);
	ck_assert_int_eq(e.rcpt[2].notify, 0);
	ck_assert_int_eq(queue_env_format(&e, &b), 0);
	ck_assert_str_eq(b.p, dsn_sample);
	queue_env_free(&e);
	buf_free(&b);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char t[512];

		snprintf(t, sizeof t, "%s%s", sample, bad[i]);
		ck_assert_int_eq(queue_env_parse(t, strlen(t), &e, &why), -1);
		queue_env_free(&e);
	}
	ck_assert_int_eq(dsn_xtext_decode("a+2Bb+3D", out, sizeof out), 4);
	ck_assert_str_eq(out, "a+b=");
	ck_assert_int_eq(dsn_xtext_decode("a+2b", out, sizeof out), -1);
	ck_assert_int_eq(dsn_xtext_decode("a+2", out, sizeof out), -1);
	ck_assert_int_eq(dsn_xtext_decode("a\x80", out, sizeof out), -1);
	ck_assert_int_eq(dsn_xtext_decode("abcd", out, 4), -1);
	ck_assert_int_eq(dsn_xtext_encode("a b+c=\xe9", out, sizeof out), 0);
	ck_assert_str_eq(out, "a+20b+2Bc+3D+E9");
	ck_assert_int_eq(dsn_xtext_encode("abc", out, 3), -1);
	ck_assert_int_eq(dsn_notify_parse("delay,Success"), DSN_DELAY | DSN_SUCCESS);
	ck_assert_int_eq(dsn_notify_parse("SUCCESS,"), -1);
	ck_assert_int_eq(dsn_notify_parse(",SUCCESS"), -1);
	ck_assert_int_eq(dsn_notify_parse("FAILURE,FAILURE"), -1);
	dsn_notify_format(DSN_FAILURE | DSN_DELAY | DSN_SUCCESS, out, sizeof out);
	ck_assert_str_eq(out, "SUCCESS,FAILURE,DELAY");
	ck_assert(dsn_wanted(0, DSN_FAILURE) && !dsn_wanted(0, DSN_SUCCESS) &&
	    !dsn_wanted(DSN_NEVER, DSN_FAILURE) && !dsn_wanted(DSN_SUCCESS, DSN_FAILURE));
}
END_TEST

/* smtpd's local-args (xtext, the empty one, 8-bit kept) and the "local"
 * mark of a deferred local recipient survive a round trip. */
START_TEST(local_round_trip)
{
	static const char text[] = "version 1\nfrom <a@example.org>\ncreated 5\nattempts 0\n"
	    "next 5\nlocal-arg --mda\nlocal-arg maildeliver+20-v\nlocal-arg\n"
	    "local-arg /tmp/caf+C3+A9+2Bx+3D\nrcpt <b@example.org> pending\nlocal\n"
	    "rcpt <c@example.net> done 250 ok\ndsn notify=SUCCESS delivered expanded\n";
	static const char *const bad[] = { "local-arg a+0Ab\n", "local-arg a+2\n", "local x\n" };
	struct queue_env e;
	struct buf b = { 0 };
	const char *why;

	ck_assert_int_eq(queue_env_parse(text, strlen(text), &e, &why), 0);
	ck_assert_int_eq(e.nlarg, 4);
	ck_assert_str_eq(e.larg[1], "maildeliver -v");
	ck_assert_str_eq(e.larg[2], "");
	ck_assert_str_eq(e.larg[3], "/tmp/caf\xc3\xa9+x=");
	ck_assert(e.rcpt[0].local && !e.rcpt[1].local);
	ck_assert(!e.rcpt[0].expanded && e.rcpt[1].expanded && e.rcpt[1].delivered);
	ck_assert_int_eq(queue_env_format(&e, &b), 0);
	ck_assert_str_eq(b.p, text);
	queue_env_free(&e);
	buf_free(&b);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char t[512];

		snprintf(t, sizeof t, "%s%s", sample, bad[i]);
		ck_assert_int_eq(queue_env_parse(t, strlen(t), &e, &why), -1);
		queue_env_free(&e);
	}
	queue_env_init(&e, "a@b", 1);
	for (int i = 0; i < QUEUE_LARG_MAX; i++)
		ck_assert_int_eq(queue_env_add_arg(&e, "x"), 0);
	ck_assert_int_eq(queue_env_add_arg(&e, "x"), -1);
	queue_env_free(&e);
}
END_TEST

/* Every prefix of a valid envelope that is not itself complete is refused
 * (no silent truncation), and the full text parses. */
START_TEST(byte_by_byte)
{
	size_t n = strlen(sample);
	size_t first = (size_t)(strchr(strstr(sample, "rcpt"), '\n') - sample) + 1;

	for (size_t i = 0; i <= n; i++) {
		struct queue_env e;
		const char *why;
		int rc = queue_env_parse(sample, i, &e, &why);

		queue_env_free(&e);
		/* Complete lines up to the first rcpt give a valid envelope. */
		if (i >= first && sample[i - 1] == '\n')
			ck_assert_msg(rc == 0, "prefix %zu refused", i);
		else
			ck_assert_msg(rc == -1, "prefix %zu accepted", i);
	}
}
END_TEST

START_TEST(null_sender)
{
	struct queue_env e;
	struct buf b = { 0 };
	const char *why;

	queue_env_init(&e, NULL, 100);
	ck_assert_int_eq(queue_env_add(&e, "x@y"), 0);
	ck_assert_int_eq(queue_env_format(&e, &b), 0);
	ck_assert_ptr_nonnull(strstr(b.p, "\nfrom <>\n"));
	queue_env_free(&e);
	ck_assert_int_eq(queue_env_parse(b.p, b.len, &e, &why), 0);
	ck_assert_str_eq(e.from, "");
	queue_env_free(&e);
	buf_free(&b);
}
END_TEST

START_TEST(hostile)
{
	static const char *const bad[] = {
		"",
		"version 2\nfrom <>\nrcpt <a@b> pending\n",
		"from <>\nversion 1\nrcpt <a@b> pending\n",
		"version 1\nfrom <>\n",                         /* no rcpt */
		"version 1\nfrom <>\nrcpt <a@b> sent\n",
		"version 1\nfrom <>\nrcpt <a@b>pending\n",
		"version 1\nfrom <>\nrcpt <> pending\n",
		"version 1\nfrom <>\nrcpt a@b pending\n",
		"version 1\nfrom <>\nrcpt <a@b pending\n",
		"version 1\nfrom <x> y\nrcpt <a@b> pending\n",
		"version 1\nfrom <>\nattempts -1\nrcpt <a@b> pending\n",
		"version 1\nfrom <>\nnext 99999999999999999999999\nrcpt <a@b> pending\n",
		"version 1\nfrom <>\nrcpt <a@b> pending",        /* no final LF */
		/* control bytes, which queue_env_format never writes (fuzz_queue) */
		"version 1\nfrom <a\tb@c>\nrcpt <a@b> pending\n",
		"version 1\nfrom <>\nrcpt <a\x1b@b> pending\n",
		"version 1\nfrom <\"a\\\x01\"@b>\nrcpt <a@b> pending\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct queue_env e;
		const char *why = NULL;

		ck_assert_msg(queue_env_parse(bad[i], strlen(bad[i]), &e, &why) == -1,
		    "accepted #%zu", i);
		ck_assert_ptr_nonnull(why);
		queue_env_free(&e);
	}
	/* a NUL inside an address would cut it short (tests/fuzz/regress/queue) */
	{
		static const char nul[] = "version 1\nfrom <a@b\0\"c>\nrcpt <a@b> pending\n";
		struct queue_env e;
		const char *why = NULL;

		ck_assert_int_eq(queue_env_parse(nul, sizeof nul - 1, &e, &why), -1);
		queue_env_free(&e);
	}
}
END_TEST

START_TEST(format_refuses_ctl)
{
	struct queue_env e;
	struct buf b = { 0 };

	queue_env_init(&e, "a\nrcpt <evil@x> pending", 0);
	queue_env_add(&e, "x@y");
	ck_assert_int_eq(queue_env_format(&e, &b), -1);
	queue_env_free(&e);
	buf_free(&b);
	/* Reply text with line ends is flattened, not refused. */
	queue_env_init(&e, "a@b", 0);
	queue_env_add(&e, "x@y");
	snprintf(e.rcpt[0].text, sizeof e.rcpt[0].text, "451 x\r\nrcpt <e@x> done");
	ck_assert_int_eq(queue_env_format(&e, &b), 0);
	ck_assert_ptr_null(strstr(b.p, "\nrcpt <e@x>"));
	queue_env_free(&e);
	buf_free(&b);
}
END_TEST

static char *mkqueue(void)
{
	char *t = strdup("/tmp/test_queue.XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(t));
	ck_assert_int_eq(queue_init(t), 0);
	return t;
}

static void rmqueue(char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

static size_t count(const char *dir, const char *sub)
{
	char cmd[PATH_MAX + 64];
	FILE *f;
	size_t n = 0;
	int c;

	snprintf(cmd, sizeof cmd, "ls -A '%s/%s'", dir, sub);
	f = popen(cmd, "r");
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	pclose(f);
	return n;
}

START_TEST(enqueue_list_lock_remove)
{
	char *dir = mkqueue(), id[QUEUE_ID_MAX], id2[QUEUE_ID_MAX], got[64];
	struct queue_env e, r;
	const char *why;
	char **ids;
	size_t n;
	int fd, fd2, mfd;
	static const char msg[] = "Received: from x\nSubject: hi\n\nbody\n";

	queue_env_init(&e, "alice@example.org", 1000);
	queue_env_add(&e, "bob@example.net");
	queue_env_add(&e, "carol@example.net");
	ck_assert_int_eq(queue_enqueue(dir, &e, msg, strlen(msg), id), 0);
	ck_assert_int_eq(queue_enqueue(dir, &e, msg, strlen(msg), id2), 0);
	ck_assert_str_ne(id, id2);
	ck_assert(queue_id_ok(id));
	ck_assert_uint_eq(count(dir, "tmp"), 0);
	ck_assert_uint_eq(count(dir, "msg"), 2);

	ck_assert_int_eq(queue_list(dir, &ids, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_le(strcmp(ids[0], ids[1]), 0);
	queue_list_free(ids, n);

	fd = queue_lock(dir, id);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(queue_lock(dir, id), -1);     /* flock is per open file */
	ck_assert_int_eq(errno, EWOULDBLOCK);
	ck_assert_int_eq(queue_read_env(fd, &r, &why), 0);
	ck_assert_str_eq(r.from, "alice@example.org");
	ck_assert_uint_eq(r.nrcpt, 2);

	mfd = queue_open_msg(dir, id);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(read(mfd, got, sizeof got), (ssize_t)strlen(msg));
	ck_assert(memcmp(got, msg, strlen(msg)) == 0);
	close(mfd);

	/* Update keeps the lock across the rename. */
	r.rcpt[0].state = QR_DONE;
	snprintf(r.rcpt[0].text, sizeof r.rcpt[0].text, "250 ok");
	r.attempts = 1;
	ck_assert_int_eq(queue_update_env(dir, id, &r, &fd), 0);
	ck_assert_int_eq(queue_lock(dir, id), -1);
	ck_assert_int_eq(errno, EWOULDBLOCK);
	queue_env_free(&r);
	ck_assert_int_eq(queue_read_env(fd, &r, &why), 0);
	ck_assert_int_eq(r.attempts, 1);
	ck_assert_int_eq(r.rcpt[0].state, QR_DONE);
	queue_env_free(&r);
	ck_assert_uint_eq(count(dir, "tmp"), 0);

	ck_assert_int_eq(queue_remove(dir, id, fd), 0);
	ck_assert_int_eq(queue_lock(dir, id), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(count(dir, "msg"), 1);

	fd2 = queue_lock(dir, id2);
	ck_assert_int_ge(fd2, 0);
	close(fd2);
	ck_assert_int_eq(queue_lock(dir, "../env/x"), -1);
	ck_assert_int_eq(errno, EINVAL);
	queue_env_free(&e);
	rmqueue(dir);
}
END_TEST

/* A runner that opened env/ID before an update and locks it after must
 * see that its file is stale. */
START_TEST(stale_lock)
{
	char *dir = mkqueue(), id[QUEUE_ID_MAX], path[PATH_MAX];
	struct queue_env e;
	int fd, old;

	queue_env_init(&e, "", 0);
	queue_env_add(&e, "x@y");
	ck_assert_int_eq(queue_enqueue(dir, &e, "x\n", 2, id), 0);
	snprintf(path, sizeof path, "%s/env/%s", dir, id);
	old = open(path, O_RDONLY);
	fd = queue_lock(dir, id);
	ck_assert_int_eq(queue_update_env(dir, id, &e, &fd), 0);
	close(fd);
	/* old names the replaced inode: a runner could lock it, which is why
	 * queue_lock compares inodes after locking. */
	{
		struct stat a, b;

		ck_assert_int_eq(flock(old, LOCK_EX | LOCK_NB), 0);
		fstat(old, &a);
		stat(path, &b);
		ck_assert(a.st_ino != b.st_ino);
	}
	fd = queue_lock(dir, id);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(old);
	queue_env_free(&e);
	rmqueue(dir);
}
END_TEST

START_TEST(ids_unique)
{
	char a[QUEUE_ID_MAX], b[QUEUE_ID_MAX];

	for (int i = 0; i < 1000; i++) {
		queue_new_id(a);
		queue_new_id(b);
		ck_assert_str_ne(a, b);
		ck_assert(queue_id_ok(a));
		ck_assert_ptr_nonnull(strstr(a, ".M"));
		ck_assert_ptr_nonnull(strchr(a, 'P'));
		ck_assert_ptr_nonnull(strchr(a, 'R'));
	}
	ck_assert(!queue_id_ok(".x"));
	ck_assert(!queue_id_ok("a/b"));
	ck_assert(!queue_id_ok(""));
}
END_TEST

START_TEST(enqueue_missing_dir)
{
	struct queue_env e;
	char id[QUEUE_ID_MAX];

	queue_env_init(&e, "", 0);
	queue_env_add(&e, "x@y");
	ck_assert_int_eq(queue_enqueue("/nonexistent/q", &e, "x\n", 2, id), -1);
	queue_env_free(&e);
	queue_env_init(&e, "", 0);   /* no recipient */
	ck_assert_int_eq(queue_enqueue("/tmp", &e, "x\n", 2, id), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("queue");
	TCase *t = tcase_create("core");

	tcase_add_test(t, parse_sample);
	tcase_add_test(t, round_trip);
	tcase_add_test(t, dsn_round_trip);
	tcase_add_test(t, local_round_trip);
	tcase_add_test(t, byte_by_byte);
	tcase_add_test(t, null_sender);
	tcase_add_test(t, hostile);
	tcase_add_test(t, format_refuses_ctl);
	tcase_add_test(t, enqueue_list_lock_remove);
	tcase_add_test(t, stale_lock);
	tcase_add_test(t, ids_unique);
	tcase_add_test(t, enqueue_missing_dir);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
