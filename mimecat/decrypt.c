/* decrypt.c — --decrypt: an S/MIME encrypted message (application/
 * pkcs7-mime, smime-type enveloped-data, RFC 8551 3.3) or a PGP/MIME one
 * (multipart/encrypted, protocol application/pgp-encrypted, RFC 3156 4,
 * decrypted by gpg with the keyring of GNUPGHOME) becomes the message it
 * holds, so every mode then shows, verifies or extracts the inner message
 * as usual.  The outer header fields other than Content-* (From, To,
 * Subject: in clear, as they were sent) head the decrypted entity.  A
 * message signed and encrypted at once (RFC 3156 6.2) has its signatures
 * checked by gpg while decrypting; --verify and the reading view report
 * them (mc->pgp_dec). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "header.h"
#include "mimecat.h"
#include "pgp.h"
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

/* multipart/encrypted for OpenPGP: its second part, the encrypted data. */
static const struct mime_part *pgp_encrypted(const struct mime_part *p)
{
	const char *v = mime_param_raw(p->params, p->nparams, "protocol");

	if (strcmp(p->type, "multipart") != 0 || strcmp(p->subtype, "encrypted") != 0 ||
	    v == NULL || strcasecmp(v, "application/pgp-encrypted") != 0)
		return NULL;
	return p->child ? p->child->next : NULL;
}

static int decrypt_pgp(struct mc *mc, const struct mime_part *data, struct buf *msg)
{
	struct buf enc = { 0 };
	char err[300];
	int rc;

	mime_decode(data, add_decoded, &enc, NULL);
	mc->pgp_dec = xcalloc(1, sizeof *mc->pgp_dec);
	rc = pgp_decrypt(enc.p ? enc.p : "", enc.len, msg, mc->pgp_dec, err, sizeof err);
	if (rc < 0)
		warnx_("%s: decrypt: %s", mc->name, err);
	buf_free(&enc);
	return rc;
}

static int decrypt_smime(struct mc *mc, const struct mime_part *r, struct buf *msg)
{
	struct buf der = { 0 };
	char err[300];
	int rc;

	if (mc->key == NULL || mc->cert == NULL) {
		warnx_("%s: an S/MIME message: --decrypt needs --key KEY and --cert CERT (PEM)",
		    mc->name);
		return -1;
	}
	mime_decode(r, add_decoded, &der, NULL);
	rc = smime_decrypt(mc->key, mc->cert, (const unsigned char *)(der.p ? der.p : ""),
	    der.len, msg, err, sizeof err);
	if (rc < 0)
		warnx_("%s: decrypt: %s", mc->name, err);
	buf_free(&der);
	return rc;
}

int mc_decrypt(struct mc *mc)
{
	const struct mime_part *r = mc->m.root, *pgp = pgp_encrypted(r);
	struct buf msg = { 0 };
	struct hdr_iter it;
	struct hdr_field f;

	if (!enveloped(r) && pgp == NULL) {
		warnx_("%s: not an S/MIME encrypted message (application/pkcs7-mime) nor a "
		    "PGP/MIME one (multipart/encrypted)", mc->name);
		return -1;
	}
	hdr_iter_init(&it, r->base + r->off, r->body_off - r->off);
	while (hdr_next(&it, &f))
		if (!(f.name && f.namelen > 8 && strncasecmp(f.name, "Content-", 8) == 0))
			buf_add(&msg, f.raw, f.rawlen);
	if ((pgp ? decrypt_pgp(mc, pgp, &msg) : decrypt_smime(mc, r, &msg)) < 0) {
		buf_free(&msg);
		return -1;
	}
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
	if (mc->pgp_dec) {
		pgp_result_free(mc->pgp_dec);
		free(mc->pgp_dec);
		mc->pgp_dec = NULL;
	}
	if (mc->plain == NULL)
		return;
	mime_free(&mc->m);
	free(mc->plain);
	mc->plain = NULL;
	memset(&mc->m, 0, sizeof mc->m);   /* mc_unload frees nothing more */
	mc->base = mc->orig_base;
	mc->len = mc->orig_len;
}
