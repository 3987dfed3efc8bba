/* Unit tests of imapd's parser and store: the command reader fed one byte
 * at a time and all at once (the same events must come out), the argument
 * parser, sequence sets, modified UTF-7 (RFC 3501 5.1.3) and mailbox names,
 * and the Maildir store (UIDs kept, new files numbered, flags renamed). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "../../imapd/parse.h"
#include "../../imapd/store.h"

const char *const progname = "test_imapd";

/* Feed in[0..n) in slices of step bytes; describe every event in out:
 * "D<cmd>|" for a command, "C|" continuation, "E<why>|", "F<why>|". */
static void run_reader(const char *in, size_t n, size_t step, struct buf *out)
{
	struct imap_reader r;
	size_t off = 0;

	imap_reader_init(&r);
	while (off < n) {
		size_t len = n - off < step ? n - off : step, used = 0;

		while (used < len) {
			size_t k;
			enum rd_event ev = imap_reader_feed(&r, in + off + used, len - used, &k);

			used += k;
			switch (ev) {
			case RD_MORE: break;
			case RD_CONT: buf_adds(out, "C|"); break;
			case RD_DONE:
				buf_addc(out, 'D');
				buf_add(out, r.cmd.p, r.cmd.len);
				buf_addc(out, '|');
				break;
			case RD_ERROR: buf_printf(out, "E%s|", r.why); break;
			case RD_FATAL: buf_printf(out, "F%s|", r.why); off = n; used = len; break;
			}
		}
		off += len;
	}
	imap_reader_free(&r);
}

static void check_reader(const char *in, size_t n, const char *want)
{
	struct buf whole = { 0 }, bytes = { 0 }, sevens = { 0 };

	run_reader(in, n, n, &whole);
	run_reader(in, n, 1, &bytes);
	run_reader(in, n, 7, &sevens);
	ck_assert_str_eq(whole.p ? whole.p : "", want);
	ck_assert_str_eq(bytes.p ? bytes.p : "", want);
	ck_assert_str_eq(sevens.p ? sevens.p : "", want);
	buf_free(&whole);
	buf_free(&bytes);
	buf_free(&sevens);
}

#define CHECK_READER(in, want) check_reader(in, sizeof in - 1, want)

START_TEST(reader_lines)
{
	CHECK_READER("a NOOP\r\n", "Da NOOP|");
	CHECK_READER("a NOOP\nb NOOP\r\n", "Da NOOP|Db NOOP|");   /* bare LF from a person */
	CHECK_READER("\r\n", "D|");
	CHECK_READER("a NOOP", "");                                  /* not finished */
}
END_TEST

START_TEST(reader_literals)
{
	CHECK_READER("a LOGIN {3}\r\nbob {6}\r\nsecret\r\n",
	    "C|C|Da LOGIN {3}\r\nbob {6}\r\nsecret|");
	CHECK_READER("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n",
	    "Da LOGIN {3+}\r\nbob {6+}\r\nsecret|");
	/* literal bytes are data: a CRLF or a "{9}" inside is not a line end */
	CHECK_READER("a APPEND x {7+}\r\n{9}\r\n\r\n\r\n", "Da APPEND x {7+}\r\n{9}\r\n\r\n|");
	CHECK_READER("a X {0}\r\n\r\n", "C|Da X {0}\r\n|");
	CHECK_READER("a X {1\r\n", "Da X {1|");                    /* no literal: text */
}
END_TEST

START_TEST(reader_limits)
{
	/* refused before anything is stored; the next command still works */
	CHECK_READER("a APPEND x {4294967295}\r\nb NOOP\r\n", "Eliteral too big|Db NOOP|");
	CHECK_READER("a APPEND x {99999999999999999999}\r\nb NOOP\r\n", "Eliteral too big|Db NOOP|");
	CHECK_READER("a APPEND x {67108865}\r\nb NOOP\r\n", "Eliteral too big|Db NOOP|");
	CHECK_READER("a APPEND x {4294967295+}\r\nb NOOP\r\n", "Fliteral too big|");
	CHECK_READER("a NO\0OP\r\nb NOOP\r\n", "ENUL byte in command|Db NOOP|");

	size_t n = IMAP_LINE_MAX + 100;
	char *big = malloc(n + 16);
	memset(big, 'x', n);
	memcpy(big, "t1 NOOP ", 8);
	memcpy(big + n, "\r\nb NOOP\r\n", 10);
	struct buf out = { 0 };
	run_reader(big, n + 10, n + 10, &out);
	ck_assert_str_eq(out.p, "Eline too long|Db NOOP|");
	buf_free(&out);
	run_reader(big, n + 10, 1000, &out);
	ck_assert_str_eq(out.p, "Eline too long|Db NOOP|");

	struct imap_reader r;
	size_t used;
	char tag[IMAP_TAG_MAX + 2];
	imap_reader_init(&r);
	ck_assert_int_eq(imap_reader_feed(&r, big, n + 10, &used), RD_ERROR);
	imap_reader_tag(&r, tag, sizeof tag);
	ck_assert_str_eq(tag, "t1");
	imap_reader_free(&r);
	buf_free(&out);
	free(big);
}
END_TEST

static int parse(const char *s, struct imap_cmd *c, const char **why)
{
	*why = NULL;
	return imap_parse(s, strlen(s), c, why);
}

START_TEST(parser_args)
{
	struct imap_cmd c;
	const char *why;

	ck_assert_int_eq(parse("A1 fetch 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.100>)", &c, &why), 0);
	ck_assert_str_eq(c.tag, "A1");
	ck_assert_str_eq(c.name, "FETCH");
	ck_assert_int_eq(c.nargs, 2);
	ck_assert_str_eq(c.args[0].s, "1:*");
	ck_assert_int_eq(c.args[1].type, ARG_LIST);
	ck_assert_int_eq(c.args[1].nkids, 2);
	ck_assert_str_eq(c.args[1].kids[1].s, "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>");
	imap_cmd_free(&c);

	static const char lit[] = "t LOGIN \"b\\\"o\\\\b\" {6}\r\nse\0ret";
	ck_assert_int_eq(imap_parse(lit, sizeof lit - 1, &c, &why), 0);
	ck_assert_str_eq(c.args[0].s, "b\"o\\b");
	ck_assert_int_eq(c.args[1].literal, 1);
	ck_assert_int_eq(c.args[1].len, 6);
	imap_cmd_free(&c);

	ck_assert_int_eq(parse("t APPEND x (\\Seen) \"\" {2+}\r\nhi", &c, &why), 0);
	ck_assert_int_eq(c.nargs, 4);
	ck_assert_int_eq(c.args[2].len, 0);
	ck_assert_str_eq(c.args[3].s, "hi");
	imap_cmd_free(&c);

	ck_assert_int_eq(parse("t NOOP", &c, &why), 0);
	ck_assert_int_eq(c.nargs, 0);
	imap_cmd_free(&c);
	ck_assert_int_eq(parse("t AUTHENTICATE CRAM-MD5 ", &c, &why), 0);   /* mutt */
	ck_assert_int_eq(c.nargs, 1);
	imap_cmd_free(&c);
}
END_TEST

START_TEST(parser_errors)
{
	static const struct { const char *in, *why; } bad[] = {
		{ "", "bad tag" }, { "+ NOOP", "bad tag" }, { "t", "missing command" },
		{ "t (", "bad command name" }, { "t X (a", "missing )" }, { "t X a)", "unexpected )" },
		{ "t X \"abc", "unterminated quoted string" }, { "t X \"a\\b\"", "bad escape in quoted string" },
		{ "t X \"a\"\"b\"", "missing space between arguments" }, { "t X (a )", "trailing space" },
		{ "t X {5}\r\nab", "short literal" }, { "t X BODY[", "unterminated [" },
		{ "t X {x}", "bad literal" }, { "t X {3}abc", "literal not at end of line" },
	};
	struct imap_cmd c;
	const char *why;

	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(parse(bad[i].in, &c, &why) < 0, "accepted: %s", bad[i].in);
		ck_assert_msg(why && strcmp(why, bad[i].why) == 0, "%s: %s", bad[i].in, why);
		imap_cmd_free(&c);
	}
	char deep[IMAP_NEST_MAX + 16] = "t X ";
	memset(deep + 4, '(', IMAP_NEST_MAX + 1);
	ck_assert_int_lt(parse(deep, &c, &why), 0);
	ck_assert_str_eq(why, "lists nested too deep");
	imap_cmd_free(&c);
}
END_TEST

START_TEST(seqsets)
{
	struct seqset s;

	ck_assert_int_eq(seqset_parse("1,3:5,9:*", &s), 0);
	ck_assert(seqset_has(&s, 1, 20) && !seqset_has(&s, 2, 20) && seqset_has(&s, 4, 20));
	ck_assert(seqset_has(&s, 20, 20) && !seqset_has(&s, 8, 20));
	ck_assert(seqset_has(&s, 9, 5));        /* 9:* with max 5 is 5:9 */
	seqset_free(&s);
	ck_assert_int_eq(seqset_parse("7:2", &s), 0);
	ck_assert(seqset_has(&s, 3, 100));
	seqset_free(&s);
	ck_assert_int_eq(seqset_parse("*", &s), 0);
	ck_assert(seqset_has(&s, 10, 10) && !seqset_has(&s, 9, 10));
	seqset_free(&s);
	static const char *const bad[] = { "", "0", "1:", ":1", "1,", "a", "4294967296", "1:0", "01" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(seqset_parse(bad[i], &s) < 0, "accepted %s", bad[i]);
}
END_TEST

/* number and nz-number (RFC 3501 9), the reader of sequence sets, partials
 * and URL parts: where it stops, and what it refuses */
START_TEST(numbers)
{
	static const struct { const char *s; int nz; int64_t v; size_t used; } t[] = {
		{ "0", 0, 0, 1 }, { "007.", 0, 7, 3 }, { "4294967295>", 0, 4294967295, 10 },
		{ "12:3", 1, 12, 2 }, { "1", 1, 1, 1 }, { "0000000000000000000042", 0, 42, 22 },
		{ "0", 1, -1, 0 }, { "01", 1, -1, 0 }, { "4294967296", 0, -1, 0 },
		{ "99999999999999999999", 1, -1, 0 }, { "", 0, -1, 0 }, { "-1", 0, -1, 0 },
		{ "+1", 0, -1, 0 }, { " 1", 0, -1, 0 },
	};

	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		const char *p = t[i].s;
		int64_t v = imap_number32(&p, t[i].nz);

		ck_assert_msg(v == t[i].v, "%s (nz %d): %lld", t[i].s, t[i].nz, (long long)v);
		if (v >= 0)
			ck_assert_msg(p == t[i].s + t[i].used, "%s: stopped at %td", t[i].s, p - t[i].s);
	}
	/* the whole of a slice, whatever follows it */
	static const struct { const char *s; size_t n; int nz; int64_t v; } w[] = {
		{ "123", 2, 0, 12 }, { "123", 3, 1, 123 }, { "01", 2, 0, 1 }, { "1.5", 1, 1, 1 },
		{ "4294967295", 10, 1, 4294967295 }, { "00", 1, 0, 0 },
		{ "01", 2, 1, -1 }, { "0", 1, 1, -1 }, { "1", 0, 0, -1 }, { "12a", 3, 0, -1 },
		{ "1 2", 3, 0, -1 }, { "42949672950", 11, 0, -1 }, { ".5", 2, 0, -1 },
	};
	for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
		int64_t v = imap_number32_span(w[i].s, w[i].n, w[i].nz);

		ck_assert_msg(v == w[i].v, "%.*s (nz %d): %lld", (int)w[i].n, w[i].s, w[i].nz, (long long)v);
	}
}
END_TEST

/* Date: fields as SORT and the SENT* keys read them (RFC 5322 3.3, 4.3) */
START_TEST(sent_date)
{
	struct sent_date d;

	ck_assert_int_eq(imap_sent_date("Mon, 2 Jan 2023 10:04:05 -0130", &d), 0);
	ck_assert_int_eq(d.year, 2023);
	ck_assert_int_eq(d.month, 1);
	ck_assert_int_eq(d.day, 2);
	ck_assert_int_eq(d.hh * 10000 + d.mm * 100 + d.ss, 100405);
	ck_assert_int_eq(d.zone, -90);
	ck_assert_int_eq(imap_sent_date(" 6 Jan 23 9:00 pdt", &d), 0);     /* obsolete forms */
	ck_assert_int_eq(d.year, 2023);
	ck_assert_int_eq(d.zone, -7 * 60);
	ck_assert_int_eq(d.ss, 0);
	ck_assert_int_eq(imap_sent_date("6 Jan 99 09 : 00 : 01 (comment)", &d), 0);
	ck_assert_int_eq(d.year, 1999);
	ck_assert_int_eq(d.ss, 1);
	ck_assert_int_eq(d.zone, 0);
	ck_assert_int_eq(imap_sent_date("1 Mar 102 00:00 Z", &d), 0);
	ck_assert_int_eq(d.year, 2002);
	ck_assert_int_eq(imap_sent_date("29 Feb 2024 23:59:60 +2359", &d), 0);
	/* not a real time, or not a date at all */
	const char *bad[] = {
		"31 Feb 2023 10:00 +0000", "29 Feb 2023 10:00 +0000", "0 Jan 2023 10:00 +0000",
		"4 Jan 2023 -1:-1:00 +0000", "4 Jan 2023 24:00 +0000", "4 Jan 2023 10:60 +0000",
		"4 Jan 2023 10:00:61 +0000", "5 Jan 2023 10:00 +9959", "5 Jan 2023 10:00 +0060",
		"5 Jan 2023 10:00 +01", "5 January 2023 10:00", "5 Jnu 2023 10:00", "5 Jan 12023 10:00",
		"5 Jan 2 10:00", "5 Jan 2023", "5 Jan 2023 10", "Jan 5 2023 10:00", "", "Mon,",
		"99999999999 Jan 2023 10:00",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(imap_sent_date(bad[i], &d) < 0, "accepted: %s", bad[i]);
}
END_TEST

START_TEST(mutf7)
{
	static const struct { const char *utf8, *m; } v[] = {
		{ "INBOX", "INBOX" }, { "&", "&-" }, { "Entw\xc3\xbc" "rfe", "Entw&APw-rfe" },
		{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },
		{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },            /* RFC 3501 5.1.3 */
		{ "\xf0\x9f\x98\x80 x", "&2D3eAA- x" },          /* outside the BMP: a surrogate pair */
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		struct buf a = { 0 }, b = { 0 };

		ck_assert_int_eq(mutf7_encode(v[i].utf8, &a), 0);
		ck_assert_str_eq(a.p, v[i].m);
		ck_assert_int_eq(mutf7_decode(v[i].m, &b), 0);
		ck_assert_str_eq(b.p, v[i].utf8);
		buf_free(&a);
		buf_free(&b);
	}
	static const char *const bad[] = {
		"&Jjo", "a&", "&AGE-", "&-&", "&AOk-&AOk-", "&AAA-", "\xc3\xa9", "&2D0-", "&U,BTF2-", "tab\there", "&=-",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct buf b = { 0 };

		ck_assert_msg(mutf7_decode(bad[i], &b) < 0, "accepted %s", bad[i]);
		buf_free(&b);
	}
	struct buf b = { 0 };
	ck_assert_int_lt(mutf7_encode("\xff", &b), 0);
	buf_free(&b);
}
END_TEST

START_TEST(names)
{
	static const char *const good[] = { "INBOX", "a", "a.b", "Sent", "&ZeVnLIqe-", "x y" };
	static const char *const bad[] = {
		"", ".", "..", "a..b", ".a", "a.", "a/b", "../x", "&Jjo", "a~b", "\x01", "a*", "b%c",
	};

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		ck_assert_msg(store_name_ok(good[i]), "refused %s", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(!store_name_ok(bad[i]), "accepted %s", bad[i]);
	char p[STORE_PATH_MAX];
	ck_assert_int_eq(store_path("/m", "inbox", p, sizeof p), 0);
	ck_assert_str_eq(p, "/m");
	ck_assert_int_eq(store_path("/m", "a.b", p, sizeof p), 0);
	ck_assert_str_eq(p, "/m/.a.b");
}
END_TEST

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(store_uids)
{
	char dir[] = "/tmp/test_imapd.XXXXXX", p[1200];
	struct folder f = { 0 }, g = { 0 };
	struct sync_report r;
	const char *d;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(store_make_maildir(dir, 0), 0);
	snprintf(p, sizeof p, "%s/new", dir);
	put_file(p, "2.b.host", "Subject: b\n\nb\n");
	put_file(p, "1.a.host", "Subject: a\n\na\n");
	ck_assert_int_eq(store_open(&f, dir, "INBOX", 0), 0);
	ck_assert_int_eq(f.n, 2);
	ck_assert_int_eq(f.m[0].uid, 1);
	ck_assert_str_eq(f.m[0].base, "1.a.host");     /* numbered in name order */
	ck_assert(f.m[0].flags & FL_RECENT);
	ck_assert_int_eq(f.m[0].in_new, 0);              /* moved to cur/ */
	ck_assert_int_eq(store_map(&f, &f.m[1], &d, &n), 0);
	ck_assert_int_eq(n, 14);
	ck_assert_int_eq(f.m[1].wsize, 17);              /* three LFs sent as CRLF */
	store_unmap(d, n);
	ck_assert_int_eq(store_set_flags(&f, &f.m[0], FL_SEEN | FL_FLAGGED | FL_RECENT), 0);
	ck_assert_str_eq(f.m[0].name, "1.a.host:2,FS");
	uint32_t uv = f.uidvalidity;

	/* a second view sees the same UIDs, the flags, no \Recent */
	snprintf(p, sizeof p, "%s/cur", dir);
	put_file(p, "3.c.host:2,T", "Subject: c\n\nc\n");
	ck_assert_int_eq(store_open(&g, dir, "INBOX", 0), 0);
	ck_assert_int_eq(g.uidvalidity, uv);
	ck_assert_int_eq(g.n, 3);
	ck_assert_int_eq(g.m[0].flags, FL_SEEN | FL_FLAGGED);
	ck_assert_int_eq(g.m[2].uid, 3);
	ck_assert_int_eq(g.m[2].flags, FL_DELETED | FL_RECENT);
	ck_assert_int_eq(store_unlink(&g, &g.m[1]), 0);
	store_close(&g);

	/* the first view hears about it: one expunge, one new message */
	ck_assert_int_eq(store_sync(&f, 1, 0, &r), 0);
	ck_assert_int_eq(r.nexpunged, 1);
	ck_assert_int_eq(r.expunged[0], 2);
	ck_assert_int_eq(r.exists, 1);
	ck_assert_int_eq(f.n, 2);
	ck_assert_int_eq(f.m[1].uid, 3);
	sync_report_free(&r);
	/* without expunges allowed, a vanished message stays, marked gone */
	ck_assert_int_eq(store_unlink(&f, &f.m[1]), 0);
	ck_assert_int_eq(store_sync(&f, 0, 0, &r), 0);
	ck_assert_int_eq(r.nexpunged, 0);
	ck_assert_int_eq(f.n, 2);
	ck_assert(f.m[1].gone);
	sync_report_free(&r);
	store_close(&f);

	char cmd[1100];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A write of the UID list that fails (a full disk; here a directory where
 * its temporary file goes, which fails the same way even for root): a new
 * file gets no UID until the list can be written, so that UID is never
 * given to another file; and a folder with no list gets no UIDVALIDITY
 * that the next session would not see (issue 19, item 2). */
START_TEST(store_full_disk)
{
	char dir[] = "/tmp/test_imapd.XXXXXX", p[1200], tmp[1300], uvtmp[1300], cmd[1300];
	struct folder f = { 0 }, g = { 0 }, h = { 0 };

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(store_make_maildir(dir, 0), 0);
	snprintf(p, sizeof p, "%s/new", dir);
	put_file(p, "1.a.host", "Subject: a\n\na\n");
	ck_assert_int_eq(store_open(&f, dir, "INBOX", 0), 0);
	ck_assert_int_eq(f.n, 1);
	store_close(&f);

	snprintf(tmp, sizeof tmp, "%s/%s.tmp.%ld", dir, STORE_UIDLIST, (long)getpid());
	ck_assert_int_eq(mkdir(tmp, 0700), 0);          /* the disk is full */
	put_file(p, "2.b.host", "Subject: b\n\nb\n");
	ck_assert_int_eq(store_open(&g, dir, "INBOX", 0), 0);
	ck_assert_int_eq(g.n, 1);                       /* 2.b.host waits for a UID */
	ck_assert_int_eq(g.uidnext, 2);
	store_close(&g);
	snprintf(cmd, sizeof cmd, "rm %s/*/2.b.host*", dir);
	ck_assert_int_eq(system(cmd), 0);               /* expunged meanwhile */
	snprintf(p, sizeof p, "%s/new", dir);
	put_file(p, "3.c.host", "Subject: c\n\nc\n");
	ck_assert_int_eq(rmdir(tmp), 0);                /* space again */
	ck_assert_int_eq(store_open(&h, dir, "INBOX", 0), 0);
	ck_assert_int_eq(h.n, 2);
	ck_assert_int_eq(h.m[1].uid, 2);                /* UID 2 was never announced before */
	ck_assert_str_eq(h.m[1].base, "3.c.host");
	store_close(&h);

	/* no list at all, and a full disk: no UIDVALIDITY at all */
	snprintf(p, sizeof p, "%s/.sub", dir);
	ck_assert_int_eq(store_make_maildir(p, 1), 0);
	snprintf(tmp, sizeof tmp, "%s/%s.tmp.%ld", p, STORE_UIDLIST, (long)getpid());
	snprintf(uvtmp, sizeof uvtmp, "%s/%s.tmp.%ld", dir, STORE_UIDVALIDITY, (long)getpid());
	ck_assert_int_eq(mkdir(tmp, 0700), 0);
	ck_assert_int_eq(mkdir(uvtmp, 0700), 0);
	ck_assert_int_eq(store_open(&f, p, "sub", 0), -1);
	store_close(&f);
	ck_assert_int_eq(rmdir(uvtmp), 0);              /* the counter can be written, not the list */
	ck_assert_int_eq(store_open(&f, p, "sub", 0), -1);
	store_close(&f);
	ck_assert_int_eq(rmdir(tmp), 0);
	ck_assert_int_eq(store_open(&f, p, "sub", 0), 0);
	ck_assert_uint_ne(f.uidvalidity, 0);
	store_close(&f);

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static void age_dirs(const char *dir)
{
	static const char *const subs[] = { "cur", "new" };
	struct timespec old[2] = { { time(NULL) - 3600, 0 }, { time(NULL) - 3600, 0 } };
	char p[1100];

	for (size_t i = 0; i < 2; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, subs[i]);
		ck_assert_int_eq(utimensat(AT_FDCWD, p, old, 0), 0);
	}
}

/* SELECT of an unchanged folder reads the list's header only; the view
 * loaded later is the one announced, even if the folder changed since. */
START_TEST(store_lazy)
{
	char dir[] = "/tmp/test_imapd.XXXXXX", p[1200];
	struct folder f = { 0 };
	struct store_summary sum;
	struct sync_report r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(store_make_maildir(dir, 0), 0);
	snprintf(p, sizeof p, "%s/cur", dir);
	put_file(p, "1.a.host:2,S", "Subject: a\n\na\n");
	put_file(p, "2.b.host:2,", "Subject: b\n\nb\n");
	age_dirs(dir);
	ck_assert_int_eq(store_open(&f, dir, "INBOX", 0), 0);
	ck_assert_int_eq(f.lazy, 0);            /* first time: the directories are read */
	store_close(&f);
	memset(&f, 0, sizeof f);
	ck_assert_int_eq(store_open(&f, dir, "INBOX", 0), 0);
	ck_assert_int_eq(f.lazy, 1);
	store_summary(&f, &sum);
	ck_assert_int_eq(sum.messages, 2);
	ck_assert_int_eq(sum.unseen, 1);
	ck_assert_int_eq(sum.first_unseen, 2);
	ck_assert_int_eq(sum.recent, 0);
	put_file(p, "3.c.host:2,", "Subject: c\n\nc\n");
	ck_assert_int_eq(store_load(&f), 0);
	ck_assert_int_eq(f.n, 2);               /* as announced */
	ck_assert_int_eq(f.m[1].uid, 2);
	ck_assert_int_eq(store_sync(&f, 1, 0, &r), 0);
	ck_assert_int_eq(r.exists, 1);          /* the news come with the next sync */
	ck_assert_int_eq(f.n, 3);
	ck_assert_int_eq(f.m[2].uid, 3);
	sync_report_free(&r);
	store_close(&f);

	char cmd[1100];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("imapd");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, reader_lines);
	tcase_add_test(tc, reader_literals);
	tcase_add_test(tc, reader_limits);
	tcase_add_test(tc, parser_args);
	tcase_add_test(tc, parser_errors);
	tcase_add_test(tc, seqsets);
	tcase_add_test(tc, numbers);
	tcase_add_test(tc, sent_date);
	tcase_add_test(tc, mutf7);
	tcase_add_test(tc, names);
	tcase_add_test(tc, store_uids);
	tcase_add_test(tc, store_lazy);
	tcase_add_test(tc, store_full_disk);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
