/* Unit tests of smtp-send's modules: the reply parser (line by line and
 * through lib/conn one byte at a time), EHLO capabilities, the SASL client
 * (RFC 4616 and RFC 2195 vectors), the message (line ends, dots, -t), and
 * the composer (structure, encodings, RFC 2231 parameters). */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "b64.h"
#include "buf.h"
#include "conn.h"
#include "../../smtp-send/send.h"

const char *const progname = "test_smtp-send";

static enum reply_rc feed(struct reply *r, const char *line)
{
	const char *why;

	return reply_feed(r, line, strlen(line), &why);
}

START_TEST(reply_single)
{
	struct reply r = { 0 };

	ck_assert_int_eq(feed(&r, "250 2.1.0 Sender ok"), REPLY_DONE);
	ck_assert_int_eq(r.code, 250);
	ck_assert_str_eq(r.enh, "2.1.0");
	ck_assert_str_eq(r.text.p, "Sender ok");
	/* a bare code is a whole reply (RFC 5321 4.2) */
	ck_assert_int_eq(feed(&r, "354"), REPLY_DONE);
	ck_assert_int_eq(r.code, 354);
	ck_assert_str_eq(r.enh, "");
	ck_assert_str_eq(r.text.p, "");
	/* an enhanced code of another class is text */
	ck_assert_int_eq(feed(&r, "550 2.1.0 odd"), REPLY_DONE);
	ck_assert_str_eq(r.enh, "");
	ck_assert_str_eq(r.text.p, "2.1.0 odd");
	/* not an enhanced code: digits too long, no space after */
	ck_assert_int_eq(feed(&r, "250 2.1.0000 x"), REPLY_DONE);
	ck_assert_str_eq(r.enh, "");
	ck_assert_int_eq(feed(&r, "250 2.1.0x"), REPLY_DONE);
	ck_assert_str_eq(r.enh, "");
	ck_assert_int_eq(feed(&r, "451 4.7.1"), REPLY_DONE);
	ck_assert_str_eq(r.enh, "4.7.1");
	reply_free(&r);
}
END_TEST

START_TEST(reply_multi)
{
	struct reply r = { 0 };
	char sum[128];

	ck_assert_int_eq(feed(&r, "250-mx.example.org Hello"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-PIPELINING"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-SIZE 10240000"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-AUTH PLAIN LOGIN"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-AUTH=CRAM-MD5"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-8bitmime"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-STARTTLS"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250-CHUNKING"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250 SMTPUTF8"), REPLY_DONE);
	ck_assert_uint_eq(r.nlines, 9);
	reply_summary(&r, sum, sizeof sum);
	ck_assert_str_eq(sum, "250 mx.example.org Hello");
	reply_flat(&r, sum, 40);
	ck_assert_str_eq(sum, "mx.example.org Hello / PIPELINING / SIZ");

	struct caps c;

	caps_parse(&c, &r);
	ck_assert(c.pipelining && c.eightbitmime && c.starttls && c.chunking && c.smtputf8);
	ck_assert(c.has_size);
	ck_assert_uint_eq(c.size, 10240000);
	ck_assert_str_eq(c.auth, "PLAIN LOGIN CRAM-MD5");
	ck_assert(!c.dsn && !c.enhanced);
	/* the greeting line is not a keyword */
	ck_assert_int_eq(feed(&r, "250-PIPELINING.example"), REPLY_MORE);
	ck_assert_int_eq(feed(&r, "250 SIZE"), REPLY_DONE);
	caps_parse(&c, &r);
	ck_assert(!c.pipelining && c.has_size && c.size == 0);
	/* a new reply after a done one starts afresh */
	ck_assert_int_eq(feed(&r, "221 2.0.0 Bye"), REPLY_DONE);
	ck_assert_uint_eq(r.nlines, 1);
	ck_assert_str_eq(r.text.p, "Bye");
	reply_free(&r);
}
END_TEST

START_TEST(reply_bad)
{
	static const char *const bad[] = {
		"", "25", "hello", "250x", "2500 x", "650 x", "190 x", "2a0 x", "260 x", " 250 x",
	};
	struct reply r = { 0 };
	const char *why;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		reply_reset(&r);
		ck_assert_msg(reply_feed(&r, bad[i], strlen(bad[i]), &why) == REPLY_BAD, "%s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	reply_reset(&r);
	ck_assert_int_eq(feed(&r, "250-a"), REPLY_MORE);
	ck_assert_int_eq(reply_feed(&r, "251 b", 5, &why), REPLY_BAD);
	ck_assert_str_eq(why, "reply code changes within a multi-line reply");
	reply_reset(&r);
	ck_assert_int_eq(reply_feed(&r, "250 a\0b", 7, &why), REPLY_BAD);
	/* a flood of continuation lines stops at SEND_REPLY_LINES_MAX */
	reply_reset(&r);
	enum reply_rc rc = REPLY_MORE;
	size_t n = 0;

	while (rc == REPLY_MORE && n < 10 * SEND_REPLY_LINES_MAX) {
		rc = feed(&r, "250-x");
		n++;
	}
	ck_assert_int_eq(rc, REPLY_BAD);
	ck_assert_uint_eq(n, SEND_REPLY_LINES_MAX + 1);
	reply_free(&r);
}
END_TEST

/* Replies written into a socket one byte at a time come out whole. */
START_TEST(reply_bytewise)
{
	static const char wire[] = "220-first\r\n220 second\r\n250-a\n250 2.0.0 b\r\n";
	int sv[2];
	struct conn c;
	struct reply r = { 0 };
	char line[SEND_REPLY_LINE_MAX];
	size_t len;
	const char *why;
	int codes[2], k = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (fork() == 0) {
		for (size_t i = 0; i < sizeof wire - 1; i++) {
			if (write(sv[1], wire + i, 1) != 1)
				_exit(1);
			usleep(200);
		}
		_exit(0);
	}
	close(sv[1]);
	conn_init(&c, sv[0], sv[0], CONN_CLIENT);
	conn_set_timeout(&c, 5);
	while (k < 2 && conn_getline(&c, line, sizeof line, &len) == CONN_OK)
		if (reply_feed(&r, line, len, &why) == REPLY_DONE)
			codes[k++] = r.code;
	ck_assert_int_eq(k, 2);
	ck_assert_int_eq(codes[0], 220);
	ck_assert_int_eq(codes[1], 250);
	ck_assert_str_eq(r.enh, "");     /* the first line had none */
	ck_assert_str_eq(r.text.p, "a\nb");    /* the code is taken off every line */
	close(sv[0]);
	reply_free(&r);
}
END_TEST

static char *b64s(const char *s)
{
	char *o = malloc(strlen(s) * 2 + 8);

	b64_encode(s, strlen(s), o);
	return o;
}

START_TEST(sasl_vectors)
{
	struct sasl_client s;
	struct buf b = { 0 };

	ck_assert_int_eq(sasl_client_pick("PLAIN LOGIN CRAM-MD5", NULL), SASL_M_CRAM);
	ck_assert_int_eq(sasl_client_pick("LOGIN PLAIN", NULL), SASL_M_PLAIN);
	ck_assert_int_eq(sasl_client_pick("LOGIN", NULL), SASL_M_LOGIN);
	ck_assert_int_eq(sasl_client_pick("GSSAPI XOAUTH2", NULL), SASL_M_NONE);
	ck_assert_int_eq(sasl_client_pick("PLAIN LOGIN", "login"), SASL_M_LOGIN);
	ck_assert_int_eq(sasl_client_pick("PLAIN", "CRAM-MD5"), SASL_M_NONE);
	ck_assert_int_eq(sasl_client_pick("PLAINX", NULL), SASL_M_NONE);

	/* RFC 4616: authzid empty, "tim", "tanstaaftanstaaf" */
	sasl_client_start(&s, SASL_M_PLAIN, "tim", "tanstaaftanstaaf", &b);
	ck_assert_str_eq(b.p, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	ck_assert_int_eq(sasl_client_step(&s, "", &b), 0);   /* server ignored it */
	ck_assert_str_eq(b.p, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	ck_assert_int_eq(sasl_client_step(&s, "", &b), -1);

	/* RFC 2195 section 2 */
	sasl_client_start(&s, SASL_M_CRAM, "tim", "tanstaaftanstaaf", &b);
	ck_assert_str_eq(b.p, "");
	char *ch = b64s("<1896.697170952@postoffice.reston.mci.net>");
	ck_assert_int_eq(sasl_client_step(&s, ch, &b), 0);
	ck_assert_str_eq(b.p, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	ck_assert_int_eq(sasl_client_step(&s, ch, &b), -1);
	free(ch);
	sasl_client_start(&s, SASL_M_CRAM, "tim", "x", &b);
	ck_assert_int_eq(sasl_client_step(&s, "!!notbase64", &b), -1);

	/* LOGIN answers by step, whatever the prompt says */
	sasl_client_start(&s, SASL_M_LOGIN, "alice", "pw", &b);
	ck_assert_int_eq(sasl_client_step(&s, "UGFzc3dvcmQ6", &b), 0);
	ck_assert_str_eq(b.p, "YWxpY2U=");
	ck_assert_int_eq(sasl_client_step(&s, "VXNlcm5hbWU6", &b), 0);
	ck_assert_str_eq(b.p, "cHc=");
	ck_assert_int_eq(sasl_client_step(&s, "", &b), -1);
	buf_free(&b);
}
END_TEST

START_TEST(message_lines)
{
	struct message m;
	struct buf b = { 0 };
	char err[200];
	static const char in[] = "Subject: x\n\n.a\r\n..b\n.\nafter";

	ck_assert_int_eq(msg_from_bytes(in, sizeof in - 1, 1, &m, err, sizeof err), 0);
	ck_assert_str_eq(m.p, "Subject: x\r\n\r\n.a\r\n..b\r\n.\r\nafter\r\n");
	ck_assert_uint_eq(m.hdrlen, 14);
	ck_assert(!m.eightbit);
	msg_stuff(&m, &b);
	ck_assert_str_eq(b.p, "Subject: x\r\n\r\n..a\r\n...b\r\n..\r\nafter\r\n.\r\n");
	msg_free(&m);
	buf_free(&b);
	/* sendmail: a lone dot ends it; text after it is refused, not lost */
	ck_assert_int_eq(msg_from_bytes(in, sizeof in - 1, 0, &m, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "line 5: a line with a single dot"));
	ck_assert_int_eq(msg_from_bytes(in, sizeof in - 6, 0, &m, err, sizeof err), 0);
	ck_assert_str_eq(m.p, "Subject: x\r\n\r\n.a\r\n..b\r\n");
	msg_free(&m);
	ck_assert_int_eq(msg_from_bytes("a\n.\r\n\n\n", 7, 0, &m, err, sizeof err), 0);
	ck_assert_str_eq(m.p, "a\r\n");
	msg_free(&m);
	ck_assert_int_eq(msg_from_bytes("a\rb\n", 4, 1, &m, err, sizeof err), -1);
	ck_assert_int_eq(msg_from_bytes("a\0b\n", 4, 1, &m, err, sizeof err), -1);
	ck_assert_int_eq(msg_from_bytes("S: \xc3\xa9\n\nx\n", 9, 1, &m, err, sizeof err), 0);
	ck_assert(m.eightbit && m.utf8hdr);
	msg_free(&m);

	char *longl = malloc(RFC5322_LINE_MAX + 2);
	memset(longl, 'a', RFC5322_LINE_MAX + 1);
	ck_assert_int_eq(msg_from_bytes(longl, RFC5322_LINE_MAX, 1, &m, err, sizeof err), 0);
	msg_free(&m);
	ck_assert_int_eq(msg_from_bytes(longl, RFC5322_LINE_MAX + 1, 1, &m, err, sizeof err), -1);
	free(longl);
}
END_TEST

START_TEST(message_downgrade)
{
	struct message m, d;
	char err[200];
	static const char in[] = "Subject: x\nContent-Type: text/plain;\n charset=utf-8\n"
	    "Content-Transfer-Encoding:\n 8bit\n\ncaf\xc3\xa9 \n";
	static const char mp[] = "Content-Type: multipart/mixed; boundary=b\n\n\xc3\xa9\n";
	static const char none[] = "Subject: x\n\n\xc3\xa9\n";

	ck_assert_int_eq(msg_from_bytes(in, sizeof in - 1, 1, &m, err, sizeof err), 0);
	ck_assert_int_eq(msg_downgrade(&m, &d), 0);
	ck_assert_str_eq(d.p, "Subject: x\r\nContent-Type: text/plain;\r\n charset=utf-8\r\n"
	    "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9=20\r\n");
	ck_assert(!d.eightbit);
	ck_assert_uint_eq(d.len, strlen(d.p));
	ck_assert_str_eq(d.p + d.hdrlen, "caf=C3=A9=20\r\n");
	msg_free(&d);
	msg_free(&m);
	/* multipart, no Content-Type, base64: left alone */
	ck_assert_int_eq(msg_from_bytes(mp, sizeof mp - 1, 1, &m, err, sizeof err), 0);
	ck_assert_int_eq(msg_downgrade(&m, &d), -1);
	msg_free(&m);
	ck_assert_int_eq(msg_from_bytes(none, sizeof none - 1, 1, &m, err, sizeof err), 0);
	ck_assert_int_eq(msg_downgrade(&m, &d), -1);
	msg_free(&m);
}
END_TEST

START_TEST(header_rcpts)
{
	static const char in[] = "From: me@x\nTO: \"Doe, J\" <j@x>, k@x (Kay)\n"
	    "Bcc: hidden@x,\n\tother@x\nCc: list: l@x, <@r1,@r2:m@x>;, undisclosed-recipients:;\n"
	    "Subject: Bcc: no\n\nbody\n";
	struct message m;
	char **list = NULL, err[200];
	size_t n = 0;

	ck_assert_int_eq(msg_from_bytes(in, sizeof in - 1, 1, &m, err, sizeof err), 0);
	ck_assert_int_eq(msg_header_rcpts(&m, &list, &n, err, sizeof err), 6);
	ck_assert_str_eq(list[0], "j@x");
	ck_assert_str_eq(list[1], "k@x");
	ck_assert_str_eq(list[2], "hidden@x");
	ck_assert_str_eq(list[3], "other@x");
	ck_assert_str_eq(list[4], "l@x");
	ck_assert_str_eq(list[5], "m@x");
	ck_assert_ptr_null(strstr(m.p, "hidden"));
	ck_assert_ptr_null(strstr(m.p, "other@x"));
	ck_assert_ptr_nonnull(strstr(m.p, "Subject: Bcc: no\r\n\r\nbody\r\n"));
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
	msg_free(&m);

	ck_assert(addr_ok("a@b") && addr_ok("") && addr_ok("\"a b\"@c"));
	ck_assert(!addr_ok("a b@c") && !addr_ok("<a@b>") && !addr_ok("a@b\r\nRCPT TO:<c>"));
}
END_TEST

static char *build(struct compose *c)
{
	struct buf b = { 0 };
	char err[200];

	c->from = c->from ? c->from : "a@example.org";
	c->now = 1795460168;
	c->domain = "example.org";
	c->rnd = 42;
	ck_assert_int_eq(compose_build(c, &b, err, sizeof err), 0);
	return buf_take(&b);
}

START_TEST(compose_text)
{
	static char *to[] = { "x@example.net", "y@example.net" };
	struct compose c = { .to = to, .nto = 2, .subject = "plain subject",
		.body = "hello\n.dot\n", .bodylen = 11 };
	char *m = build(&c);

	ck_assert_ptr_nonnull(strstr(m, "\r\nFrom: a@example.org\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nTo: x@example.net,\r\n y@example.net\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nSubject: plain subject\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\nMessage-ID: <"));
	ck_assert_ptr_nonnull(strstr(m, "@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nhello\r\n.dot\r\n"));
	ck_assert(strncmp(m, "Date: ", 6) == 0);
	free(m);

	/* UTF-8: QP body, encoded subject and name */
	struct compose u = { .name = "Zoë", .subject = "café", .body = "café=1 \n", .bodylen = 9 };
	m = build(&u);
	ck_assert_ptr_nonnull(strstr(m, "From: =?UTF-8?Q?Zo=C3=AB?= <a@example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Subject: =?UTF-8?B?Y2Fmw6k=?=\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9=3D1=20\r\n"));
	free(m);

	/* a user header replaces the generated one; an address field keeps its address */
	static char *hdr[] = { "To: Jürgen <j@example.net>", "X-Mailer: test" };
	struct compose h = { .headers = hdr, .nheaders = 2, .body = "x", .bodylen = 1 };
	m = build(&h);
	ck_assert_ptr_nonnull(strstr(m, "To: =?UTF-8?Q?J=C3=BCrgen?= <j@example.net>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "X-Mailer: test\r\n"));
	ck_assert_ptr_null(strstr(m, "To: j@"));
	free(m);

	struct buf b = { 0 };
	char err[200];
	static char *inj[] = { "X-A: b\nBcc: evil@x" };
	struct compose bad = { .from = "a@b", .headers = inj, .nheaders = 1, .domain = "b" };
	ck_assert_int_eq(compose_build(&bad, &b, err, sizeof err), -1);
	buf_free(&b);
}
END_TEST

START_TEST(compose_params)
{
	struct buf b = { 0 };

	mime_param(&b, "filename", "report.pdf");
	ck_assert_str_eq(b.p, ";\r\n\tfilename=\"report.pdf\"");
	buf_reset(&b);
	mime_param(&b, "filename", "a \"q\" \\.txt");
	ck_assert_str_eq(b.p, ";\r\n\tfilename=\"a \\\"q\\\" \\\\.txt\"");
	buf_reset(&b);
	mime_param(&b, "filename", "résumé.pdf");
	ck_assert_str_eq(b.p, ";\r\n\tfilename*=utf-8''r%C3%A9sum%C3%A9.pdf");
	buf_reset(&b);
	/* long: continuations, no %XX split, every line within 78 */
	mime_param(&b, "filename", "ééééééééééééééééééééééééééééééééééééééé.txt");
	ck_assert_ptr_nonnull(strstr(b.p, "filename*0*=utf-8''%C3%A9"));
	ck_assert_ptr_nonnull(strstr(b.p, "filename*1*=%C3%A9"));
	for (char *p = b.p; p && *p; ) {
		char *e = strstr(p, "\r\n");
		size_t n = e ? (size_t)(e - p) : strlen(p);

		ck_assert_uint_le(n, 78);
		p = e ? e + 2 : NULL;
	}
	buf_free(&b);

	ck_assert_str_eq(mime_type_of("/x/y/photo.JPG"), "image/jpeg");
	ck_assert_str_eq(mime_type_of("notes.txt"), "text/plain");
	ck_assert_str_eq(mime_type_of("archive"), "application/octet-stream");
	ck_assert_str_eq(mime_type_of(".bashrc"), "application/octet-stream");
	ck_assert_str_eq(mime_type_of("dir.d/file"), "application/octet-stream");

	char d[64];
	rfc5322_date(0, d, sizeof d);
	ck_assert_ptr_nonnull(strstr(d, " 1970 ") ? d : strstr(d, " 1969 "));
}
END_TEST

START_TEST(compose_multipart)
{
	struct compose c = { .subject = "s", .body = "text\n", .bodylen = 5,
		.html = "<p>x</p>\n", .htmllen = 9 };
	char *m = build(&c);
	char *alt = strstr(m, "multipart/alternative");

	ck_assert_ptr_nonnull(alt);
	ck_assert_ptr_nonnull(strstr(m, "Content-Type: text/plain"));
	ck_assert_ptr_nonnull(strstr(m, "Content-Type: text/html"));
	/* the text keeps its last line break: a CRLF before each delimiter */
	ck_assert_ptr_nonnull(strstr(m, "text\r\n\r\n--=_alt_"));
	ck_assert_ptr_nonnull(strstr(m, "--\r\n"));
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("smtp-send");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, reply_single);
	tcase_add_test(tc, reply_multi);
	tcase_add_test(tc, reply_bad);
	tcase_add_test(tc, reply_bytewise);
	tcase_add_test(tc, sasl_vectors);
	tcase_add_test(tc, message_lines);
	tcase_add_test(tc, message_downgrade);
	tcase_add_test(tc, header_rcpts);
	tcase_add_test(tc, compose_text);
	tcase_add_test(tc, compose_params);
	tcase_add_test(tc, compose_multipart);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
