/* fuzz_pgp — libFuzzer harness for lib/pgp.c's reading of gpg's status
 * lines (pgp_parse_status) and of user IDs (pgp_uid_split): what gpg says
 * about a hostile message carries that message's bytes (user IDs, key IDs).
 *
 * Asserts: at most PGP_SIGS_MAX signatures and PGP_UIDS_MAX user IDs each,
 * key IDs and fingerprints hexadecimal and terminated, every verdict either
 * good or with a reason, name and address always terminated within their
 * buffers, and the result freed without a leak. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgp.h"

const char *const progname = "fuzz_pgp";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static void hex_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	CHECK(n < cap);
	for (size_t i = 0; i < n; i++)
		CHECK(isxdigit((unsigned char)s[i]) && !islower((unsigned char)s[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgp_result r;

	memset(&r, 0, sizeof r);
	pgp_parse_status((const char *)data, size, &r);
	CHECK(r.nsig <= PGP_SIGS_MAX);
	for (size_t i = 0; i < r.nsig; i++) {
		const struct pgp_sig *g = &r.sig[i];
		char why[PGP_WHY_MAX], name[64], addr[64];

		CHECK(g->nuid <= PGP_UIDS_MAX);
		hex_ok(g->keyid, sizeof g->keyid);
		hex_ok(g->fpr, sizeof g->fpr);
		hex_ok(g->primary, sizeof g->primary);
		if (pgp_sig_ok(g, why, sizeof why))
			CHECK(g->state == PGP_SIG_GOOD && why[0] == '\0');
		else
			CHECK(why[0] != '\0');
		CHECK(pgp_trust_name(g->trust) != NULL);
		for (size_t j = 0; j < g->nuid; j++) {
			CHECK(g->uid[j] != NULL && g->uid[j][0] != '\0');
			pgp_uid_split(g->uid[j], name, sizeof name, addr, sizeof addr);
			CHECK(strnlen(name, sizeof name) < sizeof name);
			CHECK(strnlen(addr, sizeof addr) < sizeof addr);
			if (addr[0])
				(void)pgp_sig_has(g, addr);
		}
	}
	pgp_result_free(&r);
	return 0;
}
