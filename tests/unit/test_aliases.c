/* test_aliases.c — lib/aliases.c: the aliases(5) format and its expansion. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"

const char *const progname = "test_aliases";

static int local_example(const void *ctx, const char *dom)
{
	(void)ctx;
	return strcasecmp(dom, "example.org") == 0;
}

static const char table[] =
    "# comment\n"
    "postmaster: root\n"
    "Root:   alice\n"
    "staff: alice, Bob@Example.org,\n"
    "\tcarol@remote.example ,\n"
    "  \"|/usr/bin/logger -t staff\", /var/mail/staff.log\n"
    "\n"
    "dup: staff, alice, bob@example.org\n"
    "self: self, self@remote.example\n"
    "twice: alice, Alice, bob, alice@example.org, ALICE@example.org\n"
    "loop1: loop2\n"
    "loop2: x, loop1\n"
    "owner-staff: alice\n"
    "d1: d2\nd2: d3\nd3: d4\nd4: d5\nd5: d6\nd6: d7\nd7: d8\nd8: d9\nd9: d10\nd10: d11\nd11: end\n"
    "garbage line without colon\n";

static void load(struct aliases *a)
{
	aliases_parse(table, sizeof table - 1, 1000, 1000, a);
}

START_TEST(parse_lookup)
{
	struct aliases a;

	load(&a);
	ck_assert_str_eq(alias_lookup(&a, "ROOT"), "alice");
	ck_assert_str_eq(alias_lookup(&a, "staff"), "alice, Bob@Example.org, \tcarol@remote.example "
	    ",   \"|/usr/bin/logger -t staff\", /var/mail/staff.log");
	ck_assert_ptr_null(alias_lookup(&a, "nobody"));
	ck_assert_ptr_null(alias_lookup(&a, "garbage line without colon"));
	char o[64];
	ck_assert(alias_owner(&a, "Staff", o, sizeof o));
	ck_assert_str_eq(o, "owner-staff");
	ck_assert(!alias_owner(&a, "root", o, sizeof o));
	aliases_free(&a);
}
END_TEST

START_TEST(expand)
{
	struct aliases a;
	struct alias_set s;
	char err[200];

	load(&a);
	ck_assert_int_eq(alias_expand(&a, "postmaster", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].text, "alice");
	alias_set_free(&s);
	ck_assert_int_eq(alias_expand(&a, "dup", local_example, NULL, &s, err, sizeof err), 0);
	/* alice, bob, carol@remote, |logger, /file from the list staff (sender
	 * owner-staff), then alice and bob again as dup's own (Postfix's local
	 * does not merge copies that go with different senders) */
	ck_assert_uint_eq(s.n, 7);
	ck_assert_str_eq(s.v[0].owner, "owner-staff");
	ck_assert_ptr_null(s.v[5].owner);
	ck_assert_int_eq(s.v[0].kind, AK_LOCAL);
	ck_assert_int_eq(s.v[2].kind, AK_REMOTE);
	ck_assert_str_eq(s.v[0].text, "alice");
	ck_assert_str_eq(s.v[1].text, "bob@Example.org");
	ck_assert_str_eq(s.v[2].text, "carol@remote.example");
	ck_assert_int_eq(s.v[3].kind, AK_PIPE);
	ck_assert_str_eq(s.v[3].text, "/usr/bin/logger -t staff");
	ck_assert_uint_eq(s.v[3].uid, 1000);
	ck_assert_int_eq(s.v[4].kind, AK_FILE);
	alias_set_free(&s);
	ck_assert_int_eq(alias_expand(&a, "twice", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 3);      /* alice, bob, alice@example.org */
	alias_set_free(&s);
	/* a name that is its own member is the user */
	ck_assert_int_eq(alias_expand(&a, "self", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.v[0].text, "self");
	alias_set_free(&s);
	ck_assert_int_eq(alias_expand(&a, "loop1", local_example, NULL, &s, err, sizeof err),
	    ALIAS_LOOP);
	ck_assert_ptr_nonnull(strstr(err, "alias loop"));
	ck_assert_int_eq(alias_expand(&a, "d1", local_example, NULL, &s, err, sizeof err), ALIAS_DEEP);
	ck_assert_int_eq(alias_expand(&a, "d3", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_str_eq(s.v[0].text, "end");
	alias_set_free(&s);
	ck_assert_int_eq(alias_expand(&a, "bob", local_example, NULL, &s, err, sizeof err), ALIAS_NONE);
	aliases_free(&a);
}
END_TEST

START_TEST(root_table_never_root)
{
	struct aliases a;
	struct alias_set s;
	char err[200];
	static const char t[] = "x: |/bin/true\n";

	aliases_parse(t, sizeof t - 1, 0, 0, &a);
	ck_assert_int_eq(alias_expand(&a, "x", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.v[0].uid, ALIAS_NOBODY);
	alias_set_free(&s);
	aliases_free(&a);
}
END_TEST

START_TEST(include)
{
	char dir[] = "/tmp/test_aliasesXXXXXX", inc[300], tab[400];
	struct aliases a;
	struct alias_set s;
	char err[300];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(inc, sizeof inc, "%s/members", dir);
	f = fopen(inc, "w");
	fputs("alice\nbob@example.org\n\"|/bin/cat\"\n", f);
	fclose(f);
	snprintf(tab, sizeof tab, "list: :include:%s, dave\nrel: :include:members\n", inc);
	aliases_parse(tab, strlen(tab), getuid(), getgid(), &a);
	ck_assert_int_eq(alias_expand(&a, "list", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_str_eq(s.v[1].text, "bob@example.org");
	ck_assert_int_eq(s.v[2].kind, AK_PIPE);
	alias_set_free(&s);
	ck_assert_int_eq(alias_expand(&a, "rel", local_example, NULL, &s, err, sizeof err),
	    ALIAS_INCLUDE);
	chmod(inc, 0666);
	ck_assert_int_eq(alias_expand(&a, "list", local_example, NULL, &s, err, sizeof err),
	    ALIAS_INCLUDE);
	ck_assert_ptr_nonnull(strstr(err, "writable by its owner only"));
	aliases_free(&a);
	if (getuid() == 0) {
		/* a user's table may not include another user's file */
		chmod(inc, 0644);
		ck_assert_int_eq(chown(inc, 4242, 4242), 0);
		aliases_parse(tab, strlen(tab), 4343, 4343, &a);
		ck_assert_int_eq(alias_expand(&a, "list", local_example, NULL, &s, err, sizeof err),
		    ALIAS_INCLUDE);
		ck_assert_ptr_nonnull(strstr(err, "not by uid 4343 or root"));
		aliases_free(&a);
	}
	unlink(inc);
	rmdir(dir);
}
END_TEST

START_TEST(big_list)
{
	struct buf b = { 0 };
	struct aliases a;
	struct alias_set s;
	char err[200];

	buf_adds(&b, "big: m0");
	for (int i = 1; i < 10000; i++)
		buf_printf(&b, ",\n m%d@example.org", i);
	buf_adds(&b, ", m5@example.org, m0\n");
	for (int i = 0; i < 10000; i += 100)
		buf_printf(&b, "m%d: m%d, m%d@remote.example\n", i, i, i);
	aliases_parse(b.p, b.len, 1000, 1000, &a);
	ck_assert_int_eq(alias_expand(&a, "big", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 10100);
	aliases_free(&a);
	alias_set_free(&s);
	buf_free(&b);
}
END_TEST

/* Found by fuzz_aliases (tests/fuzz/regress/aliases/). */
static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

static int fwd(const char *path, const char *text, struct alias_set *s, char *err, size_t cap)
{
	write_text(path, text);
	return alias_forward(NULL, path, "bob", getuid(), getgid(), local_example, NULL, s, err,
	    cap);
}

START_TEST(hostile_forward)
{
	char dir[] = "/tmp/test_aliasesXXXXXX", path[300], text[400], err[300];
	struct alias_set s;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/.forward", dir);
	/* a file including itself ends (it overflowed the stack) */
	snprintf(text, sizeof text, "alice\n:include:%s\n", path);
	ck_assert_int_eq(fwd(path, text, &s, err, sizeof err), ALIAS_DEEP);
	/* a quote left open does not carry the next line into the command */
	ck_assert_int_eq(fwd(path, "\"|/bin/echo a\n/tmp/x\"\n", &s, err, sizeof err), ALIAS_OK);
	for (size_t i = 0; i < s.n; i++)
		ck_assert(s.v[i].kind != AK_PIPE || strstr(s.v[i].text, "/tmp/x") == NULL);
	alias_set_free(&s);
	/* a control byte in an address is refused, not queued */
	ck_assert_int_eq(fwd(path, "carol\033@remote.example\n", &s, err, sizeof err),
	    ALIAS_SYNTAX);
	ck_assert_int_eq(fwd(path, "carol@remote\t.example\n", &s, err, sizeof err), ALIAS_SYNTAX);
	/* a lone backslash names no one; a comment may end the file */
	ck_assert_int_eq(fwd(path, "\\\nalice\n# the end", &s, err, sizeof err), ALIAS_OK);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_str_eq(s.v[0].text, "alice");
	alias_set_free(&s);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(bounded_walk)
{
	struct buf b = { 0 };
	struct aliases a;
	struct alias_set s;
	char err[200];

	/* ten lists each naming the next ten times: 10^9 walks before */
	for (int i = 0; i < 9; i++) {
		buf_printf(&b, "l%d: l%d", i, i + 1);
		for (int k = 1; k < 10; k++)
			buf_printf(&b, ", l%d", i + 1);
		buf_adds(&b, "\n");
	}
	buf_adds(&b, "l9: \\end\n");
	aliases_parse(b.p, b.len, 0, 0, &a);
	ck_assert_int_eq(alias_expand(&a, "l0", local_example, NULL, &s, err, sizeof err),
	    ALIAS_MANY);
	ck_assert_int_eq(alias_expand(&a, "l5", local_example, NULL, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.n, 1);
	alias_set_free(&s);
	aliases_free(&a);
	buf_free(&b);
	/* an empty table (qsort and bsearch of NULL were undefined) */
	aliases_parse("", 0, 0, 0, &a);
	ck_assert_ptr_null(alias_lookup(&a, "x"));
	ck_assert_int_eq(alias_expand(&a, "x", local_example, NULL, &s, err, sizeof err),
	    ALIAS_NONE);
	aliases_free(&a);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("aliases");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, parse_lookup);
	tcase_add_test(tc, expand);
	tcase_add_test(tc, root_table_never_root);
	tcase_add_test(tc, include);
	tcase_add_test(tc, big_list);
	tcase_add_test(tc, hostile_forward);
	tcase_add_test(tc, bounded_walk);
	tcase_set_timeout(tc, 30);    /* bounded_walk walks 100,000 members: seconds under ASan */
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
