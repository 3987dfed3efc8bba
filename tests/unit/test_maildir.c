/* test_maildir.c — lib/maildir.c and lib/mbox.c: the delivery side. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "mbox.h"

const char *const progname = "test_maildir";

static char root[64];

static void setup(void)
{
	strcpy(root, "/tmp/test_maildir.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

static int count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	static char buf[65536];

	ck_assert_ptr_nonnull(f);
	*len = fread(buf, 1, sizeof buf - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

START_TEST(uniq_names)
{
	char a[MAILDIR_UNIQ_MAX], b[MAILDIR_UNIQ_MAX];
	regex_t re;

	ck_assert_int_eq(regcomp(&re, "^[0-9]+\\.M[0-9]{6}P[0-9]+R[0-9a-f]{16}\\.[^/:]+$",
	    REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_int_eq(maildir_uniq(a, sizeof a), 0);
	ck_assert_int_eq(maildir_uniq(b, sizeof b), 0);
	ck_assert_int_eq(regexec(&re, a, 0, NULL, 0), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(maildir_uniq(a, 10), -1);
	regfree(&re);
}
END_TEST

START_TEST(make_and_deliver)
{
	char md[128], sub[192], name[MAILDIR_UNIQ_MAX + 64], path[1024];
	struct maildir_msg m;
	struct stat st;
	size_t len;

	snprintf(md, sizeof md, "%s/a/b/Maildir", root);
	ck_assert(!maildir_exists(md));
	ck_assert_int_eq(maildir_make(md, 0), 0);
	ck_assert(maildir_exists(md));
	ck_assert_int_eq(stat(md, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(maildir_make(md, 0), 0);         /* idempotent */

	snprintf(sub, sizeof sub, "%s/.Junk", md);
	ck_assert_int_eq(maildir_make(sub, 1), 0);
	snprintf(path, sizeof path, "%s/maildirfolder", sub);
	ck_assert_int_eq(access(path, F_OK), 0);

	ck_assert_int_eq(maildir_open(&m, md), 0);
	snprintf(path, sizeof path, "%s/tmp", md);
	ck_assert_int_eq(count(path), 1);               /* written in tmp/ first */
	ck_assert_int_eq(maildir_write(&m, "Subject: x\n\nhello\n", 18), 0);
	ck_assert_int_eq(maildir_write(&m, "more\n", 5), 0);
	snprintf(path, sizeof path, "%s/new", md);
	ck_assert_int_eq(count(path), 0);               /* nothing visible yet */
	ck_assert_int_eq(maildir_commit(&m, NULL, name, sizeof name), 0);
	ck_assert_ptr_nonnull(strstr(name, ",S=23,W=27"));
	ck_assert_int_eq(count(path), 1);
	snprintf(path, sizeof path, "%s/tmp", md);
	ck_assert_int_eq(count(path), 0);
	snprintf(path, sizeof path, "%s/new/%s", md, name);
	ck_assert_str_eq(slurp(path, &len), "Subject: x\n\nhello\nmore\n");

	/* Into cur/ with flags (IMAP APPEND). */
	ck_assert_int_eq(maildir_open(&m, md), 0);
	ck_assert_int_eq(maildir_write(&m, "x\n", 2), 0);
	ck_assert_int_eq(maildir_commit(&m, "FS", name, sizeof name), 0);
	ck_assert_ptr_nonnull(strstr(name, ",S=2,W=3:2,FS"));
	snprintf(path, sizeof path, "%s/cur/%s", md, name);
	ck_assert_int_eq(access(path, F_OK), 0);

	/* Abort leaves nothing. */
	ck_assert_int_eq(maildir_open(&m, md), 0);
	ck_assert_int_eq(maildir_write(&m, "x\n", 2), 0);
	maildir_abort(&m);
	snprintf(path, sizeof path, "%s/tmp", md);
	ck_assert_int_eq(count(path), 0);

	snprintf(path, sizeof path, "%s/nope", root);
	ck_assert_int_eq(maildir_open(&m, path), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* Files a killed writer left in tmp/ are removed at the next delivery
 * once 36 hours old (the Maildir convention); newer ones, and anything
 * that is not a regular file, stay. */
START_TEST(tmp_cleaned)
{
	char md[128], path[512], name[MAILDIR_UNIQ_MAX + 64];
	struct timespec old[2] = { { time(NULL) - 37 * 3600, 0 }, { time(NULL) - 37 * 3600, 0 } };
	struct timespec young[2] = { { time(NULL) - 35 * 3600, 0 }, { time(NULL) - 35 * 3600, 0 } };
	struct maildir_msg m;
	int fd;

	snprintf(md, sizeof md, "%s/Maildir", root);
	ck_assert_int_eq(maildir_make(md, 0), 0);
	snprintf(path, sizeof path, "%s/tmp/1.dead.host", md);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(futimens(fd, old), 0);
	close(fd);
	snprintf(path, sizeof path, "%s/tmp/2.young.host", md);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(futimens(fd, young), 0);
	close(fd);
	snprintf(path, sizeof path, "%s/tmp/3.dir", md);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);

	ck_assert_int_eq(maildir_open(&m, md), 0);
	ck_assert_int_eq(maildir_write(&m, "x\n", 2), 0);
	ck_assert_int_eq(maildir_commit(&m, NULL, name, sizeof name), 0);
	snprintf(path, sizeof path, "%s/tmp/1.dead.host", md);
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%s/tmp/2.young.host", md);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/tmp/3.dir", md);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/tmp", md);
	ck_assert_int_eq(count(path), 2);
}
END_TEST

/* Append a message made of the given pieces to a fresh mbox and return
 * the file's content. */
static const char *append(const char *mbox, const char *const *pieces, int n)
{
	struct mbox mb;
	struct iovec iov[8];
	char from[MBOX_FROM_MAX];
	size_t len;

	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ (void *)pieces[i], strlen(pieces[i]) };
	ck_assert_int_eq(mbox_lock(&mb, mbox, 1), 0);
	mbox_from_line(from, sizeof from, "a@b", 0);
	ck_assert_int_eq(mbox_append(&mb, from, iov, n), 0);
	mbox_unlock(&mb);
	return slurp(mbox, &len);
}

START_TEST(mbox_quoting)
{
	char mbox[128];
	const char *msg[] = { "S: 1\n\nFrom x\n>From y\n>>From z\nFrom\n>From\nFro\n xFrom a\nend" };
	const char *split[] = { "S: 1\n\nFr", "om x\n>", ">Fro", "m z\n>", "F", "rom\nend\n" };
	char lock[160];

	snprintf(mbox, sizeof mbox, "%s/mbox", root);
	ck_assert_str_eq(append(mbox, msg, 1),
	    "From a@b Thu Jan  1 00:00:00 1970\n"
	    "S: 1\n\n>From x\n>>From y\n>>>From z\nFrom\n>From\nFro\n xFrom a\nend\n\n");
	unlink(mbox);
	/* The same quoting when lines are split across pieces anywhere. */
	ck_assert_str_eq(append(mbox, split, 6),
	    "From a@b Thu Jan  1 00:00:00 1970\n"
	    "S: 1\n\n>From x\n>>>From z\n>From\nend\n\n");
	/* A second message follows after the blank line. */
	ck_assert_str_eq(append(mbox, (const char *[]){ "Q: 2\n\nbody\n" }, 1),
	    "From a@b Thu Jan  1 00:00:00 1970\n"
	    "S: 1\n\n>From x\n>>>From z\n>From\nend\n\n"
	    "From a@b Thu Jan  1 00:00:00 1970\nQ: 2\n\nbody\n\n");
	snprintf(lock, sizeof lock, "%s.lock", mbox);
	ck_assert_int_eq(access(lock, F_OK), -1);       /* dot-lock removed */
}
END_TEST

START_TEST(mbox_separator_repair)
{
	char mbox[128];
	int fd;

	snprintf(mbox, sizeof mbox, "%s/mbox", root);
	fd = open(mbox, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "From q Thu Jan  1 00:00:00 1970\nno end", 38), 38);
	close(fd);
	ck_assert_str_eq(append(mbox, (const char *[]){ "X: 1\n\n" }, 1),
	    "From q Thu Jan  1 00:00:00 1970\nno end\n\n"
	    "From a@b Thu Jan  1 00:00:00 1970\nX: 1\n\n\n");
}
END_TEST

START_TEST(from_line)
{
	char buf[MBOX_FROM_MAX];

	mbox_from_line(buf, sizeof buf, "", 1700000000);
	ck_assert_str_eq(buf, "From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n");
	mbox_from_line(buf, sizeof buf, "a b\tc@d", 1700000000);
	ck_assert_str_eq(buf, "From a_b_c@d Tue Nov 14 22:13:20 2023\n");
}
END_TEST

START_TEST(mbox_locks)
{
	char mbox[128], lock[160];
	struct mbox mb, mb2;
	int fd;
	pid_t pid;
	int p[2], st;
	char c;

	snprintf(mbox, sizeof mbox, "%s/mbox", root);
	snprintf(lock, sizeof lock, "%s.lock", mbox);
	/* fcntl lock held by another process: EAGAIN after the wait. */
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		if (mbox_lock(&mb, mbox, 1) < 0)
			_exit(1);
		write(p[1], "x", 1);
		sleep(3);
		_exit(0);
	}
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	ck_assert_int_eq(mbox_lock(&mb2, mbox, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	/* Its dot-lock stays, but its owner is dead: recovered at once. */
	ck_assert_int_eq(access(lock, F_OK), 0);
	ck_assert_int_eq(mbox_lock(&mb2, mbox, 0), 0);
	mbox_unlock(&mb2);

	/* A fresh foreign dot-lock is respected. */
	fd = open(lock, O_WRONLY | O_CREAT, 0600);
	close(fd);
	ck_assert_int_eq(mbox_lock(&mb2, mbox, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	unlink(lock);

	/* A symlink or a hard link is refused. */
	snprintf(lock, sizeof lock, "%s/link", root);
	ck_assert_int_eq(symlink(mbox, lock), 0);
	ck_assert_int_eq(mbox_lock(&mb2, lock, 0), -1);
	ck_assert_int_eq(errno, ELOOP);
	unlink(lock);
	ck_assert_int_eq(link(mbox, lock), 0);
	ck_assert_int_eq(mbox_lock(&mb2, lock, 0), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

START_TEST(mbox_crash_recovery)
{
	char mbox[128], lock[160], text[64];
	struct mbox mb;
	size_t len;
	int fd;

	snprintf(mbox, sizeof mbox, "%s/mbox", root);
	snprintf(lock, sizeof lock, "%s.lock", mbox);
	append(mbox, (const char *[]){ "A: 1\n\n" }, 1);
	/* What a maildeliver killed mid-append leaves: its lock and a tail. */
	fd = open(lock, O_WRONLY | O_CREAT, 0600);
	len = snprintf(text, sizeof text, "maildeliver 999999999 %d\n", 41);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	fd = open(mbox, O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, "From half", 9), 9);
	close(fd);
	ck_assert_int_eq(mbox_lock(&mb, mbox, 0), 0);
	ck_assert_int_eq(mb.orig, 41);
	mbox_unlock(&mb);
	ck_assert_str_eq(slurp(mbox, &len), "From a@b Thu Jan  1 00:00:00 1970\nA: 1\n\n\n");
}
END_TEST

/* W= is the size with CRLF line ends: a CRLF already there counts once,
 * also when the CR and the LF come in two writes. */
START_TEST(wsize_with_crlf)
{
	char md[128], name[MAILDIR_UNIQ_MAX + 64];
	struct maildir_msg m;

	snprintf(md, sizeof md, "%s/Maildir", root);
	ck_assert_int_eq(maildir_make(md, 0), 0);
	ck_assert_int_eq(maildir_open(&m, md), 0);
	ck_assert_int_eq(maildir_write(&m, "a\r\n", 3), 0);
	ck_assert_int_eq(maildir_write(&m, "b\r", 2), 0);
	ck_assert_int_eq(maildir_write(&m, "\nc\n", 3), 0);
	ck_assert_int_eq(maildir_commit(&m, NULL, name, sizeof name), 0);
	ck_assert_ptr_nonnull(strstr(name, ",S=8,W=9"));
	/* a lone LF at the start of a piece, after a piece ending in a letter */
	ck_assert_int_eq(maildir_open(&m, md), 0);
	ck_assert_int_eq(maildir_write(&m, "x", 1), 0);
	ck_assert_int_eq(maildir_write(&m, "\n", 1), 0);
	ck_assert_int_eq(maildir_commit(&m, NULL, name, sizeof name), 0);
	ck_assert_ptr_nonnull(strstr(name, ",S=2,W=3"));
}
END_TEST

static pid_t dead_pid(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0);
	return pid;
}

/* pop3d's dot-lock ("pop3d PID"): kept while the session lives, taken
 * over at once when it was killed (no truncation: it appends nothing). */
START_TEST(mbox_pop3d_lock)
{
	char mbox[128], lock[160], text[64];
	struct mbox mb;
	size_t len;
	int fd;

	snprintf(mbox, sizeof mbox, "%s/mbox", root);
	snprintf(lock, sizeof lock, "%s.lock", mbox);
	append(mbox, (const char *[]){ "A: 1\n\n" }, 1);
	fd = open(lock, O_WRONLY | O_CREAT, 0600);
	len = snprintf(text, sizeof text, "pop3d %ld\n", (long)getpid());
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	ck_assert_int_eq(mbox_lock(&mb, mbox, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	fd = open(lock, O_WRONLY | O_TRUNC);
	len = snprintf(text, sizeof text, "pop3d %ld\n", (long)dead_pid());
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	ck_assert_int_eq(mbox_lock(&mb, mbox, 0), 0);
	ck_assert_int_eq(mb.orig, 41);
	mbox_unlock(&mb);
	ck_assert_int_eq(access(lock, F_OK), -1);
	/* a FIFO as the lock: not waited on in open(), only refused */
	ck_assert_int_eq(mkfifo(lock, 0600), 0);
	alarm(5);
	ck_assert_int_eq(mbox_lock(&mb, mbox, 0), -1);
	ck_assert_int_eq(errno, EAGAIN);
	alarm(0);
	unlink(lock);
	ck_assert_str_eq(slurp(mbox, &len), "From a@b Thu Jan  1 00:00:00 1970\nA: 1\n\n\n");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maildir");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, uniq_names);
	tcase_add_test(tc, make_and_deliver);
	tcase_add_test(tc, tmp_cleaned);
	tcase_add_test(tc, mbox_quoting);
	tcase_add_test(tc, mbox_separator_repair);
	tcase_add_test(tc, from_line);
	tcase_add_test(tc, mbox_locks);
	tcase_add_test(tc, mbox_crash_recovery);
	tcase_add_test(tc, wsize_with_crlf);
	tcase_add_test(tc, mbox_pop3d_lock);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
