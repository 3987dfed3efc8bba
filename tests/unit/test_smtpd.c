/* Unit tests of smtpd's own modules: RFC 5321 paths, CIDR lists, local
 * domains, the DATA reader (whole and byte by byte, with every smuggling
 * variant), BDAT's CRLF conversion, header lookup and the Received: line,
 * and in-process local delivery (lib/deliver, as maildeliver). */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../../smtpd/smtpd.h"

const char *const progname = "test_smtpd";

static const char *path_ok(const char *in, int utf8, int null_ok, char *out)
{
	char buf[1024], *p = buf;

	snprintf(buf, sizeof buf, "%s", in);
	return parse_path(&p, out, SMTP_PATH_MAX + 1, utf8, null_ok);
}

START_TEST(paths_good)
{
	static const struct { const char *in, *out; int null_ok; } v[] = {
		{ "<a@b.example>", "a@b.example", 0 },
		{ "<>", "", 1 },
		{ "<first.last+tag@sub.example.org>", "first.last+tag@sub.example.org", 0 },
		{ "<\"john doe\"@example.org>", "\"john doe\"@example.org", 0 },
		{ "<\"a>b\"@example.org>", "\"a>b\"@example.org", 0 },
		{ "<\"q\\\"x\"@example.org>", "\"q\\\"x\"@example.org", 0 },
		{ "<\"a\\ b\\~\"@example.org>", "\"a\\ b\\~\"@example.org", 0 },
		{ "<@relay.example,@b.example:u@c.example>", "u@c.example", 0 },
		{ "<u@[192.0.2.1]>", "u@[192.0.2.1]", 0 },
		{ "<u@[IPv6:2001:db8::1]>", "u@[IPv6:2001:db8::1]", 0 },
		{ "<Postmaster>", "Postmaster", 0 },
		{ "<!#$%&'*+-/=?^_`{|}~@x.example>", "!#$%&'*+-/=?^_`{|}~@x.example", 0 },
	};
	char out[SMTP_PATH_MAX + 1];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		const char *why = path_ok(v[i].in, 0, v[i].null_ok, out);

		ck_assert_msg(why == NULL, "%s: %s", v[i].in, why);
		ck_assert_str_eq(out, v[i].out);
	}
}
END_TEST

START_TEST(paths_bad)
{
	static const char *const v[] = {
		"a@b.example", "<a@b.example", "<>", "<a>", "<@a:>", "<.a@b.example>",
		"<a.@b.example>", "<a..b@c.example>", "<a b@c.example>", "<a@b..example>",
		"<a@-b.example>", "<a@b-.example>", "<a@>", "<@b.example>", "<a@b@c.example>",
		"<a@b_c.example>", "<\"unterminated@b.example>", "<a@[1.2.3.4>", "<a@[]>",
		"<j\xc3\xb6rg@example.org>", "<a@b\xc3\xbc.example>", "<a\x01@b.example>",
		"<postmaster2>",
		/* qtextSMTP and quoted-pairSMTP (%d92 %d32-126): no control
		 * byte in a quoted local part, escaped or not (RFC 5321 4.1.2) */
		"<\"a\tb\"@c.example>", "<\"a\\\rX-Injected: yes\"@c.example>",
		"<\"a\\\x1b\"@c.example>", "<\"a\\\x07\"@c.example>",
		"<\"a\\\tb\"@c.example>", "<\"a\\\x7f\"@c.example>",
		"<\"a\\\x01\"@c.example>", "<\"a\\\xc3\xa9\"@c.example>",
	};
	char out[SMTP_PATH_MAX + 1];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		ck_assert_msg(path_ok(v[i], 0, 0, out) != NULL, "accepted %s", v[i]);
}
END_TEST

START_TEST(paths_utf8_and_length)
{
	char out[SMTP_PATH_MAX + 1], in[600], *p;

	ck_assert_ptr_null(path_ok("<j\xc3\xb6rg@b\xc3\xbc" "cher.example>", 1, 0, out));
	ck_assert(has_8bit(out));
	ck_assert(!has_8bit("plain@example.org"));
	/* a path of 256 octets with its brackets is the limit (RFC 5321 4.5.3.1.3) */
	memset(in, 'a', sizeof in);
	in[0] = '<';
	memcpy(in + 254 - 12, "@example.org", 12);
	in[254] = '>';
	in[255] = '\0';
	ck_assert_ptr_null(path_ok(in, 0, 0, out));
	memset(in, 'a', sizeof in);
	in[0] = '<';
	memcpy(in + 256 - 12, "@example.org", 12);
	in[256] = '>';
	in[257] = '\0';
	ck_assert_ptr_nonnull(path_ok(in, 0, 0, out));
	/* parameters after the path are left for the caller */
	char buf[] = "<a@b.example> SIZE=10 BODY=8BITMIME";
	p = buf;
	ck_assert_ptr_null(parse_path(&p, out, sizeof out, 0, 0));
	ck_assert_str_eq(p, "SIZE=10 BODY=8BITMIME");
	ck_assert_str_eq(addr_domain("a@b.example"), "b.example");
	ck_assert_str_eq(addr_domain("postmaster"), "");
}
END_TEST

START_TEST(cidrs)
{
	struct cidr c[4];

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &c[0]), 0);
	ck_assert_int_eq(cidr_parse("192.0.2.128/25", &c[1]), 0);
	ck_assert_int_eq(cidr_parse("2001:db8::/32", &c[2]), 0);
	ck_assert_int_eq(cidr_parse("127.0.0.1", &c[3]), 0);
	ck_assert(cidr_match(c, 4, "10.255.1.2"));
	ck_assert(!cidr_match(c, 4, "11.0.0.1"));
	ck_assert(cidr_match(c, 4, "192.0.2.200"));
	ck_assert(!cidr_match(c, 4, "192.0.2.127"));
	ck_assert(cidr_match(c, 4, "2001:db8:1::5"));
	ck_assert(!cidr_match(c, 4, "2001:db9::5"));
	ck_assert(cidr_match(c, 4, "::ffff:10.1.1.1"));
	ck_assert(cidr_match(c, 4, "127.0.0.1"));
	ck_assert(!cidr_match(c, 4, "127.0.0.2"));
	ck_assert(!cidr_match(c, 4, ""));
	ck_assert(!cidr_match(c, 4, "stdin"));
	ck_assert_int_eq(cidr_parse("10.0.0.0/33", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("10.0.0.0/", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("example.org", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("::/129", &c[0]), -1);
	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &c[0]), 0);
	ck_assert(cidr_match(c, 1, "203.0.113.9"));
}
END_TEST

START_TEST(local_domains)
{
	struct config cfg;

	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.hostname, sizeof cfg.hostname, "mx.example.org");
	ck_assert(domain_is_local(&cfg, "MX.example.org"));
	ck_assert(domain_is_local(&cfg, "localhost"));
	ck_assert(!domain_is_local(&cfg, "example.org"));
	cfg.domains[0] = "example.org";
	cfg.domains[1] = "example.net";
	cfg.ndomains = 2;
	ck_assert(domain_is_local(&cfg, "Example.NET"));
	ck_assert(!domain_is_local(&cfg, "mx.example.org"));
	ck_assert(!domain_is_local(&cfg, "sub.example.org"));
}
END_TEST

START_TEST(crlf)
{
	struct buf b = { 0 };

	buf_adds(&b, "a\r\nb\nc\r\r\n\r\rd\r");
	crlf_to_lf(&b);
	ck_assert_uint_eq(b.len, strlen("a\nb\nc\r\n\r\rd\r"));
	ck_assert_str_eq(b.p, "a\nb\nc\r\n\r\rd\r");
	buf_free(&b);
}
END_TEST

START_TEST(headers)
{
	const char *m = "Subject: x\nmessage-id: <a@b>\n\tfolded\nDate: now\n\nFrom: body\n";

	ck_assert(header_has(m, strlen(m), "Message-ID"));
	ck_assert(header_has(m, strlen(m), "date"));
	ck_assert(!header_has(m, strlen(m), "From"));      /* in the body */
	ck_assert(!header_has(m, strlen(m), "Subj"));
	ck_assert(!header_has("", 0, "Date"));
}
END_TEST

/* ---- the DATA reader over a socket ---- */

static struct config dcfg;

static void session_on(struct session *s, int fd)
{
	memset(s, 0, sizeof *s);
	memset(&dcfg, 0, sizeof dcfg);
	dcfg.max_size = 1 << 20;
	dcfg.cmd_timeout = dcfg.data_timeout = 5;
	snprintf(dcfg.hostname, sizeof dcfg.hostname, "mx.test");
	s->cfg = &dcfg;
	s->privsep = -1;
	conn_init(&s->conn, fd, fd, CONN_SERVER);
	conn_set_timeout(&s->conn, 5);
}

/* Feed in[0..n) to data_read, all at once or one byte per write. */
static int feed(const char *in, size_t n, int bytewise, struct buf *msg, int *code, char *rest,
    size_t restcap)
{
	int sv[2], rc;
	struct session *s = calloc(1, sizeof *s);
	char why[SMTP_REPLY_MAX];
	pid_t pid;
	size_t len;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if ((pid = fork()) == 0) {
		close(sv[0]);
		for (size_t i = 0; i < n; i += bytewise ? 1 : n) {
			if (write(sv[1], in + i, bytewise ? 1 : n) < 0)
				_exit(1);
			if (bytewise)
				usleep(20);
		}
		_exit(0);
	}
	close(sv[1]);
	session_on(s, sv[0]);
	rc = data_read(s, code, why, sizeof why);
	buf_reset(msg);
	buf_add(msg, s->msg.p ? s->msg.p : "", s->msg.len);
	rest[0] = '\0';
	if (rc == 0 && conn_getline(&s->conn, rest, restcap, &len) != CONN_OK)
		rest[0] = '\0';
	waitpid(pid, NULL, 0);
	close(sv[0]);
	buf_free(&s->msg);
	free(s);
	return rc;
}

START_TEST(data_plain)
{
	static const char in[] = "Subject: x\r\n\r\n..dot\r\n.\r\nx\r\n\r\n.\r\nQUIT\r\n";
	struct buf m = { 0 };
	char rest[64];
	int code;

	for (int bw = 0; bw < 2; bw++) {
		ck_assert_int_eq(feed(in, strlen(in), bw, &m, &code, rest, sizeof rest), 0);
		ck_assert_int_eq(code, 0);
		ck_assert_str_eq(m.p, "Subject: x\n\n.dot\n");
		ck_assert_str_eq(rest, "x");
	}
	buf_free(&m);
}
END_TEST

/* Each smuggling variant is text of a refused message; the real end comes
 * later, and nothing after the fake end is left to run as commands. */
START_TEST(data_smuggling)
{
	static const char *const ends[] = { "\n.\n", "\r\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\r" };
	struct buf m = { 0 };
	char in[256], rest[64];
	int code;

	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
		for (int bw = 0; bw < 2; bw++) {
			snprintf(in, sizeof in, "x%sMAIL FROM:<evil@x>\r\n.\r\nNOOP\r\n", ends[i]);
			ck_assert_int_eq(feed(in, strlen(in), bw, &m, &code, rest, sizeof rest), 0);
			ck_assert_msg(code == 550, "end %zu: code %d", i, code);
			ck_assert_str_eq(rest, "NOOP");
		}
	buf_free(&m);
}
END_TEST

START_TEST(data_limits)
{
	struct buf m = { 0 }, in = { 0 };
	char rest[64];
	int code;

	for (int i = 0; i < 999; i++)
		buf_addc(&in, 'l');
	buf_adds(&in, "\r\n.\r\nNOOP\r\n");
	ck_assert_int_eq(feed(in.p, in.len, 0, &m, &code, rest, sizeof rest), 0);
	ck_assert_int_eq(code, 500);
	ck_assert_str_eq(rest, "NOOP");
	buf_reset(&in);
	for (int i = 0; i < 998; i++)
		buf_addc(&in, 'l');
	buf_adds(&in, "\r\n.\r\n");
	ck_assert_int_eq(feed(in.p, in.len, 0, &m, &code, rest, sizeof rest), 0);
	ck_assert_int_eq(code, 0);
	ck_assert_uint_eq(m.len, 999);
	/* a message over max_size is read to its end, then refused */
	buf_reset(&in);
	for (int i = 0; i < 20000; i++)
		buf_adds(&in, "0123456789012345678901234567890123456789012345678901234567890\r\n");
	buf_adds(&in, ".\r\nNOOP\r\n");
	ck_assert_int_eq(feed(in.p, in.len, 0, &m, &code, rest, sizeof rest), 0);
	ck_assert_int_eq(code, 552);
	ck_assert_str_eq(rest, "NOOP");
	/* no end of data at all: the connection is gone, nothing delivered */
	ck_assert_int_eq(feed("partial\r\n", 9, 0, &m, &code, rest, sizeof rest), -1);
	ck_assert_int_eq(feed("partial\r\n.", 10, 0, &m, &code, rest, sizeof rest), -1);
	buf_free(&m);
	buf_free(&in);
}
END_TEST

START_TEST(received)
{
	struct session *s = calloc(1, sizeof *s);
	struct buf b = { 0 };

	session_on(s, -1);
	snprintf(s->helo, sizeof s->helo, "client(evil)\r");
	snprintf(s->peer.addr, sizeof s->peer.addr, "2001:db8::1");
	snprintf(s->id, sizeof s->id, "ID1");
	snprintf(s->authuser, sizeof s->authuser, "bob");
	s->esmtp = 1;
	received_line(s, &b, "bob@example.org");
	ck_assert_msg(strncmp(b.p, "Received: from client_evil__ (unknown [IPv6:2001:db8::1])\n"
	    "\t(Authenticated sender: bob)\n\tby mx.test (maillab smtpd) with ESMTPA id <ID1@mx.test>\n"
	    "\tfor <bob@example.org>; ", strlen("Received: from client_evil__ (unknown [IPv6:2001:db8::1])\n"
	    "\t(Authenticated sender: bob)\n\tby mx.test (maillab smtpd) with ESMTPA id <ID1@mx.test>\n"
	    "\tfor <bob@example.org>; ")) == 0, "%s", b.p);
	ck_assert(b.p[b.len - 1] == '\n');
	buf_free(&b);
	free(s);
}
END_TEST

/* The one file in dir, read into out (NUL-terminated); its length or -1. */
static ssize_t only_file(const char *dir, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];
	ssize_t n = -1;
	int files = 0, fd;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		files++;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if ((fd = open(path, O_RDONLY)) >= 0) {
			n = read(fd, out, cap - 1);
			close(fd);
		}
	}
	closedir(d);
	if (files != 1 || n < 0)
		return -1;
	out[n] = '\0';
	return n;
}

START_TEST(local_inprocess)
{
	static const char msg[] = "Received: from x\n\tby y; date\nReturn-Path: <forged@evil>\n"
	    "Subject: t\n\nbody\n";
	static const char want[] = "Return-Path: <s@x.example>\nDelivered-To: bob@example.org\n"
	    "Received: from x\n\tby y; date\nSubject: t\n\nbody\n";
	char tmpl[] = "/tmp/test_smtpd.XXXXXX", users[64], home[64];
	char newdir[96], got[1024];
	struct config cfg = { .max_size = SMTPD_SIZE_DEFAULT };
	struct buf m = { 0 }, err = { 0 };
	unsigned uid = getuid(), gid = getgid();
	FILE *f;
	int fd;

	if (geteuid() == 0)             /* root delivers as the user, never as root */
		uid = gid = 65534;
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	ck_assert_int_eq(chmod(tmpl, 0755), 0);
	snprintf(users, sizeof users, "%s/users", tmpl);
	snprintf(home, sizeof home, "%s/home", tmpl);
	ck_assert_int_eq(mkdir(home, 0700), 0);
	ck_assert_int_eq(chown(home, uid, gid), 0);
	ck_assert_ptr_nonnull(f = fopen(users, "w"));
	fprintf(f, "bob:{PLAIN}x:%u:%u::%s::\n", uid, gid, home);
	fclose(f);
	cfg.users = users;
	buf_add(&m, msg, sizeof msg - 1);
	fd = memfd_create("t", 0);
	ck_assert_int_eq(write(fd, msg, sizeof msg - 1), (ssize_t)sizeof msg - 1);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);

	ck_assert_int_eq(local_deliver(&cfg, "s@x.example", "bob@example.org", fd, &m, &err), 0);
	snprintf(newdir, sizeof newdir, "%s/Maildir/new", home);
	ck_assert_int_eq(only_file(newdir, got, sizeof got), (ssize_t)sizeof want - 1);
	ck_assert_str_eq(got, want);

	/* a user the passwd-file does not know: 67 with maildeliver's reason */
	lseek(fd, 0, SEEK_SET);
	ck_assert_int_eq(local_deliver(&cfg, "", "carol@example.org", fd, &m, &err), EX_NOUSER);
	ck_assert_ptr_nonnull(err.p);
	ck_assert_str_eq(err.p, "carol@example.org: no such user\n");
	close(fd);
	buf_free(&m);
	buf_free(&err);
	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("smtpd");
	TCase *t = tcase_create("core");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, paths_good);
	tcase_add_test(t, paths_bad);
	tcase_add_test(t, paths_utf8_and_length);
	tcase_add_test(t, cidrs);
	tcase_add_test(t, local_domains);
	tcase_add_test(t, crlf);
	tcase_add_test(t, headers);
	tcase_add_test(t, data_plain);
	tcase_add_test(t, data_smuggling);
	tcase_add_test(t, data_limits);
	tcase_add_test(t, received);
	tcase_add_test(t, local_inprocess);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *r = srunner_create(suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
