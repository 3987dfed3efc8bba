/* Unit tests of lib/canon.c and lib/dkim*.c: RFC 6376 3.4.6's
 * canonicalization example, the tag-list parser, and a sign/verify round
 * trip with keys served from a table (no DNS). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "canon.h"
#include "dkim.h"
#include "err.h"

const char *const progname = "test_dkim";

static void body_is(const char *in, enum canon c, const char *want)
{
	struct buf b = { 0 };

	canon_body(in, strlen(in), c, &b);
	ck_assert_uint_eq(b.len, strlen(want));
	ck_assert(memcmp(b.p, want, b.len) == 0);
	buf_free(&b);
}

static void header_is(const char *in, enum canon c, const char *want)
{
	struct buf b = { 0 };

	canon_header(in, strlen(in), c, &b);
	ck_assert_str_eq(b.p, want);
	buf_free(&b);
}

/* RFC 6376 3.4.6 */
START_TEST(rfc_example)
{
	const char *body = " C \r\nD \t E\r\n\r\n\r\n";

	header_is("A: X\r\n", CANON_RELAXED, "a:X\r\n");
	header_is("B : Y\t\r\n\tZ  \r\n", CANON_RELAXED, "b:Y Z\r\n");
	header_is("B : Y\t\r\n\tZ  \r\n", CANON_SIMPLE, "B : Y\t\r\n\tZ  \r\n");
	header_is("B : Y\n\tZ\n", CANON_SIMPLE, "B : Y\r\n\tZ\r\n");    /* LF from a Maildir */
	body_is(body, CANON_RELAXED, " C\r\nD E\r\n");
	body_is(body, CANON_SIMPLE, " C \r\nD \t E\r\n");
}
END_TEST

START_TEST(bodies)
{
	body_is("", CANON_SIMPLE, "\r\n");              /* 3.4.3: an empty body is one CRLF */
	body_is("", CANON_RELAXED, "");                 /* 3.4.4, erratum 1384 */
	body_is("\r\n\r\n", CANON_SIMPLE, "\r\n");
	body_is("\r\n \r\n", CANON_RELAXED, "");
	body_is("x", CANON_SIMPLE, "x\r\n");            /* no final line end */
	body_is("a\nb\n\n", CANON_SIMPLE, "a\r\nb\r\n");
	body_is("a \n \n", CANON_SIMPLE, "a \r\n \r\n");
}
END_TEST

START_TEST(canon_names)
{
	enum canon h, b;

	ck_assert_int_eq(canon_parse("relaxed/simple", &h, &b), 0);
	ck_assert(h == CANON_RELAXED && b == CANON_SIMPLE);
	ck_assert_int_eq(canon_parse("relaxed", &h, &b), 0);
	ck_assert(h == CANON_RELAXED && b == CANON_SIMPLE);
	ck_assert_int_eq(canon_parse("simple/odd", &h, &b), -1);
	ck_assert_int_eq(canon_parse("", &h, &b), -1);
}
END_TEST

START_TEST(tags)
{
	struct dkim_tags t;
	const char *why = NULL;
	const char *s = " v = 1 ;a=rsa-sha256;\r\n\tb= ab\r\n cd ;";

	ck_assert_int_eq(dkim_tags_parse(s, strlen(s), &t, &why), 0);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_str_eq(t.v[0].name, "v");
	ck_assert_uint_eq(t.v[0].len, 1);
	ck_assert_uint_eq(dkim_tag_get(&t, "b")->len, 7);       /* "ab\r\n cd" */
	ck_assert_ptr_null(dkim_tag_get(&t, "bh"));
	ck_assert_int_eq(dkim_tags_parse("", 0, &t, &why), 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_int_eq(dkim_tags_parse("a=1;a=2", 7, &t, &why), -1);
	ck_assert_str_eq(why, "duplicate tag");
	ck_assert_int_eq(dkim_tags_parse("a", 1, &t, &why), -1);
	ck_assert_int_eq(dkim_tags_parse("1a=x", 4, &t, &why), -1);
	ck_assert_int_eq(dkim_tags_parse("a=\x01", 3, &t, &why), -1);
	ck_assert_int_eq(dkim_tags_parse("a=1;;b=2", 8, &t, &why), -1);
}
END_TEST

START_TEST(tag_prefixes)
{
	/* every prefix of a real tag-list parses or fails cleanly */
	const char *s = "v=1; a=ed25519-sha256; c=relaxed/relaxed; d=ex.test; s=k; h=from:to;";
	struct dkim_tags t;
	const char *why;

	for (size_t n = 0; n <= strlen(s); n++) {
		char *c = xstrndup(s, n);
		int r = dkim_tags_parse(c, n, &t, &why);
		ck_assert(r == 0 || r == -1);
		ck_assert_uint_le(t.n, 6);
		free(c);
	}
}
END_TEST

static char record[2048];

static enum dns_status table(void *ctx, const char *name, struct dns_answer *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	if (strcmp(name, "k._domainkey.ex.test") != 0)
		return DNS_NXDOMAIN;
	out->text = xmalloc(sizeof *out->text);
	out->text[0] = xstrdup(record);
	out->n = 1;
	return DNS_OK;
}

static void round_trip(const char *type, const char *msg)
{
	EVP_PKEY *k = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024) :
	    EVP_PKEY_Q_keygen(NULL, NULL, type);
	struct dkim_sign_opts so = { .domain = "ex.test", .selector = "k", .key = k,
		.hc = CANON_RELAXED, .bc = CANON_SIMPLE, .body_len = -1 };
	struct dkim_verify_opts vo = { .txt = table };
	struct buf rec = { 0 }, m = { 0 };
	struct dkim_result *r;
	size_t n;
	char err[128];

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(dkim_key_record(k, &rec), 0);
	snprintf(record, sizeof record, "%s", rec.p);
	ck_assert_int_eq(dkim_sign(msg, strlen(msg), &so, &m, err, sizeof err), 0);
	buf_adds(&m, msg);
	dkim_verify(m.p, m.len, &vo, &r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_msg(r[0].res == AR_PASS, "%s: %s", type, r[0].reason);
	free(r);
	m.p[m.len - 3] ^= 1;            /* one body bit */
	dkim_verify(m.p, m.len, &vo, &r, &n);
	ck_assert_int_eq(r[0].res, AR_FAIL);
	free(r);
	buf_free(&m);
	buf_free(&rec);
	EVP_PKEY_free(k);
}

START_TEST(sign_verify)
{
	char err[128];
	struct buf m = { 0 };
	struct dkim_sign_opts so = { .domain = "ex.test", .selector = "k" };

	round_trip("RSA", "From: a@ex.test\r\nSubject: x\r\n\r\nbody\r\n");
	round_trip("ED25519", "From: a@ex.test\nSubject: x\n\nbody\n");
	so.key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_int_eq(dkim_sign("To: b\r\n\r\n", 9, &so, &m, err, sizeof err), -1);
	ck_assert(strstr(err, "From") != NULL);
	EVP_PKEY_free(so.key);
	buf_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, rfc_example);
	tcase_add_test(tc, bodies);
	tcase_add_test(tc, canon_names);
	tcase_add_test(tc, tags);
	tcase_add_test(tc, tag_prefixes);
	tcase_add_test(tc, sign_verify);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
