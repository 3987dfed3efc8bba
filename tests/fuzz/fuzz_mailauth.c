/* fuzz_mailauth — libFuzzer harness for the parsers mailauth feeds with
 * hostile text: DKIM tag-lists (signatures and key records) and whole
 * signed messages verified against a key the input itself supplies.
 *
 * The first byte picks the target: 0 tag-list parser, 1 key record
 * parser, 2 dkim_verify on the rest as a message whose key record is the
 * text of its first line (and its ARC chain), 3 the SPF record parser (terms, macros, CIDR).  run.sh builds it with lib/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "dkim.h"
#include "err.h"
#include "spf.h"

const char *const progname = "fuzz_mailauth";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *key_text;

static enum dns_status one_key(void *ctx, const char *name, struct dns_answer *out)
{
	(void)ctx;
	(void)name;
	memset(out, 0, sizeof *out);
	out->text = xmalloc(sizeof *out->text);
	out->text[0] = xstrdup(key_text);
	out->n = 1;
	return DNS_OK;
}

static void fuzz_verify(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	struct dkim_verify_opts o = { .txt = one_key, .now = 1700000000 };
	struct dkim_result *r;
	struct arc_out arc;
	size_t nr;
	char *key;

	if (!nl)
		return;
	key = xstrndup(s, (size_t)(nl - s));
	key_text = key;
	dkim_verify(nl + 1, n - (size_t)(nl + 1 - s), &o, &r, &nr);
	free(r);
	arc_verify(nl + 1, n - (size_t)(nl + 1 - s), &o, &arc);
	free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_tags t;
	const char *why;
	char *s;
	EVP_PKEY *k;
	int testing, strict;

	if (size < 1)
		return 0;
	s = xmalloc(size);      /* a NUL-terminated copy; NULs inside stay */
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		if (dkim_tags_parse(s, size - 1, &t, &why) == 0)
			for (size_t i = 0; i < t.n; i++)
				if (t.v[i].val < s || t.v[i].val + t.v[i].len > s + size - 1)
					abort();
		break;
	case 1:
		dkim_key_parse(s, data[0] & 4 ? DKIM_ED25519_SHA256 : DKIM_RSA_SHA256, &k, &why,
		    &testing, &strict);
		EVP_PKEY_free(k);
		break;
	case 3:
		spf_record_syntax(s, &why);
		break;
	default:
		fuzz_verify((const char *)data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
