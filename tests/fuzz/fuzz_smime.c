/* fuzz_smime — libFuzzer harness for lib/smime.c's reading of CMS
 * (smime_verify): the DER of a signature from a hostile message.
 *
 * The first byte chooses where the input splits into signed content and
 * DER, and whether the signature is taken as detached (content given) or
 * opaque (content inside, read out into a buffer).  The harness asserts
 * that a verdict is always given: the structure is either unreadable, with
 * a reason, or read with at most SMIME_SIGNERS_MAX signers, each good or
 * with a reason; never a good signature without a signer certificate. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smime.h"

const char *const progname = "fuzz_smime";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct smime_store *store;
	struct smime_result r;
	struct buf inner = { 0 };
	size_t split;
	int detached;
	char err[200];

	if (size < 1)
		return 0;
	if (store == NULL && (store = smime_store_new(NULL, err, sizeof err)) == NULL)
		abort();
	detached = data[0] & 1;
	split = size > 1 ? (data[0] >> 1) % size : 0;
	data++, size--;
	if (split > size)
		split = size;
	if (detached)
		smime_verify(store, data + split, size - split, (const char *)data, split, &r, NULL);
	else
		smime_verify(store, data, size, NULL, 0, &r, &inner);
	CHECK(r.nsigner <= SMIME_SIGNERS_MAX);
	if (!r.ok)
		CHECK(r.why[0] != '\0');
	for (size_t i = 0; i < r.nsigner; i++) {
		const struct smime_signer *g = &r.signer[i];

		CHECK(g->sig_ok || g->why[0] != '\0');
		CHECK(g->chain_ok || g->chain[0] != '\0');
		CHECK(g->nemail <= SMIME_EMAILS_MAX);
	}
	smime_result_free(&r);
	buf_free(&inner);
	return 0;
}
