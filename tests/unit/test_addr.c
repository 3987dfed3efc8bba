/* Unit tests of lib/addr.c: RFC 5322 3.4 address lists, the RFC's own
 * examples (appendix A.1), groups, obsolete routes, and broken lists. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

const char *const progname = "test_addr";

static int parse(const char *s, struct addr_list *l)
{
	memset(l, 0, sizeof *l);
	return addr_parse(s, strlen(s), l);
}

static void is_mailbox(const struct addr *a, const char *name, const char *local, const char *domain)
{
	ck_assert_int_eq(a->kind, ADDR_MAILBOX);
	if (name)
		ck_assert_str_eq(a->name, name);
	else
		ck_assert_ptr_null(a->name);
	ck_assert_str_eq(a->local, local);
	if (domain)
		ck_assert_str_eq(a->domain, domain);
	else
		ck_assert_ptr_null(a->domain);
}

START_TEST(rfc5322_examples)
{
	struct addr_list l;

	ck_assert_int_eq(parse("\"Joe Q. Public\" <john.q.public@example.com>", &l), 0);
	ck_assert_uint_eq(l.n, 1);
	is_mailbox(&l.v[0], "Joe Q. Public", "john.q.public", "example.com");
	addr_list_free(&l);

	ck_assert_int_eq(parse("Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", &l), 0);
	ck_assert_uint_eq(l.n, 3);
	is_mailbox(&l.v[0], "Mary Smith", "mary", "x.test");
	is_mailbox(&l.v[1], NULL, "jdoe", "example.org");
	is_mailbox(&l.v[2], "Who?", "one", "y.test");
	addr_list_free(&l);

	ck_assert_int_eq(parse("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	is_mailbox(&l.v[0], NULL, "boss", "nil.test");
	is_mailbox(&l.v[1], "Giant; \"Big\" Box", "sysservices", "example.net");
	addr_list_free(&l);
}
END_TEST

START_TEST(groups)
{
	struct addr_list l;

	ck_assert_int_eq(parse("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y", &l), 0);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_int_eq(l.v[0].kind, ADDR_GROUP);
	ck_assert_str_eq(l.v[0].name, "A Group");
	is_mailbox(&l.v[1], "Ed Jones", "c", "a.test");
	is_mailbox(&l.v[2], NULL, "joe", "where.test");
	is_mailbox(&l.v[3], "John", "jdoe", "one.test");
	ck_assert_int_eq(l.v[4].kind, ADDR_GROUP_END);
	is_mailbox(&l.v[5], NULL, "x", "y");
	ck_assert_uint_eq(addr_count(&l), 4);
	addr_list_free(&l);

	ck_assert_int_eq(parse("Undisclosed recipients:;", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.v[0].kind, ADDR_GROUP);
	ck_assert_int_eq(l.v[1].kind, ADDR_GROUP_END);
	addr_list_free(&l);

	ck_assert_int_gt(parse("open group: a@b", &l), 0);   /* no ';' */
	ck_assert_uint_eq(l.n, 3);
	ck_assert_int_eq(l.v[2].kind, ADDR_GROUP_END);
	addr_list_free(&l);
}
END_TEST

START_TEST(comments_quotes_routes)
{
	struct addr_list l;
	struct buf b = { 0 };

	ck_assert_int_eq(parse("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", &l), 0);
	is_mailbox(&l.v[0], "Pete", "pete", "silly.test");
	addr_list_free(&l);

	ck_assert_int_eq(parse("barry@digicool.com (Barry A. Warsaw)", &l), 0);
	is_mailbox(&l.v[0], "Barry A. Warsaw", "barry", "digicool.com");
	addr_list_free(&l);

	ck_assert_int_eq(parse("\"john doe\"@example.com", &l), 0);
	is_mailbox(&l.v[0], NULL, "\"john doe\"", "example.com");
	addr_spec(&l.v[0], &b);
	ck_assert_str_eq(b.p, "\"john doe\"@example.com");
	addr_list_free(&l);

	ck_assert_int_eq(parse("<@relay1.test,@relay2.test:user@final.test>", &l), 0);
	ck_assert_str_eq(l.v[0].route, "@relay1.test,@relay2.test");
	is_mailbox(&l.v[0], NULL, "user", "final.test");
	addr_list_free(&l);

	ck_assert_int_eq(parse("x@[192.0.2.1], =?utf-8?q?J=C3=B6rg?= <j@d.test>", &l), 0);
	is_mailbox(&l.v[0], NULL, "x", "[192.0.2.1]");
	is_mailbox(&l.v[1], "=?utf-8?q?J=C3=B6rg?=", "j", "d.test");  /* left encoded */
	addr_list_free(&l);

	ck_assert_int_eq(parse("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc.test>", &l), 0);   /* RFC 6532 */
	is_mailbox(&l.v[0], "J\xc3\xb6rg", "j\xc3\xb6rg", "b\xc3\xbc.test");
	addr_list_free(&l);
	buf_free(&b);
}
END_TEST

START_TEST(broken)
{
	static const char *const bad[] = {
		"root", "a@", "<a@b", "Name <>", "@@@", "a@b c@d", "\"unclosed",
		"(unclosed comment", "<<<>>>", ";;", "x:y:z;", ":", "<@a:>", "a b c",
		"Name <a@b> trailing", "\xff\xfe", "a@b,,c@d",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct addr_list l;
		int e = parse(bad[i], &l);

		if (strcmp(bad[i], "a@b,,c@d") == 0)
			ck_assert_int_eq(e, 0);
		else
			ck_assert_msg(e > 0, "no error for %s", bad[i]);
		for (size_t k = 0; k < l.n; k++)
			ck_assert(l.v[k].kind != ADDR_MAILBOX || l.v[k].local || l.v[k].domain || 1);
		addr_list_free(&l);
	}
}
END_TEST

START_TEST(bare_local)
{
	struct addr_list l;

	ck_assert_int_gt(parse("root, postmaster", &l), 0);
	ck_assert_uint_eq(l.n, 2);
	is_mailbox(&l.v[0], NULL, "root", NULL);
	is_mailbox(&l.v[1], NULL, "postmaster", NULL);
	addr_list_free(&l);
}
END_TEST

/* Random bytes from a small alphabet of specials: no crash, no hang. */
START_TEST(random_lists)
{
	static const char alpha[] = "ab@.<>,;:\"()\\[] \t\r\n=?";

	srand(7);
	for (int t = 0; t < 20000; t++) {
		char s[40];
		size_t n = (size_t)(rand() % 39);
		struct addr_list l;

		for (size_t i = 0; i < n; i++)
			s[i] = alpha[rand() % (int)(sizeof alpha - 1)];
		s[n] = '\0';
		parse(s, &l);
		ck_assert_uint_le(l.n, n + 1);
		addr_list_free(&l);
	}
}
END_TEST

START_TEST(limit)
{
	size_t n = (ADDR_MAX + 10) * 4;
	char *s = malloc(n + 1);
	struct addr_list l;

	for (size_t i = 0; i < n; i += 4)
		memcpy(s + i, "a@b,", 4);
	s[n] = '\0';
	parse(s, &l);
	ck_assert_uint_eq(l.n, ADDR_MAX);
	addr_list_free(&l);
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, rfc5322_examples);
	tcase_add_test(tc, groups);
	tcase_add_test(tc, comments_quotes_routes);
	tcase_add_test(tc, broken);
	tcase_add_test(tc, bare_local);
	tcase_add_test(tc, random_lists);
	tcase_add_test(tc, limit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
