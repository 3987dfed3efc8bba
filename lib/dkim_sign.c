/* dkim_sign.c — making a DKIM-Signature field (RFC 6376 5), see dkim.h.
 *
 * The field is built with b= last and empty, hashed exactly as it will be
 * written (so "simple" header canonicalisation holds), then the signature
 * is appended after "b=", folded: a verifier deletes the b= value with its
 * white space and gets back the very bytes signed. */
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "dkim.h"
#include "err.h"
#include "header.h"

#define FOLD_COLS 72            /* RFC 5322 2.1.1 asks for lines of at most 78 */

/* Signed when present (RFC 6376 5.4.1's list, less what changes in transit). */
static const char *const default_headers[] = {
	"from", "reply-to", "subject", "date", "to", "cc", "message-id", "in-reply-to",
	"references", "mime-version", "content-type", "content-transfer-encoding",
	"content-id", "content-description", "resent-date", "resent-from", "resent-to",
	"resent-cc", "list-id", "list-unsubscribe",
};

/* The h= list: each default name once per instance in the header. */
static void pick_headers(const char *hdr, size_t n, struct buf *h)
{
	for (size_t k = 0; k < sizeof default_headers / sizeof default_headers[0]; k++) {
		struct hdr_iter it;
		struct hdr_field f;
		hdr_iter_init(&it, hdr, n);
		while (hdr_next(&it, &f))
			if (hdr_is(&f, default_headers[k]))
				buf_printf(h, "%s%s", h->len ? ":" : "", default_headers[k]);
	}
}

/* Append "tag=value;" to b, starting a new folded line when the current
 * one would pass FOLD_COLS. */
static void add_tag(struct buf *b, size_t *col, const char *eol, const char *text)
{
	size_t l = strlen(text);

	if (*col + 1 + l > FOLD_COLS) {
		buf_printf(b, "%s\t", eol);
		*col = 8;
	} else {
		buf_addc(b, ' ');
		(*col)++;
	}
	buf_adds(b, text);
	*col += l;
}

/* h= folded at colons. */
static void add_h(struct buf *b, size_t *col, const char *eol, const char *h)
{
	buf_printf(b, "%s\th=", eol);
	*col = 10;
	for (const char *p = h; *p; ) {
		size_t l = strcspn(p, ":");
		if (*col + l + 1 > FOLD_COLS) {
			buf_printf(b, "%s\t ", eol);
			*col = 9;
		}
		buf_add(b, p, l);
		*col += l;
		p += l;
		buf_addc(b, *p ? ':' : ';');
		(*col)++;
		if (*p)
			p++;
	}
}

void dkim_fold_b64(struct buf *b, const char *eol, const char *s, size_t col)
{
	for (size_t len = strlen(s); len > 0; ) {
		size_t take = col >= FOLD_COLS ? 0 : FOLD_COLS - col;
		if (take == 0) {
			buf_printf(b, "%s\t ", eol);
			col = 9;
			continue;
		}
		if (take > len)
			take = len;
		buf_add(b, s, take);
		s += take;
		len -= take;
		col += take;
	}
	buf_adds(b, eol);
}

/* The field up to "b=" (no line end), in f. */
static int build_field(const struct dkim_sign_opts *o, enum dkim_alg alg, const char *h,
    const char *bh, time_t t, const char *eol, struct buf *f)
{
	char tmp[DKIM_DOMAIN_MAX + 80];
	size_t col;

	if (o->arc_instance > 0)
		buf_printf(f, "ARC-Message-Signature: i=%d; a=%s; c=%s/%s;", o->arc_instance,
		    dkim_alg_name(alg), canon_name(o->hc), canon_name(o->bc));
	else
		buf_printf(f, "DKIM-Signature: v=1; a=%s; c=%s/%s;", dkim_alg_name(alg),
		    canon_name(o->hc), canon_name(o->bc));
	col = f->len;
	snprintf(tmp, sizeof tmp, "d=%s;", o->domain);
	add_tag(f, &col, eol, tmp);
	snprintf(tmp, sizeof tmp, "s=%s;", o->selector);
	add_tag(f, &col, eol, tmp);
	if (o->identity) {
		snprintf(tmp, sizeof tmp, "i=%s;", o->identity);
		add_tag(f, &col, eol, tmp);
	}
	snprintf(tmp, sizeof tmp, "t=%lld;", (long long)t);
	add_tag(f, &col, eol, tmp);
	if (o->expire > 0) {
		snprintf(tmp, sizeof tmp, "x=%lld;", (long long)t + o->expire);
		add_tag(f, &col, eol, tmp);
	}
	if (o->body_len >= 0) {
		snprintf(tmp, sizeof tmp, "l=%lld;", o->body_len);
		add_tag(f, &col, eol, tmp);
	}
	add_h(f, &col, eol, h);
	buf_printf(f, "%s\tbh=%s;%s\tb=", eol, bh, eol);
	return 0;
}

int dkim_sign(const char *msg, size_t n, const struct dkim_sign_opts *o, struct buf *out,
    char *err, size_t errlen)
{
	size_t hlen = hdr_length(msg, n, NULL);
	const char *nl = memchr(msg, '\n', n);
	const char *eol = nl && nl > msg && nl[-1] == '\r' ? "\r\n" : "\n";
	enum dkim_alg alg = dkim_key_alg(o->key);
	unsigned char bh[64], hash[64], sig[DKIM_SIG_B_MAX];
	char bh64[128], *sig64;
	unsigned bhl = 0, hl = 0;
	size_t sl = sizeof sig;
	struct buf h = { 0 }, f = { 0 };
	struct hdr_field from;
	time_t t = o->t ? o->t : time(NULL);
	EVP_MD_CTX *md;
	long long blen;
	int rc = -1;

	if (!hdr_find(msg, hlen, "From", &from)) {
		snprintf(err, errlen, "no From field: RFC 6376 5.4 requires signing it");
		return -1;
	}
	if (o->headers)
		buf_adds(&h, o->headers);
	else
		pick_headers(msg, hlen, &h);
	if (!h.len) {
		snprintf(err, errlen, "no header field to sign");
		goto out;
	}
	blen = dkim_body_hash(msg + hlen, n - hlen, o->bc, o->body_len, 0, bh, &bhl);
	if (blen < 0) {
		snprintf(err, errlen, "-l is longer than the canonical body");
		goto out;
	}
	b64_encode(bh, bhl, bh64);
	build_field(o, alg, h.p, bh64, t, eol, &f);
	md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	dkim_hash_fields(md, msg, hlen, h.p, h.len, o->hc, o->trace);
	dkim_hash_self(md, f.p, f.len, o->hc, o->trace);
	EVP_DigestFinal_ex(md, hash, &hl);
	EVP_MD_CTX_free(md);
	if (dkim_sig_make(o->key, hash, hl, 0, sig, &sl) < 0) {
		snprintf(err, errlen, "signing failed (key)");
		goto out;
	}
	sig64 = xmalloc(sl * 2 + 4);
	b64_encode(sig, sl, sig64);
	buf_add(out, f.p, f.len);
	{
		const char *last = strrchr(f.p, '\t');
		dkim_fold_b64(out, eol, sig64, last ? (size_t)(f.p + f.len - last) + 7 : 0);
	}
	free(sig64);
	rc = 0;
out:
	buf_free(&h);
	buf_free(&f);
	return rc;
}
