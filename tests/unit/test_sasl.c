/* test_sasl.c — lib/sasl.c: PLAIN, LOGIN, CRAM-MD5 with RFC vectors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "sasl.h"

const char *const progname = "test_sasl";

/* `openssl passwd -6 -salt saltsalt secret` */
#define H6 "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"

static char pwfile[64];

static void setup(void)
{
	FILE *f;
	int fd;

	strcpy(pwfile, "/tmp/test_sasl.XXXXXX");
	fd = mkstemp(pwfile);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	/* RFC 2195 2: user "tim", secret "tanstaaftanstaaf". */
	fputs("tim:{PLAIN}tanstaaftanstaaf:1000:1000::/home/tim\n"
	    "hashed:{SHA512-CRYPT}" H6 ":1001:1001::/home/hashed\n"
	    "tim@example.org:{PLAIN}other:1002:1002::/home/tim2\n", f);
	fclose(f);
}

static void teardown(void)
{
	unlink(pwfile);
}

/* base64 of n bytes of s (may hold NULs), into a static buffer. */
static const char *b64n(const char *s, size_t n)
{
	static char out[1024];

	b64_encode(s, n, out);
	return out;
}

static const char *b64(const char *s)
{
	return b64n(s, strlen(s));
}

START_TEST(mechs)
{
	ck_assert_str_eq(sasl_mechs(pwfile), "PLAIN LOGIN CRAM-MD5");
	ck_assert_str_eq(sasl_mechs(NULL), "PLAIN LOGIN");
}
END_TEST

START_TEST(plain)
{
	struct sasl s;
	struct user u;
	char ch[512];

	/* RFC 4616 4 style messages, with the initial response. */
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0tim\0tanstaaftanstaaf", 21),
	    "mx", ch, sizeof ch, &u), SASL_OK);
	ck_assert_str_eq(u.name, "tim");
	ck_assert_int_eq(u.uid, 1000);
	ck_assert_int_eq(sasl_start(&s, pwfile, "plain", b64n("tim\0tim\0tanstaaftanstaaf", 24),
	    "mx", ch, sizeof ch, &u), SASL_OK);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0hashed\0secret", 14),
	    "mx", ch, sizeof ch, &u), SASL_OK);
	ck_assert_str_eq(u.name, "hashed");
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0tim@example.org\0other", 22),
	    "mx", ch, sizeof ch, &u), SASL_OK);
	ck_assert_str_eq(u.name, "tim@example.org");

	/* Wrong password, unknown user, acting for someone else. */
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0tim\0wrong", 10),
	    "mx", ch, sizeof ch, &u), SASL_FAIL);
	ck_assert_str_eq(s.user, "tim");
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0zed\0x", 6),
	    "mx", ch, sizeof ch, &u), SASL_FAIL);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("hashed\0tim\0tanstaaftanstaaf", 27),
	    "mx", ch, sizeof ch, &u), SASL_FAIL);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0../tim\0x", 9),
	    "mx", ch, sizeof ch, &u), SASL_FAIL);

	/* Malformed: not base64, missing NULs, NUL in the password, no authcid. */
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", "!!!!", "mx", ch, sizeof ch, &u), SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64("timtanstaaf"), "mx", ch, sizeof ch, &u),
	    SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0tim", 4), "mx", ch, sizeof ch, &u),
	    SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0tim\0tanstaaf\0x", 15),
	    "mx", ch, sizeof ch, &u), SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", b64n("\0\0x", 3), "mx", ch, sizeof ch, &u),
	    SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", "=", "mx", ch, sizeof ch, &u), SASL_BAD);

	/* Without initial response: an empty challenge, then the response. */
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_str_eq(ch, "");
	ck_assert_int_eq(sasl_step(&s, b64n("\0tim\0tanstaaftanstaaf", 21), ch, sizeof ch, &u),
	    SASL_OK);
	/* The exchange is over: another line is a protocol error. */
	ck_assert_int_eq(sasl_step(&s, b64n("\0tim\0tanstaaftanstaaf", 21), ch, sizeof ch, &u),
	    SASL_BAD);

	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_int_eq(sasl_step(&s, "*", ch, sizeof ch, &u), SASL_CANCEL);
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", "*", "mx", ch, sizeof ch, &u), SASL_CANCEL);
}
END_TEST

START_TEST(login)
{
	struct sasl s;
	struct user u;
	char ch[512];

	ck_assert_int_eq(sasl_start(&s, pwfile, "LOGIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_str_eq(ch, "VXNlcm5hbWU6");
	ck_assert_int_eq(sasl_step(&s, b64("hashed"), ch, sizeof ch, &u), SASL_CONTINUE);
	ck_assert_str_eq(ch, "UGFzc3dvcmQ6");
	ck_assert_int_eq(sasl_step(&s, b64("secret"), ch, sizeof ch, &u), SASL_OK);
	ck_assert_str_eq(u.name, "hashed");

	/* Initial response carries the user name. */
	ck_assert_int_eq(sasl_start(&s, pwfile, "LOGIN", b64("tim"), "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_str_eq(ch, "UGFzc3dvcmQ6");
	ck_assert_int_eq(sasl_step(&s, b64("nope"), ch, sizeof ch, &u), SASL_FAIL);
	ck_assert_str_eq(s.user, "tim");

	ck_assert_int_eq(sasl_start(&s, pwfile, "LOGIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_int_eq(sasl_step(&s, "*", ch, sizeof ch, &u), SASL_CANCEL);
	ck_assert_int_eq(sasl_start(&s, pwfile, "LOGIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_int_eq(sasl_step(&s, "=", ch, sizeof ch, &u), SASL_BAD);  /* empty user */
	ck_assert_int_eq(sasl_start(&s, pwfile, "LOGIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_int_eq(sasl_step(&s, "dGlt\x01", ch, sizeof ch, &u), SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, pwfile, "LOGIN", NULL, "mx", ch, sizeof ch, &u),
	    SASL_CONTINUE);
	ck_assert_int_eq(sasl_step(&s, b64n("ti\0m", 4), ch, sizeof ch, &u), SASL_BAD);
}
END_TEST

START_TEST(cram_md5_rfc2195)
{
	struct sasl s;
	struct user u;
	char ch[512], dec[512];
	ssize_t n;

	ck_assert_int_eq(sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mail.example.org", ch, sizeof ch,
	    &u), SASL_CONTINUE);
	n = b64_decode(ch, strlen(ch), (unsigned char *)dec);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(dec[0], '<');
	ck_assert_int_eq(dec[n - 1], '>');
	ck_assert_ptr_nonnull(strstr(dec, "@mail.example.org>"));
	ck_assert_str_eq(dec, s.cram_challenge);

	/* The RFC 2195 2 example: challenge and response as printed there. */
	strcpy(s.cram_challenge, "<1896.697170952@postoffice.reston.mci.net>");
	ck_assert_int_eq(sasl_step(&s, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", ch,
	    sizeof ch, &u), SASL_OK);
	ck_assert_str_eq(u.name, "tim");

	/* Same digest in upper case hex is the same digest. */
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	strcpy(s.cram_challenge, "<1896.697170952@postoffice.reston.mci.net>");
	ck_assert_int_eq(sasl_step(&s, b64("tim B913A602C7EDA7A495B4E6E7334D3890"), ch, sizeof ch,
	    &u), SASL_OK);

	/* Another challenge: the RFC response no longer fits (no replay). */
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	ck_assert_int_eq(sasl_step(&s, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", ch,
	    sizeof ch, &u), SASL_FAIL);

	/* A hashed secret cannot do CRAM-MD5. */
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	strcpy(s.cram_challenge, "<1896.697170952@postoffice.reston.mci.net>");
	ck_assert_int_eq(sasl_step(&s, b64("hashed b913a602c7eda7a495b4e6e7334d3890"), ch,
	    sizeof ch, &u), SASL_FAIL);

	/* Malformed responses. */
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	ck_assert_int_eq(sasl_step(&s, b64("tim b913a602"), ch, sizeof ch, &u), SASL_BAD);
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	ck_assert_int_eq(sasl_step(&s, b64("timb913a602c7eda7a495b4e6e7334d3890"), ch, sizeof ch,
	    &u), SASL_BAD);
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	ck_assert_int_eq(sasl_step(&s, b64("tim g913a602c7eda7a495b4e6e7334d3890"), ch, sizeof ch,
	    &u), SASL_BAD);
	sasl_start(&s, pwfile, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u);
	ck_assert_int_eq(sasl_step(&s, "*", ch, sizeof ch, &u), SASL_CANCEL);

	/* No initial response for CRAM-MD5; not offered without a passwd-file. */
	ck_assert_int_eq(sasl_start(&s, pwfile, "CRAM-MD5", b64("tim"), "mx", ch, sizeof ch, &u),
	    SASL_BAD);
	ck_assert_int_eq(sasl_start(&s, NULL, "CRAM-MD5", NULL, "mx", ch, sizeof ch, &u),
	    SASL_NOMECH);
}
END_TEST

START_TEST(nomech)
{
	struct sasl s;
	struct user u;
	char ch[64];

	ck_assert_int_eq(sasl_start(&s, pwfile, "GSSAPI", NULL, "mx", ch, sizeof ch, &u),
	    SASL_NOMECH);
	ck_assert_int_eq(sasl_start(&s, pwfile, "", NULL, "mx", ch, sizeof ch, &u), SASL_NOMECH);
}
END_TEST

START_TEST(overlong)
{
	struct sasl s;
	struct user u;
	char ch[64], *line = malloc(SASL_LINE_MAX + 8);

	memset(line, 'A', SASL_LINE_MAX + 4);
	line[SASL_LINE_MAX + 4] = '\0';
	ck_assert_int_eq(sasl_start(&s, pwfile, "PLAIN", line, "mx", ch, sizeof ch, &u), SASL_BAD);
	free(line);
}
END_TEST

/* A privilege-separated login process: credentials go to the checker, the
 * CRAM-MD5 challenge comes from it; nothing is looked up here (the users
 * file named does not exist). */
struct fake { int calls; char name[64], pass[64], hex[64]; };

static int fake_password(void *arg, const char *name, const char *pass, struct user *u)
{
	struct fake *f = arg;

	f->calls++;
	snprintf(f->name, sizeof f->name, "%s", name);
	snprintf(f->pass, sizeof f->pass, "%s", pass);
	snprintf(u->name, sizeof u->name, "%s", name);
	return strcmp(pass, "right") == 0;
}

static int fake_challenge(void *arg, char *buf, size_t cap)
{
	(void)arg;
	snprintf(buf, cap, "%s", "<1896.697170952@postoffice.reston.mci.net>");
	return 0;
}

static int fake_cram(void *arg, const char *name, const char *hex, struct user *u)
{
	struct fake *f = arg;

	f->calls++;
	snprintf(f->name, sizeof f->name, "%s", name);
	snprintf(f->hex, sizeof f->hex, "%s", hex);
	snprintf(u->name, sizeof u->name, "%s", name);
	return 1;
}

START_TEST(checker)
{
	struct fake f = { 0 };
	struct sasl_check ck = { fake_password, fake_challenge, fake_cram, &f };
	struct sasl s;
	struct user u;
	char chal[256], dec[256];

	memset(&u, 0, sizeof u);
	ck_assert_int_eq(sasl_start_check(&s, &ck, "/nonexistent", "PLAIN",
	    b64n("\0bob\0right", 10), "h", chal, sizeof chal, &u), SASL_OK);
	ck_assert_str_eq(f.name, "bob");
	ck_assert_str_eq(f.pass, "right");
	ck_assert_str_eq(u.name, "bob");
	ck_assert_int_eq(sasl_start_check(&s, &ck, "/nonexistent", "PLAIN",
	    b64n("\0bob\0wrong", 10), "h", chal, sizeof chal, &u), SASL_FAIL);
	/* a bad name never reaches the checker */
	f.calls = 0;
	ck_assert_int_eq(sasl_start_check(&s, &ck, "/nonexistent", "PLAIN",
	    b64n("\0../x\0right", 11), "h", chal, sizeof chal, &u), SASL_FAIL);
	ck_assert_int_eq(f.calls, 0);
	ck_assert_int_eq(sasl_start_check(&s, &ck, "/nonexistent", "CRAM-MD5", NULL, "h", chal,
	    sizeof chal, &u), SASL_CONTINUE);
	ssize_t n = b64_decode(chal, strlen(chal), (unsigned char *)dec);
	ck_assert_int_gt(n, 0);
	dec[n] = '\0';
	ck_assert_str_eq(dec, "<1896.697170952@postoffice.reston.mci.net>");
	ck_assert_int_eq(sasl_step(&s, b64n("tim b913a602c7eda7a495b4e6e7334d3890", 36), chal,
	    sizeof chal, &u), SASL_OK);
	ck_assert_str_eq(f.name, "tim");
	ck_assert_str_eq(f.hex, "b913a602c7eda7a495b4e6e7334d3890");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mechs);
	tcase_add_test(tc, plain);
	tcase_add_test(tc, login);
	tcase_add_test(tc, cram_md5_rfc2195);
	tcase_add_test(tc, nomech);
	tcase_add_test(tc, overlong);
	tcase_add_test(tc, checker);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

