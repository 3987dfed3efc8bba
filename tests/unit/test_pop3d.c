/* test_pop3d.c — pop3d's maildrop module: CRLF sizes, dot-stuffing, TOP,
 * Maildir listing/locking/UPDATE, mbox parsing and in-place rewrite. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "../../pop3d/maildrop.h"

const char *const progname = "test_pop3d";

static char tmp[256];

static void mk_tmp(void)
{
	snprintf(tmp, sizeof tmp, "/tmp/test_pop3d.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void rm_tmp(void)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static void put_file(const char *rel, const char *data, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	ck_assert_ptr_nonnull(f = fopen(path, "wb"));
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	fclose(f);
}

static char *get_file(const char *rel, size_t *n)
{
	char path[512];
	struct buf b = { 0 };
	char chunk[4096];
	size_t k;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, k);
	fclose(f);
	*n = b.len;
	return b.p ? b.p : calloc(1, 1);
}

static int exists(const char *rel)
{
	char path[512];

	snprintf(path, sizeof path, "%s/%s", tmp, rel);
	return access(path, F_OK) == 0;
}

/* A sink that collects, and one that takes a byte at a time. */
static int buf_sink(void *arg, const void *p, size_t n)
{
	buf_add(arg, p, n);
	return 0;
}

static char *send_str(struct maildrop *md, size_t i, long lines, int stuff)
{
	struct buf b = { 0 };

	ck_assert_int_eq(maildrop_send(md, i, lines, stuff, buf_sink, &b), 0);
	return b.p ? b.p : calloc(1, 1);
}

static int fail_sink(void *arg, const void *p, size_t n)
{
	(void)arg; (void)p; (void)n;
	return -1;
}

static void mkmaildir(void)
{
	char path[512];

	mk_tmp();
	snprintf(path, sizeof path, "%s/new", tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/cur", tmp);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/tmp", tmp);
	mkdir(path, 0700);
}

START_TEST(crlf_sizes)
{
	static const struct { const char *in; long size; } t[] = {
		{ "", 0 }, { "a", 3 }, { "a\n", 3 }, { "a\r\n", 3 }, { "\n\n", 4 },
		{ "a\r", 4 }, { "a\r\rb\n", 6 }, { "x\ny", 6 }, { "\r\n\r\n", 4 },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_int_eq(maildrop_crlf_size((const unsigned char *)t[i].in,
		    strlen(t[i].in)), t[i].size);
}
END_TEST

/* The obvious transformation, one byte at a time, to compare with. */
static char *naive_wire(const char *in, size_t n, size_t *outn)
{
	struct buf b = { 0 };
	int bol = 1;

	for (size_t i = 0; i < n; i++) {
		if (bol && in[i] == '.')
			buf_addc(&b, '.');
		bol = 0;
		if (in[i] == '\n') {
			if (i == 0 || in[i - 1] != '\r')
				buf_addc(&b, '\r');
			buf_addc(&b, '\n');
			bol = 1;
		} else {
			buf_addc(&b, in[i]);
		}
	}
	if (n > 0 && in[n - 1] != '\n')
		buf_add(&b, "\r\n", 2);
	*outn = b.len;
	return b.p ? b.p : calloc(1, 1);
}

START_TEST(maildir_random_messages)
{
	static const char *const pieces[] = { "a", ".", "..", "\n", "\r\n", "\r", "From ", " ", "x.y" };
	struct maildrop md;
	const char *why;

	mkmaildir();
	srand(1939);
	for (int round = 0; round < 40; round++) {
		struct buf in = { 0 }, out = { 0 };
		size_t want_n, len = (size_t)(rand() % 60000);
		char *want;

		while (in.len < len)
			buf_adds(&in, pieces[rand() % (sizeof pieces / sizeof pieces[0])]);
		put_file("new/1.A.h", in.p ? in.p : "", in.len);
		ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
		ck_assert_uint_eq(md.n, 1);
		ck_assert_int_eq(maildrop_send(&md, 0, -1, 1, buf_sink, &out), 0);
		want = naive_wire(in.p ? in.p : "", in.len, &want_n);
		ck_assert_uint_eq(out.len, want_n);
		ck_assert(out.len == 0 || memcmp(out.p, want, want_n) == 0);
		/* the size is what goes out, less the stuffing dots */
		buf_free(&out);
		ck_assert_int_eq(maildrop_send(&md, 0, -1, 0, buf_sink, &out), 0);
		ck_assert_int_eq((long)out.len, md.m[0].size);
		maildrop_close(&md);
		free(want);
		buf_free(&in);
		buf_free(&out);
		{
			char p[512];

			snprintf(p, sizeof p, "%s/%s", tmp, MAILDROP_SIZES);
			unlink(p);
		}
	}
	rm_tmp();
}
END_TEST

START_TEST(maildir_list_send_top)
{
	struct maildrop md;
	const char *why;
	char *s;
	const char *m1 = "Subject: a\n\n.leading dot\nbody\n..";

	mkmaildir();
	put_file("new/1700000002.M2.h", m1, strlen(m1));
	put_file("cur/1700000001.M1.h:2,S", "S: b\r\n\r\nx\r\n", 11);
	put_file("new/1700000003.M3.h,S=5,W=999", "short", 5);
	put_file("new/.hidden", "x", 1);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	ck_assert_uint_eq(md.n, 3);
	ck_assert_str_eq(md.m[0].uid, "1700000001.M1.h");
	ck_assert_str_eq(md.m[1].uid, "1700000002.M2.h");
	ck_assert_str_eq(md.m[2].uid, "1700000003.M3.h,S=5,W=999");
	ck_assert_int_eq(md.m[0].size, 11);
	ck_assert_int_eq(md.m[1].size, (long)strlen(m1) + 4 + 2);
	ck_assert_int_eq(md.m[2].size, 999);      /* from the name, unread */

	s = send_str(&md, 1, -1, 1);
	ck_assert_str_eq(s, "Subject: a\r\n\r\n..leading dot\r\nbody\r\n...\r\n");
	free(s);
	s = send_str(&md, 1, -1, 0);
	ck_assert_int_eq((long)strlen(s), md.m[1].size);
	free(s);
	s = send_str(&md, 1, 1, 1);
	ck_assert_str_eq(s, "Subject: a\r\n\r\n..leading dot\r\n");
	free(s);
	s = send_str(&md, 1, 0, 1);
	ck_assert_str_eq(s, "Subject: a\r\n\r\n");
	free(s);
	ck_assert_int_eq(maildrop_send(&md, 1, -1, 1, fail_sink, NULL), -1);
	ck_assert_int_eq(maildrop_send(&md, 7, -1, 1, fail_sink, NULL), -1);
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

START_TEST(maildir_update)
{
	struct maildrop md;
	const char *why;

	mkmaildir();
	put_file("new/1.A.h", "a\n", 2);
	put_file("new/2.B.h", "b\n", 2);
	put_file("cur/3.C.h:2,FR", "c\n", 2);
	put_file("cur/4.D.h:2,", "d\n", 2);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	ck_assert_uint_eq(md.n, 4);
	md.m[0].seen = 1;
	md.m[1].deleted = 1;
	md.m[2].seen = 1;
	md.m[3].deleted = 1;
	ck_assert_int_eq(maildrop_commit(&md, &why), 0);
	maildrop_close(&md);
	ck_assert(exists("cur/1.A.h:2,S"));
	ck_assert(!exists("new/1.A.h"));
	ck_assert(!exists("new/2.B.h"));
	ck_assert(exists("cur/3.C.h:2,FRS"));     /* flags stay in ASCII order */
	ck_assert(!exists("cur/4.D.h:2,"));

	/* a second open sees the same ids */
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	ck_assert_uint_eq(md.n, 2);
	ck_assert_str_eq(md.m[0].uid, "1.A.h");
	ck_assert_str_eq(md.m[1].uid, "3.C.h");
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

START_TEST(maildir_renamed_and_vanished)
{
	struct maildrop md;
	const char *why;
	char a[512], b[512], *s;

	mkmaildir();
	put_file("new/1.A.h", "a\n", 2);
	put_file("new/2.B.h", "b\n", 2);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	/* a MUA moves one, another process removes the other */
	snprintf(a, sizeof a, "%s/new/1.A.h", tmp);
	snprintf(b, sizeof b, "%s/cur/1.A.h:2,S", tmp);
	ck_assert_int_eq(rename(a, b), 0);
	snprintf(a, sizeof a, "%s/new/2.B.h", tmp);
	ck_assert_int_eq(unlink(a), 0);
	s = send_str(&md, 0, -1, 1);
	ck_assert_str_eq(s, "a\r\n");
	free(s);
	ck_assert_int_eq(maildrop_send(&md, 1, -1, 1, fail_sink, NULL), -1);
	md.m[0].deleted = 1;
	ck_assert_int_eq(maildrop_commit(&md, &why), 0);
	ck_assert(!exists("cur/1.A.h:2,S"));
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

START_TEST(maildir_in_use_and_missing)
{
	struct maildrop md, md2;
	const char *why;
	pid_t pid;
	int st;

	mkmaildir();
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	/* fcntl locks are per process: the second session is a child */
	if ((pid = fork()) == 0)
		_exit(maildrop_open(&md2, tmp, MB_MAILDIR, &why) == MD_INUSE ? 0 : 1);
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	maildrop_close(&md);
	if ((pid = fork()) == 0)
		_exit(maildrop_open(&md2, tmp, MB_MAILDIR, &why) == MD_OK ? 0 : 1);
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	rm_tmp();

	ck_assert_int_eq(maildrop_open(&md, "/nonexistent/Maildir", MB_MAILDIR, &why), MD_OK);
	ck_assert_uint_eq(md.n, 0);
	ck_assert_int_eq(maildrop_commit(&md, &why), 0);
	maildrop_close(&md);
}
END_TEST

/* mail, s-nail, mutt and neomutt add or rewrite Status:, X-Status:,
 * Content-Length: and Lines: when they quit: an mbox message's UIDL must
 * not change with them (RFC 1939 7), or keep-mode clients fetch it again. */
START_TEST(mbox_uidl_stable_across_mua_status)
{
	static const char *const before =
	    "From a@x Mon Nov 23 10:00:00 2026\n"
	    "Subject: one\nMessage-ID: <1@x>\n\nbody\n\n";
	static const char *const after =
	    "From a@x Mon Nov 23 10:00:00 2026\n"
	    "Subject: one\nMessage-ID: <1@x>\nStatus: RO\nX-Status: A\n"
	    "Content-Length: 5\nLines: 1\nX-UID: 7\nX-Keywords: $label1\n\tmore\n\nbody\n\n";
	static const char *const other =
	    "From a@x Mon Nov 23 10:00:00 2026\n"
	    "Subject: one!\nMessage-ID: <1@x>\nStatus: RO\n\nbody\n\n";
	static const char *const body =
	    "From a@x Mon Nov 23 10:00:00 2026\n"
	    "Subject: one\nMessage-ID: <1@x>\n\nbody changed\n\n";
	const char *v[] = { before, after, other, body };
	char uid[4][MAILDROP_UID_MAX + 1], path[512];
	struct maildrop md;
	const char *why;

	mk_tmp();
	snprintf(path, sizeof path, "%s/mbox", tmp);
	for (int i = 0; i < 4; i++) {
		put_file("mbox", v[i], strlen(v[i]));
		ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
		ck_assert_uint_eq(md.n, 1);
		snprintf(uid[i], sizeof uid[i], "%s", md.m[0].uid);
		maildrop_close(&md);
	}
	ck_assert_str_eq(uid[0], uid[1]);
	ck_assert_str_ne(uid[0], uid[2]);       /* other header fields count */
	ck_assert_str_ne(uid[0], uid[3]);       /* and the body */
	rm_tmp();
}
END_TEST

static const char mbox[] =
    "From a@x Mon Nov 23 10:00:00 2026\n"
    "Subject: one\n\n>From quoted\n>>From twice\n.dot\nFrom not a separator\n\n"
    "From b@x Mon Nov 23 10:01:00 2026\n"
    "Subject: two\n\nbody\n\n"
    "From c@x Mon Nov 23 10:02:00 2026\n"
    "Subject: three\n\nlast\n\n";

START_TEST(mbox_parse_send)
{
	struct maildrop md;
	const char *why;
	char path[512], *s;

	mk_tmp();
	put_file("mbox", mbox, strlen(mbox));
	snprintf(path, sizeof path, "%s/mbox", tmp);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert(exists("mbox.lock"));
	ck_assert_uint_eq(md.n, 3);
	s = send_str(&md, 0, -1, 1);
	ck_assert_str_eq(s, "Subject: one\r\n\r\nFrom quoted\r\n>From twice\r\n..dot\r\n"
	    "From not a separator\r\n");
	ck_assert_int_eq(md.m[0].size, (long)strlen(s) - 1);
	free(s);
	s = send_str(&md, 2, -1, 1);
	ck_assert_str_eq(s, "Subject: three\r\n\r\nlast\r\n");
	ck_assert_int_eq(md.m[2].size, (long)strlen(s));
	free(s);
	ck_assert_uint_eq(strlen(md.m[0].uid), 32);
	ck_assert_str_ne(md.m[0].uid, md.m[1].uid);
	maildrop_close(&md);

	/* three identical copies: three different ids, the first unchanged */
	{
		const char *one = "From a@x Mon Nov 23 10:00:00 2026\nS: x\n\ny\n\n";
		char three[256];

		snprintf(three, sizeof three, "%s%s%s", one, one, one);
		put_file("mbox", three, strlen(three));
		ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
		ck_assert_uint_eq(md.n, 3);
		ck_assert_uint_eq(strlen(md.m[0].uid), 32);
		ck_assert_str_eq(md.m[1].uid + 32, "-2");
		ck_assert_str_eq(md.m[2].uid + 32, "-3");
		ck_assert(strncmp(md.m[0].uid, md.m[2].uid, 32) == 0);
		maildrop_close(&md);
	}
	ck_assert(!exists("mbox.lock"));
	rm_tmp();
}
END_TEST

START_TEST(mbox_update_in_place)
{
	struct maildrop md;
	const char *why;
	char path[512], *got;
	size_t n;
	int fd;
	const char *second = strstr(mbox, "From b@x"), *third = strstr(mbox, "From c@x");
	const char *late = "From d@x Mon Nov 23 10:03:00 2026\nSubject: late\n\nx\n\n";

	mk_tmp();
	put_file("mbox", mbox, strlen(mbox));
	snprintf(path, sizeof path, "%s/mbox", tmp);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	md.m[1].deleted = 1;
	/* mail appended by a writer that ignored our locks is kept */
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_APPEND), 0);
	ck_assert_int_eq(write(fd, late, strlen(late)), (ssize_t)strlen(late));
	close(fd);
	ck_assert_int_eq(maildrop_commit(&md, &why), 0);
	maildrop_close(&md);
	got = get_file("mbox", &n);
	ck_assert_uint_eq(n, (size_t)(second - mbox) + strlen(third) + strlen(late));
	ck_assert(memcmp(got, mbox, (size_t)(second - mbox)) == 0);
	ck_assert(memcmp(got + (second - mbox), third, strlen(third)) == 0);
	ck_assert(memcmp(got + (second - mbox) + strlen(third), late, strlen(late)) == 0);
	free(got);

	/* delete everything: an empty file */
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert_uint_eq(md.n, 3);
	for (size_t i = 0; i < md.n; i++)
		md.m[i].deleted = 1;
	ck_assert_int_eq(maildrop_commit(&md, &why), 0);
	maildrop_close(&md);
	got = get_file("mbox", &n);
	ck_assert_uint_eq(n, 0);
	free(got);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert_uint_eq(md.n, 0);
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

START_TEST(mbox_locks_and_garbage)
{
	struct maildrop md;
	const char *why;
	char path[512];
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

	mk_tmp();
	put_file("mbox", mbox, strlen(mbox));
	snprintf(path, sizeof path, "%s/mbox", tmp);
	/* a stale dot-lock (from a crashed MDA) is taken over */
	put_file("mbox.lock", "", 0);
	snprintf(path, sizeof path, "%s/mbox.lock", tmp);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, old, 0), 0);
	snprintf(path, sizeof path, "%s/mbox", tmp);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert_uint_eq(md.n, 3);
	maildrop_close(&md);

	put_file("notmbox", "Subject: x\n\nnot an mbox\n", 24);
	snprintf(path, sizeof path, "%s/notmbox", tmp);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_ERR);
	ck_assert_ptr_nonnull(strstr(why, "not an mbox"));
	maildrop_close(&md);
	snprintf(path, sizeof path, "%s/missing", tmp);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert_uint_eq(md.n, 0);
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

START_TEST(maildir_size_cache)
{
	struct maildrop md;
	const char *why;
	char *c;
	size_t n;

	mkmaildir();
	put_file("new/1.A.h", "a\nb\n", 4);
	put_file("new/2.B.h,W=7", "xx\n", 3);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	ck_assert_int_eq(md.m[0].size, 6);
	maildrop_close(&md);
	ck_assert_ptr_nonnull(c = get_file(MAILDROP_SIZES, &n));
	ck_assert_str_eq(c, "1.A.h 6\n2.B.h,W=7 7\n");
	free(c);
	/* the cache is believed: the file is not read again */
	put_file(MAILDROP_SIZES, "1.A.h 42\ngarbage\n", 17);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	ck_assert_int_eq(md.m[0].size, 42);
	ck_assert_int_eq(md.m[1].size, 7);
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

/* DELE of a message another client removed meanwhile: UPDATE did what
 * was asked, so it reports no failure (a "-ERR" at QUIT would make a
 * client think its other deletions failed too). */
START_TEST(maildir_dele_of_vanished)
{
	struct maildrop md;
	const char *why;
	char a[512];

	mkmaildir();
	put_file("new/1.A.h", "a\n", 2);
	put_file("new/2.B.h", "b\n", 2);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	snprintf(a, sizeof a, "%s/new/2.B.h", tmp);
	ck_assert_int_eq(unlink(a), 0);
	md.m[0].deleted = md.m[1].deleted = 1;
	ck_assert_int_eq(maildrop_commit(&md, &why), 0);
	ck_assert(!exists("new/1.A.h"));
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

/* A ",W=" size (LFs made CRLF, as Dovecot and imapd count) lacks the
 * CRLF the wire adds after an unterminated last line: once read, the
 * size is the one sent. */
START_TEST(maildir_wsize_no_final_newline)
{
	struct maildrop md;
	const char *why;
	char *s;

	mkmaildir();
	put_file("new/1.A.h,S=4,W=5", "a\nbc", 4);
	put_file("new/2.B.h,S=2,W=3", "x\n", 2);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	ck_assert_int_eq(md.m[0].size, 5);
	s = send_str(&md, 0, -1, 1);
	ck_assert_str_eq(s, "a\r\nbc\r\n");
	ck_assert_int_eq(md.m[0].size, (off_t)strlen(s));
	free(s);
	s = send_str(&md, 1, -1, 1);
	ck_assert_int_eq(md.m[1].size, (off_t)strlen(s));
	free(s);
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

/* A FIFO renamed into a listed message's place is refused, not waited on. */
START_TEST(maildir_fifo_in_place_of_message)
{
	struct maildrop md;
	const char *why;
	char a[512];

	mkmaildir();
	put_file("new/1.A.h", "a\n", 2);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	snprintf(a, sizeof a, "%s/new/1.A.h", tmp);
	ck_assert_int_eq(unlink(a), 0);
	snprintf(a, sizeof a, "%s/cur/1.A.h:2,S", tmp);
	ck_assert_int_eq(mkfifo(a, 0600), 0);
	alarm(5);
	ck_assert_int_eq(maildrop_send(&md, 0, -1, 1, fail_sink, NULL), -1);
	alarm(0);
	maildrop_close(&md);
	rm_tmp();
}
END_TEST

/* TOP reads what it sends: the header of a 64 GiB message (sparse, its
 * size from ",W=") comes at once, without reading or allocating the rest. */
START_TEST(maildir_top_of_huge_message)
{
	static const char head[] = "Subject: huge\n\nline 1\nline 2\n";
	struct maildrop md;
	const char *why;
	char path[512], *s;
	int fd;

	mkmaildir();
	snprintf(path, sizeof path, "%s/new/1.A.h,S=68719476736,W=68719476740", tmp);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(write(fd, head, strlen(head)), (ssize_t)strlen(head));
	ck_assert_int_eq(ftruncate(fd, (off_t)64 << 30), 0);
	close(fd);
	ck_assert_int_eq(maildrop_open(&md, tmp, MB_MAILDIR, &why), MD_OK);
	alarm(10);
	s = send_str(&md, 0, 1, 1);
	ck_assert_str_eq(s, "Subject: huge\r\n\r\nline 1\r\n");
	free(s);
	s = send_str(&md, 0, 0, 1);
	ck_assert_str_eq(s, "Subject: huge\r\n\r\n");
	free(s);
	alarm(0);
	maildrop_close(&md);
	rm_tmp();
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

/* The dot-lock of a session that was killed (SIGTERM from the listener,
 * SIGKILL) names a dead pid: the next session takes it at once instead of
 * refusing the user for five minutes; a dead maildeliver's partial
 * message is cut off.  Our own lock says "pop3d PID". */
START_TEST(mbox_lock_of_dead_session)
{
	struct maildrop md;
	const char *why;
	char path[512], text[64], *lock;
	size_t n;

	mk_tmp();
	put_file("mbox", mbox, strlen(mbox));
	snprintf(text, sizeof text, "pop3d %ld\n", (long)dead_pid());
	put_file("mbox.lock", text, strlen(text));
	snprintf(path, sizeof path, "%s/mbox", tmp);
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert_uint_eq(md.n, 3);
	ck_assert_ptr_nonnull(lock = get_file("mbox.lock", &n));
	snprintf(text, sizeof text, "pop3d %ld\n", (long)getpid());
	ck_assert_str_eq(lock, text);
	free(lock);
	maildrop_close(&md);
	ck_assert(!exists("mbox.lock"));

	/* maildeliver killed in its append: lock "maildeliver PID SIZE" */
	put_file("mbox", mbox, strlen(mbox));
	snprintf(path, sizeof path, "%s/mbox", tmp);
	{
		FILE *f = fopen(path, "ab");
		fputs("From half a message", f);
		fclose(f);
	}
	snprintf(text, sizeof text, "maildeliver %ld %zu\n", (long)dead_pid(), strlen(mbox));
	put_file("mbox.lock", text, strlen(text));
	ck_assert_int_eq(maildrop_open(&md, path, MB_MBOX, &why), MD_OK);
	ck_assert_uint_eq(md.n, 3);
	maildrop_close(&md);
	ck_assert_ptr_nonnull(lock = get_file("mbox", &n));
	ck_assert_uint_eq(n, strlen(mbox));
	free(lock);
	rm_tmp();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("pop3d");
	TCase *t = tcase_create("maildrop");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, crlf_sizes);
	tcase_add_test(t, maildir_list_send_top);
	tcase_add_test(t, maildir_random_messages);
	tcase_add_test(t, maildir_update);
	tcase_add_test(t, maildir_size_cache);
	tcase_add_test(t, maildir_renamed_and_vanished);
	tcase_add_test(t, maildir_in_use_and_missing);
	tcase_add_test(t, mbox_parse_send);
	tcase_add_test(t, mbox_uidl_stable_across_mua_status);
	tcase_add_test(t, mbox_update_in_place);
	tcase_add_test(t, mbox_locks_and_garbage);
	tcase_add_test(t, maildir_dele_of_vanished);
	tcase_add_test(t, maildir_wsize_no_final_newline);
	tcase_add_test(t, mbox_lock_of_dead_session);
	tcase_add_test(t, maildir_fifo_in_place_of_message);
	tcase_add_test(t, maildir_top_of_huge_message);
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
