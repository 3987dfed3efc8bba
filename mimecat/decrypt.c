/* decrypt.c — --decrypt: an S/MIME encrypted message (application/
 * pkcs7-mime, smime-type enveloped-data, RFC 8551 3.3) becomes the message
 * it holds, so every mode then shows, verifies or extracts the inner
 * message as usual.  The outer header fields other than Content-* (From,
 * To, Subject: in clear, as they were sent) head the decrypted entity. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "header.h"
#include "mimecat.h"
#include "smime.h"

static int add_decoded(void *arg, const char *s, size_t n)
{
	buf_add(arg, s, n);
	return 0;
}

static int enveloped(const struct mime_part *p)
{
	const char *t = mime_param_raw(p->params, p->nparams, "smime-type");

	return strcmp(p->type, "application") == 0 &&
	    (strcmp(p->subtype, "pkcs7-mime") == 0 || strcmp(p->subtype, "x-pkcs7-mime") == 0) &&
	    (t == NULL || strcasecmp(t, "enveloped-data") == 0);
}

int mc_decrypt(struct mc *mc)
{
	const struct mime_part *r = mc->m.root;
	struct buf der = { 0 }, msg = { 0 };
	struct hdr_iter it;
	struct hdr_field f;
	char err[300];

	if (!enveloped(r)) {
		warnx_("%s: not an S/MIME encrypted message (application/pkcs7-mime)", mc->name);
		return -1;
	}
	mime_decode(r, add_decoded, &der, NULL);
	hdr_iter_init(&it, r->base + r->off, r->body_off - r->off);
	while (hdr_next(&it, &f))
		if (!(f.name && f.namelen > 8 && strncasecmp(f.name, "Content-", 8) == 0))
			buf_add(&msg, f.raw, f.rawlen);
	if (smime_decrypt(mc->key, mc->cert, (const unsigned char *)(der.p ? der.p : ""),
	    der.len, &msg, err, sizeof err) < 0) {
		warnx_("%s: decrypt: %s", mc->name, err);
		buf_free(&der);
		buf_free(&msg);
		return -1;
	}
	buf_free(&der);
	/* swap in the decrypted message; mc_decrypt_done puts the mapping back */
	mc->orig_base = mc->base;
	mc->orig_len = mc->len;
	mime_free(&mc->m);
	mc->len = msg.len;
	mc->plain = buf_take(&msg);
	mc->base = mc->plain;
	mime_parse(mc->base, mc->len, &mc->m);
	return 0;
}

void mc_decrypt_done(struct mc *mc)
{
	if (mc->plain == NULL)
		return;
	mime_free(&mc->m);
	free(mc->plain);
	mc->plain = NULL;
	memset(&mc->m, 0, sizeof mc->m);   /* mc_unload frees nothing more */
	mc->base = mc->orig_base;
	mc->len = mc->orig_len;
}
