/* secure.c — S/MIME for smtp-send (RFC 8551 3.5.3 multipart/signed, 3.3
 * enveloped-data) and OpenPGP (PGP/MIME, RFC 3156 5 multipart/signed, 4
 * multipart/encrypted, through gpg: lib/pgp.c): the message is split into
 * its outer fields (From, To, Subject...: they stay in clear, as every
 * S/MIME and PGP/MIME agent sends them) and its MIME entity (the Content-*
 * fields and the body), the entity made 7-bit safe, signed, then
 * encrypted, and put back under the outer fields. */
#include <string.h>
#include <strings.h>

#include <ctype.h>

#include "addr.h"
#include "b64.h"
#include "err.h"
#include "header.h"
#include "mime.h"
#include "pgp.h"
#include "qp.h"
#include "secure.h"
#include "smime.h"

#define SECURE_LINE_MAX 76      /* RFC 2045 6.7: longer lines get encoded */

int secure_option(struct secure *s, int sign, const char *arg)
{
	if (*arg == '\0')
		return -1;
	if (sign) {
		const char *colon = strchr(arg, ':');

		free(s->sign_cert);
		free(s->sign_key);
		s->sign_cert = colon ? xstrndup(arg, (size_t)(colon - arg)) : xstrdup(arg);
		s->sign_key = colon && colon[1] ? xstrdup(colon + 1) : NULL;
		return 0;
	}
	if (s->nenc >= SECURE_RCPT_MAX)
		return -1;
	s->enc[s->nenc++] = arg;
	return 0;
}

int secure_pgp_option(struct secure *s, int sign, const char *arg)
{
	if (arg && (*arg == '\0' || *arg == '-'))
		return -1;
	if (sign) {
		s->pgp_sign = 1;
		free(s->pgp_signer);
		s->pgp_signer = arg ? xstrdup(arg) : NULL;
		return 0;
	}
	if (arg == NULL || s->npgp_enc >= SECURE_RCPT_MAX)
		return -1;
	s->pgp_enc[s->npgp_enc++] = arg;
	return 0;
}

int secure_is_keyid(const char *arg)
{
	size_t n = 0;

	if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
		arg += 2;
	while (isxdigit((unsigned char)arg[n]))
		n++;
	return arg[n] == '\0' && n >= 8 && n <= PGP_FPR_MAX;
}

const char *secure_conflict(const struct secure *s)
{
	if ((s->sign_cert || s->nenc) && (s->pgp_sign || s->npgp_enc))
		return "--sign/--encrypt (S/MIME) and --pgp-sign/--pgp-encrypt (OpenPGP) "
		    "exclude each other: a message is either S/MIME or PGP/MIME";
	return NULL;
}

int secure_wanted(const struct secure *s)
{
	return s->sign_cert != NULL || s->nenc > 0 || s->pgp_sign || s->npgp_enc > 0;
}

void secure_free(struct secure *s)
{
	free(s->sign_cert);
	free(s->sign_key);
	free(s->pgp_signer);
	s->sign_cert = s->sign_key = s->pgp_signer = NULL;
}

static int is_content_field(const struct hdr_field *f)
{
	return f->name && f->namelen > 8 && strncasecmp(f->name, "Content-", 8) == 0;
}

/* Whether a body needs a 7-bit-safe encoding: 8-bit bytes, NUL, lines
 * over SECURE_LINE_MAX, blanks before a line end, a line "From " (mbox
 * would change it). */
static int unsafe(const char *p, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80 || c == '\0')
			return 1;
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (c == '\n') {
			if (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t' ||
			    (p[i - 1] == '\r' && i > 1 && (p[i - 2] == ' ' || p[i - 2] == '\t'))))
				return 1;
			col = 0;
			continue;
		}
		if (col == 0 && n - i >= 5 && memcmp(p + i, "From ", 5) == 0)
			return 1;
		if (++col > SECURE_LINE_MAX)
			return 1;
	}
	return n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t');
}

static void encode(struct buf *out, const char *p, size_t n, int qp)
{
	char *d;
	size_t k;

	if (qp) {
		struct qp_enc e;

		qp_enc_init(&e, 0, 1);
		d = buf_reserve(out, qp_enc_bound(n) + 8);
		k = qp_enc_update(&e, p, n, d);
		k += qp_enc_final(&e, d + k);
	} else {
		struct b64_enc e;

		b64_enc_init(&e, SECURE_LINE_MAX, 1);
		d = buf_reserve(out, b64_enc_bound(&e, n) + 8);
		k = b64_enc_update(&e, p, n, d);
		k += b64_enc_final(&e, d + k);
	}
	buf_commit(out, k);
	if (out->len && out->p[out->len - 1] != '\n')
		buf_adds(out, "\r\n");
}

/* Copy the entity e[0..n) to out with every leaf that a relay might
 * change re-encoded (identity encodings only: quoted-printable and base64
 * are 7-bit already). */
static void make_safe(const char *e, size_t n, struct buf *out)
{
	struct mime_msg m;
	size_t at = 0;

	mime_parse(e, n, &m);
	for (const struct mime_part *p = m.root; p; p = p->order) {
		struct hdr_iter it;
		struct hdr_field f;
		int text = strcmp(p->type, "text") == 0;

		if (p->child || (p->enc != ENC_7BIT && p->enc != ENC_8BIT && p->enc != ENC_BINARY) ||
		    !unsafe(e + p->body_off, p->end - p->body_off))
			continue;
		/* text with NUL or bare CR is not text a QP decoder gives back */
		if (text && (memchr(e + p->body_off, '\0', p->end - p->body_off)))
			text = 0;
		buf_add(out, e + at, p->off - at);
		hdr_iter_init(&it, e + p->off, p->body_off - p->off);
		while (hdr_next(&it, &f))
			if (!(f.name && f.namelen == 25 &&
			    strncasecmp(f.name, "Content-Transfer-Encoding", 25) == 0))
				buf_add(out, f.raw, f.rawlen);
		buf_printf(out, "Content-Transfer-Encoding: %s\r\n\r\n",
		    text ? "quoted-printable" : "base64");
		encode(out, e + p->body_off, p->end - p->body_off, text);
		/* the CRLF before the next boundary belongs to the boundary */
		if (p->end < n && out->len >= 2)
			out->len -= 2;
		at = p->end;
	}
	buf_add(out, e + at, n - at);
	mime_free(&m);
}

static void boundary(const struct secure *s, const char *what, char *b, size_t cap)
{
	/* "=_" cannot occur in base64 or quoted-printable */
	snprintf(b, cap, "=_%s_%016llx", what, s->rnd);
}

static void der_part(struct buf *out, const struct buf *der)
{
	encode(out, der->p ? der->p : "", der->len, 0);
}

static int sign(const struct secure *s, struct buf *ent, char *err, size_t cap)
{
	struct buf der = { 0 }, out = { 0 };
	char b[64];

	if (smime_sign(s->sign_cert, s->sign_key, ent->p, ent->len, &der, err, cap) < 0)
		return -1;
	boundary(s, "signed", b, sizeof b);
	buf_printf(&out, "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
	    " micalg=sha-256; boundary=\"%s\"\r\n\r\n"
	    "This is an S/MIME signed message.\r\n\r\n--%s\r\n", b, b);
	buf_add(&out, ent->p, ent->len);
	buf_printf(&out, "\r\n--%s\r\n"
	    "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n", b);
	der_part(&out, &der);
	buf_printf(&out, "\r\n--%s--\r\n", b);
	buf_free(&der);
	buf_free(ent);
	*ent = out;
	return 0;
}

static int encrypt(const struct secure *s, struct buf *ent, char *err, size_t cap)
{
	struct buf der = { 0 }, out = { 0 };
	const char *to[SECURE_RCPT_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < s->nenc; i++)
		to[n++] = s->enc[i];
	if (s->sign_cert)
		to[n++] = s->sign_cert;   /* the sender reads its own sent copy */
	if (smime_encrypt(to, n, ent->p, ent->len, &der, err, cap) < 0)
		return -1;
	buf_adds(&out, "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n"
	    " name=\"smime.p7m\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n");
	der_part(&out, &der);
	buf_free(&der);
	buf_free(ent);
	*ent = out;
	return 0;
}

/* ---- PGP/MIME ---- */

/* The first address of the From: field among the outer fields h[0..n). */
static char *from_address(const char *h, size_t n)
{
	struct hdr_field f;
	struct addr_list l = { 0 };
	char *a = NULL;

	if (hdr_find(h, n, "From", &f)) {
		struct buf v = { 0 };

		hdr_unfold(f.value, f.vallen, 0, &v);
		addr_parse(v.p ? v.p : "", v.len, &l);
		for (size_t i = 0; a == NULL && i < l.n; i++)
			if (l.v[i].kind == ADDR_MAILBOX) {
				struct buf s = { 0 };

				addr_spec(&l.v[i], &s);
				if (s.p)
					a = buf_take(&s);
				buf_free(&s);
			}
		addr_list_free(&l);
		buf_free(&v);
	}
	return a;
}

/* The sender's own secret key: --pgp-sign's KEYID, else the key of the
 * From: address, else gpg's default one.  0, or -1 with why in err. */
static int own_key(const struct secure *s, const char *from, char fpr[PGP_FPR_MAX + 1],
    char *err, size_t cap)
{
	if (s->pgp_signer)
		return pgp_secret_key(s->pgp_signer, fpr, err, cap);
	if (from && pgp_secret_key(from, fpr, err, cap) == 0)
		return 0;
	return pgp_secret_key(NULL, fpr, err, cap);
}

static int pgp_sign_entity(const struct secure *s, const char *fpr, struct buf *ent,
    char *err, size_t cap)
{
	struct buf sig = { 0 }, out = { 0 };
	char b[64], micalg[32];

	if (pgp_sign(fpr, ent->p ? ent->p : "", ent->len, &sig, micalg, sizeof micalg,
	    err, cap) < 0)
		return -1;
	boundary(s, "pgpsigned", b, sizeof b);
	buf_printf(&out, "Content-Type: multipart/signed; protocol=\"application/pgp-signature\";\r\n"
	    " micalg=%s; boundary=\"%s\"\r\n\r\n"
	    "This is an OpenPGP/MIME signed message (RFC 3156).\r\n\r\n--%s\r\n", micalg, b, b);
	buf_add(&out, ent->p, ent->len);
	buf_printf(&out, "\r\n--%s\r\n"
	    "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n"
	    "Content-Description: OpenPGP digital signature\r\n"
	    "Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n", b);
	mime_wire_copy(sig.p, sig.len, &out);
	if (out.len < 2 || out.p[out.len - 1] != '\n')
		buf_adds(&out, "\r\n");
	buf_printf(&out, "\r\n--%s--\r\n", b);
	buf_free(&sig);
	buf_free(ent);
	*ent = out;
	return 0;
}

static int pgp_encrypt_entity(const struct secure *s, const char *fpr, struct buf *ent,
    char *err, size_t cap)
{
	struct buf enc = { 0 }, out = { 0 };
	const char *to[SECURE_RCPT_MAX + 1];
	size_t n = 0;
	char b[64];

	for (size_t i = 0; i < s->npgp_enc; i++)
		to[n++] = s->pgp_enc[i];
	if (*fpr)
		to[n++] = fpr;          /* the sender reads its own sent copy */
	if (pgp_encrypt(to, n, ent->p ? ent->p : "", ent->len, &enc, err, cap) < 0)
		return -1;
	boundary(s, "pgpencrypted", b, sizeof b);
	buf_printf(&out, "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\r\n"
	    " boundary=\"%s\"\r\n\r\n"
	    "This is an OpenPGP/MIME encrypted message (RFC 3156).\r\n\r\n--%s\r\n"
	    "Content-Type: application/pgp-encrypted\r\n"
	    "Content-Description: PGP/MIME version identification\r\n\r\n"
	    "Version: 1\r\n\r\n--%s\r\n"
	    "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n"
	    "Content-Description: OpenPGP encrypted message\r\n"
	    "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n", b, b, b);
	mime_wire_copy(enc.p, enc.len, &out);
	if (out.len < 2 || out.p[out.len - 1] != '\n')
		buf_adds(&out, "\r\n");
	buf_printf(&out, "\r\n--%s--\r\n", b);
	buf_free(&enc);
	buf_free(ent);
	*ent = out;
	return 0;
}

static int pgp_apply(const struct secure *s, const struct buf *outer, struct buf *ent,
    char *err, size_t cap)
{
	char fpr[PGP_FPR_MAX + 1] = "", why[300];
	char *from = from_address(outer->p ? outer->p : "", outer->len);
	int rc = -1;

	if (own_key(s, from, fpr, why, sizeof why) < 0) {
		if (s->pgp_sign) {
			snprintf(err, cap, "%s", why);
			goto out;
		}
		warnx_("OpenPGP: %s: the sent copy is encrypted to the recipients only", why);
		*fpr = '\0';
	}
	if (s->pgp_sign && pgp_sign_entity(s, fpr, ent, err, cap) < 0)
		goto out;
	if (s->npgp_enc && pgp_encrypt_entity(s, fpr, ent, err, cap) < 0)
		goto out;
	rc = 0;
out:
	free(from);
	return rc;
}

int secure_apply(const struct secure *s, struct message *m, char *err, size_t cap)
{
	struct buf outer = { 0 }, raw = { 0 }, ent = { 0 }, all = { 0 };
	struct hdr_iter it;
	struct hdr_field f;
	int has_type = 0, rc = -1;
	struct message nm = { 0 };

	hdr_iter_init(&it, m->p, m->hdrlen);
	while (hdr_next(&it, &f)) {
		if (is_content_field(&f)) {
			buf_add(&raw, f.raw, f.rawlen);
			has_type |= f.namelen == 12 && strncasecmp(f.name, "Content-Type", 12) == 0;
		} else if (!(f.name && f.namelen == 12 && strncasecmp(f.name, "MIME-Version", 12) == 0)) {
			buf_add(&outer, f.raw, f.rawlen);
		}
	}
	if (!has_type)
		buf_adds(&raw, "Content-Type: text/plain; charset=us-ascii\r\n");
	buf_adds(&raw, "\r\n");
	buf_add(&raw, m->p + m->hdrlen, m->len - m->hdrlen);
	make_safe(raw.p, raw.len, &ent);
	if ((s->pgp_sign || s->npgp_enc) && pgp_apply(s, &outer, &ent, err, cap) < 0)
		goto out;
	if (s->sign_cert && sign(s, &ent, err, cap) < 0)
		goto out;
	if (s->nenc && encrypt(s, &ent, err, cap) < 0)
		goto out;
	buf_add(&all, outer.p ? outer.p : "", outer.len);
	buf_adds(&all, "MIME-Version: 1.0\r\n");
	buf_add(&all, ent.p, ent.len);
	if (msg_from_bytes(all.p, all.len, 1, &nm, err, cap) < 0)
		goto out;
	msg_free(m);
	*m = nm;
	rc = 0;
out:
	buf_free(&outer);
	buf_free(&raw);
	buf_free(&ent);
	buf_free(&all);
	return rc;
}
