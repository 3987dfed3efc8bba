/* Unit tests of lib/canon.c and lib/dkim*.c: RFC 6376 3.4.6's
 * canonicalization example, the tag-list parser, a sign/verify round
 * trip with keys served from a table (no DNS), RFC 8463's signed example
 * and RFC 8032's Ed25519 key, and Ed25519 signatures (libsodium) checked
 * against OpenSSL's. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>

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

/* RFC 8463 A.2 and A.3: the key (RFC 8032 7.1's first) and the message
 * that the RFC signs with it.  The TXT record is served from a table. */
#define RFC8463_SEED "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define RFC8463_PUB  "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

static const char rfc8463_msg[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

static enum dns_status rfc8463_table(void *ctx, const char *name, struct dns_answer *out)
{
	(void)ctx;
	memset(out, 0, sizeof *out);
	if (strcmp(name, "brisbane._domainkey.football.example.com") != 0)
		return DNS_NXDOMAIN;
	out->text = xmalloc(sizeof *out->text);
	out->text[0] = xstrdup("v=DKIM1; k=ed25519; p=" RFC8463_PUB);
	out->n = 1;
	return DNS_OK;
}

static enum ar_result rfc8463_verify(const char *msg, size_t n, char *reason, size_t rl)
{
	struct dkim_verify_opts vo = { .txt = rfc8463_table, .now = 1528637909 + 60 };
	struct dkim_result *r;
	size_t nr;
	enum ar_result res;

	dkim_verify(msg, n, &vo, &r, &nr);
	ck_assert_uint_eq(nr, 1);
	res = r[0].res;
	snprintf(reason, rl, "%s", r[0].reason);
	free(r);
	return res;
}

START_TEST(rfc8463_example)
{
	char *m = xstrdup(rfc8463_msg), why[DKIM_REASON_MAX], *p;
	size_t n = strlen(m);

	ck_assert_msg(rfc8463_verify(m, n, why, sizeof why) == AR_PASS, "RFC 8463: %s", why);
	p = strstr(m, "Is dinner");             /* a signed header field */
	*p = 'i';
	ck_assert_int_eq(rfc8463_verify(m, n, why, sizeof why), AR_FAIL);
	*p = 'I';
	p = strstr(m, "Fa3bT3");                /* 'a' to 'b': one bit of the signature */
	p[1] = 'b';
	ck_assert_int_eq(rfc8463_verify(m, n, why, sizeof why), AR_FAIL);
	p[1] = 'a';
	p = strstr(m, "Joe.");                  /* the body */
	p[0] = 'j';
	ck_assert_int_eq(rfc8463_verify(m, n, why, sizeof why), AR_FAIL);
	free(m);
}
END_TEST

/* Signing the RFC's message again with its key (the raw seed, as dkimpy
 * keeps it) gives the RFC's body hash and a signature that verifies. */
START_TEST(rfc8463_sign)
{
	const char *body = strstr(rfc8463_msg, "From: ");
	char path[] = "/tmp/test_dkim.XXXXXX", err[128], why[DKIM_REASON_MAX];
	int fd = mkstemp(path);
	EVP_PKEY *k;
	struct dkim_sign_opts so = { .domain = "football.example.com", .selector = "brisbane",
		.identity = "@football.example.com", .hc = CANON_RELAXED, .bc = CANON_RELAXED,
		.headers = "from:to:subject:date:message-id:from:subject:date",
		.t = 1528637909, .body_len = -1 };
	struct buf m = { 0 };

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, RFC8463_SEED "\n", sizeof RFC8463_SEED), (long)sizeof RFC8463_SEED);
	close(fd);
	k = dkim_key_load(path, err, sizeof err);
	unlink(path);
	ck_assert_msg(k != NULL, "%s", err);
	so.key = k;
	ck_assert_int_eq(dkim_sign(body, strlen(body), &so, &m, err, sizeof err), 0);
	ck_assert(strstr(m.p, "bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=") != NULL);
	buf_adds(&m, body);
	ck_assert_msg(rfc8463_verify(m.p, m.len, why, sizeof why) == AR_PASS, "%s", why);
	buf_free(&m);
	EVP_PKEY_free(k);
}
END_TEST

/* Ed25519 is deterministic (RFC 8032 5.1.6): our signatures (libsodium)
 * must be OpenSSL's, byte for byte, and each side checks the other's. */
START_TEST(ed25519_vs_openssl)
{
	static const unsigned char rfc8032_empty[64] = {        /* RFC 8032 7.1, TEST 1 */
		0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72, 0x90, 0x86, 0xe2, 0xcc, 0x80, 0x6e,
		0x82, 0x8a, 0x84, 0x87, 0x7f, 0x1e, 0xb8, 0xe5, 0xd9, 0x74, 0xd8, 0x73, 0xe0, 0x65,
		0x22, 0x49, 0x01, 0x55, 0x5f, 0xb8, 0x82, 0x15, 0x90, 0xa3, 0x3b, 0xac, 0xc6, 0x1e,
		0x39, 0x70, 0x1c, 0xf9, 0xb4, 0x6b, 0xd2, 0x5b, 0xf5, 0xf0, 0x59, 0x5b, 0xbe, 0x24,
		0x65, 0x51, 0x41, 0x43, 0x8e, 0x7a, 0x10, 0x0b };
	static const unsigned char seed1[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec,
		0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
		0x1c, 0xae, 0x7f, 0x60 };
	unsigned char ours[64], theirs[64], hash[32];
	size_t ol = sizeof ours, tl = sizeof theirs;
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed1, sizeof seed1);
	EVP_MD_CTX *md;

	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(dkim_sig_make(k, (const unsigned char *)"", 0, 0, ours, &ol), 0);
	ck_assert_uint_eq(ol, 64);
	ck_assert(memcmp(ours, rfc8032_empty, 64) == 0);
	ck_assert_int_eq(dkim_sig_check(k, (const unsigned char *)"", 0, 0, ours, ol), 0);
	EVP_PKEY_free(k);
	for (int i = 0; i < 20; i++) {
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		ck_assert_ptr_nonnull(k);
		for (size_t j = 0; j < sizeof hash; j++)
			hash[j] = (unsigned char)(i * 37 + j * 11);
		ol = sizeof ours;
		tl = sizeof theirs;
		ck_assert_int_eq(dkim_sig_make(k, hash, sizeof hash, 0, ours, &ol), 0);
		md = EVP_MD_CTX_new();
		ck_assert(EVP_DigestSignInit(md, NULL, NULL, NULL, k) == 1);
		ck_assert(EVP_DigestSign(md, theirs, &tl, hash, sizeof hash) == 1);
		EVP_MD_CTX_free(md);
		ck_assert_uint_eq(ol, tl);
		ck_assert(memcmp(ours, theirs, ol) == 0);
		ck_assert_int_eq(dkim_sig_check(k, hash, sizeof hash, 0, theirs, tl), 0);
		theirs[i % 64] ^= 0x10;
		ck_assert_int_eq(dkim_sig_check(k, hash, sizeof hash, 0, theirs, tl), -1);
		ck_assert_int_eq(dkim_sig_check(k, hash, sizeof hash, 0, ours, ol - 1), -1);
		hash[0] ^= 1;
		ck_assert_int_eq(dkim_sig_check(k, hash, sizeof hash, 0, ours, ol), -1);
		EVP_PKEY_free(k);
	}
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
	tcase_add_test(tc, rfc8463_example);
	tcase_add_test(tc, rfc8463_sign);
	tcase_add_test(tc, ed25519_vs_openssl);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
