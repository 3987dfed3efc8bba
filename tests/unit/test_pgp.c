/* Unit tests of lib/pgp.c's readers: gpg's status lines (GnuPG
 * doc/DETAILS) as gpg 2.2 writes them for good, bad, unknown-key,
 * expired and revoked signatures, several signatures, hostile lines; the
 * split of user IDs; the verdict words. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pgp.h"

const char *const progname = "test_pgp";

#define FPR "7E69B7672D2AC90677FD95696604508F922BCE3F"

static void parse(const char *s, struct pgp_result *r)
{
	memset(r, 0, sizeof *r);
	pgp_parse_status(s, strlen(s), r);
}

START_TEST(good)
{
	struct pgp_result r;
	char why[PGP_WHY_MAX];

	parse("[GNUPG:] NEWSIG\n"
	    "[GNUPG:] KEY_CONSIDERED " FPR " 0\n"
	    "[GNUPG:] GOODSIG 6604508F922BCE3F Alice Martin <alice@example.org>\n"
	    "[GNUPG:] VALIDSIG " FPR " 2026-12-06 1796544219 0 4 0 22 8 00 " FPR "\n"
	    "[GNUPG:] TRUST_FULLY 0 pgp\n", &r);
	ck_assert_uint_eq(r.nsig, 1);
	ck_assert_int_eq(r.sig[0].state, PGP_SIG_GOOD);
	ck_assert_str_eq(r.sig[0].keyid, "6604508F922BCE3F");
	ck_assert_str_eq(r.sig[0].primary, FPR);
	ck_assert_int_eq((long)r.sig[0].when, 1796544219L);
	ck_assert_int_eq(r.sig[0].trust, PGP_TRUST_FULL);
	ck_assert_str_eq(pgp_trust_name(r.sig[0].trust), "full");
	ck_assert_uint_eq(r.sig[0].nuid, 1);
	ck_assert_str_eq(r.sig[0].uid[0], "Alice Martin <alice@example.org>");
	ck_assert(pgp_sig_ok(&r.sig[0], why, sizeof why));
	ck_assert(pgp_sig_has(&r.sig[0], "ALICE@Example.org"));
	ck_assert(!pgp_sig_has(&r.sig[0], "bob@example.org"));
	pgp_result_free(&r);
}
END_TEST

START_TEST(failures)
{
	struct pgp_result r;
	char why[PGP_WHY_MAX];

	parse("[GNUPG:] NEWSIG\n[GNUPG:] BADSIG 6604508F922BCE3F Alice <a@b.c>\n"
	    "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 1111222233334444 22 8 00 1796544461 9 -\n"
	    "[GNUPG:] NO_PUBKEY 1111222233334444\n"
	    "[GNUPG:] NEWSIG\n[GNUPG:] EXPKEYSIG AAAABBBBCCCCDDDD Olga <o@x.y>\n"
	    "[GNUPG:] NEWSIG\n[GNUPG:] REVKEYSIG AAAABBBBCCCCDDDD Remi <r@x.y>\n"
	    "[GNUPG:] NEWSIG\n[GNUPG:] EXPSIG AAAABBBBCCCCDDDD Eve <e@x.y>\n", &r);
	ck_assert_uint_eq(r.nsig, 5);
	ck_assert(!pgp_sig_ok(&r.sig[0], why, sizeof why));
	ck_assert_str_eq(why, "content changed after signing (or the signature was altered)");
	ck_assert(!pgp_sig_ok(&r.sig[1], why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "no public key 1111222233334444"));
	ck_assert_int_eq((long)r.sig[1].when, 1796544461L);
	ck_assert(!pgp_sig_ok(&r.sig[2], why, sizeof why));
	ck_assert_str_eq(why, "the signer's key has expired");
	ck_assert(!pgp_sig_ok(&r.sig[3], why, sizeof why));
	ck_assert_str_eq(why, "the signer's key is revoked");
	ck_assert(!pgp_sig_ok(&r.sig[4], why, sizeof why));
	ck_assert_str_eq(why, "the signature has expired");
	pgp_result_free(&r);
}
END_TEST

START_TEST(hostile)
{
	struct pgp_result r;
	struct buf b = { 0 };
	char name[16], addr[16], n2[64], a2[64];

	/* no NEWSIG, escapes, a key ID that is not hex, lines of another kind */
	parse("gpg: Good signature\n[GNUPG:] GOODSIG zz12%41 A%0Ab%25 <x@y>\r\n"
	    "[GNUPG:]\n[GNUPG:] VALIDSIG\n[GNUPG:] TRUST_NEVER\n[GNUPG:] GOODSIG\n", &r);
	ck_assert_uint_eq(r.nsig, 2);
	ck_assert_str_eq(r.sig[0].keyid, "1241");
	ck_assert_str_eq(r.sig[0].uid[0], "A\nb% <x@y>");
	ck_assert_int_eq(r.sig[0].trust, PGP_TRUST_NEVER);
	pgp_result_free(&r);
	/* more signatures than kept */
	for (int i = 0; i < PGP_SIGS_MAX + 5; i++)
		buf_adds(&b, "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 01 x\n");
	parse(b.p, &r);
	ck_assert_uint_eq(r.nsig, PGP_SIGS_MAX);
	ck_assert(r.too_many);
	pgp_result_free(&r);
	buf_free(&b);
	pgp_uid_split("Very Long Name Indeed <very.long@address.example>", name, sizeof name,
	    addr, sizeof addr);
	ck_assert_str_eq(name, "Very Long Name ");
	ck_assert_str_eq(addr, "very.long@addre");
	pgp_uid_split("solo@example.org", n2, sizeof n2, a2, sizeof a2);
	ck_assert_str_eq(n2, "");
	ck_assert_str_eq(a2, "solo@example.org");
	pgp_uid_split("<broken", n2, sizeof n2, a2, sizeof a2);
	ck_assert_str_eq(a2, "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pgp");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, good);
	tcase_add_test(tc, failures);
	tcase_add_test(tc, hostile);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
