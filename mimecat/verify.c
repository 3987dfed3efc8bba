/* verify.c — --verify: check every S/MIME and OpenPGP signature of the
 * message and print one line per signer: who signed (name and address
 * from the certificate or the key), whether that address is the From: of
 * the message, when, whether the certificate chain leads to a trusted CA
 * (S/MIME) or how valid the key is in the web of trust (PGP), and why a
 * signature fails, in plain words.
 *
 * Signatures are multipart/signed with protocol application/pkcs7-signature
 * or application/x-pkcs7-signature (RFC 8551 3.5.3, RFC 1847: the first
 * part, header included, as it stands between the boundaries, with its
 * lines ended by CRLF, is what was signed) and opaque signed-data
 * (application/pkcs7-mime; smime-type=signed-data, 3.5.2), whose content is
 * parsed again, up to MC_VERIFY_NEST levels, for signatures inside.
 *
 * OpenPGP signatures are PGP/MIME multipart/signed with protocol
 * application/pgp-signature (RFC 3156 5: the first part in CRLF form, as
 * for S/MIME, against the armored signature of the second) and text parts
 * that are clear-signed ("-----BEGIN PGP SIGNED MESSAGE-----", RFC 4880
 * 7), checked by gpg (lib/pgp.c) against the keyring of GNUPGHOME.  A
 * PGP signature is good when it holds, its key is neither expired nor
 * revoked nor distrusted (TRUST_NEVER), and the key has the From: address
 * among its user IDs; the key's web-of-trust validity is shown, and, as
 * with gpg --verify, a key not yet certified (trust: unknown) does not by
 * itself make the signature bad. */
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "err.h"
#include "header.h"
#include "mimecat.h"
#include "pgp.h"
#include "smime.h"

#define MC_VERIFY_NEST 8        /* opaque signed-data inside signed-data */
#define MC_CLEARSIGN_HEAD "-----BEGIN PGP SIGNED MESSAGE-----"

struct vctx {
	struct smime_store *store;
	struct addr_list from;          /* From: of the outermost message */
	int has_from;
	size_t good, bad;
};

static int is_pkcs7(const struct mime_part *p, const char *sub)
{
	if (strcmp(p->type, "application") != 0)
		return 0;
	if (strncmp(p->subtype, "x-", 2) == 0)
		return strcmp(p->subtype + 2, sub) == 0;
	return strcmp(p->subtype, sub) == 0;
}

/* A protocol parameter names pkcs7-signature (x- or not). */
static int smime_protocol(const struct mime_part *p)
{
	const char *v = mime_param_raw(p->params, p->nparams, "protocol");

	return v && (strcasecmp(v, "application/pkcs7-signature") == 0 ||
	    strcasecmp(v, "application/x-pkcs7-signature") == 0);
}

static int opaque_signed(const struct mime_part *p)
{
	const char *t = mime_param_raw(p->params, p->nparams, "smime-type");

	if (!is_pkcs7(p, "pkcs7-mime"))
		return 0;
	/* old agents leave smime-type out: the DER then says what it is */
	return t == NULL || strcasecmp(t, "signed-data") == 0;
}

static int add_decoded(void *arg, const char *s, size_t n)
{
	buf_add(arg, s, n);
	return 0;
}

static void label(const struct mc *mc, const struct mime_part *p, const char *outer,
    struct buf *out)
{
	struct buf sec = { 0 };

	mime_section_name(p, &sec);
	if (mc->several && outer == NULL)
		buf_printf(out, "%s: ", mc->name);
	if (outer && *outer)
		buf_printf(out, "%s/", outer);
	buf_adds(out, sec.len ? sec.p : "message");
	buf_free(&sec);
}

static int smime_has(const void *g, const char *a)
{
	return smime_signer_has(g, a);
}

static int pgp_has(const void *g, const char *a)
{
	return pgp_sig_has(g, a);
}

/* Whether one of the From: addresses is one of the signer's. */
static int from_matches(const struct vctx *v, const void *g,
    int (*has)(const void *, const char *))
{
	int ok = 0;

	for (size_t i = 0; !ok && i < v->from.n; i++) {
		struct buf a = { 0 };

		if (v->from.v[i].kind == ADDR_MAILBOX) {
			addr_spec(&v->from.v[i], &a);
			ok = a.p && has(g, a.p);
		}
		buf_free(&a);
	}
	return ok;
}

static void print_signer(FILE *f, const char *where, const struct smime_signer *g,
    int has_from, int from_ok)
{
	fprintf(f, "%s: %s signature", where,
	    g->sig_ok && g->chain_ok && (from_ok || !has_from) ? "good" : "BAD");
	if (g->name || g->nemail) {
		fputs(" by ", f);
		if (g->name)
			mc_put_name(f, g->name);
		if (g->nemail) {
			fputs(g->name ? " <" : "<", f);
			mc_put_name(f, g->email[0]);
			putc('>', f);
		}
	}
	fprintf(f, ", From: %s", !has_from ? "absent" : from_ok ? "matches" : "does not match");
	fprintf(f, ", signed %s", *g->when ? g->when : "at an unknown time");
	fprintf(f, ", chain: %s", g->chain_ok ? "trusted" : "not trusted");
	if (!g->sig_ok)
		fprintf(f, ": FAILED: %s", g->why);
	else if (!g->chain_ok)
		fprintf(f, ": FAILED: %s", g->chain);
	else if (has_from && !from_ok)
		fputs(": FAILED: the signer's address is not the From: address", f);
	putc('\n', f);
}

static void report(struct mc *mc, struct vctx *v, const char *where,
    const struct smime_result *r)
{
	if (!r->ok || r->nsigner == 0) {
		fprintf(mc->out, "%s: BAD signature: FAILED: %s\n", where,
		    *r->why ? r->why : "no signer");
		v->bad++;
		return;
	}
	for (size_t i = 0; i < r->nsigner; i++) {
		const struct smime_signer *g = &r->signer[i];
		int from_ok = from_matches(v, g, smime_has);

		print_signer(mc->out, where, g, v->has_from, from_ok);
		from_ok |= !v->has_from;
		if (g->sig_ok && g->chain_ok && from_ok)
			v->good++;
		else
			v->bad++;
	}
}

/* One PGP signature: "good signature by NAME <ADDR>, From: matches,
 * signed WHEN, trust: full (PGP key FPR)". */
static void print_pgp(FILE *f, const char *where, const struct pgp_sig *g, size_t uid,
    int good, int has_from, int from_ok, const char *why)
{
	char name[256], addr[256], when[32] = "";

	name[0] = addr[0] = '\0';
	if (uid < g->nuid)
		pgp_uid_split(g->uid[uid], name, sizeof name, addr, sizeof addr);
	if (g->when) {
		struct tm tm;
		time_t t = g->when;

		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	fprintf(f, "%s: %s signature", where, good ? "good" : "BAD");
	if (*name || *addr) {
		fputs(" by ", f);
		if (*name)
			mc_put_name(f, name);
		if (*addr) {
			fputs(*name ? " <" : "<", f);
			mc_put_name(f, addr);
			putc('>', f);
		}
	}
	fprintf(f, ", From: %s", !has_from ? "absent" : from_ok ? "matches" :
	    g->nuid == 0 ? "unknown (no key)" : "does not match");
	fprintf(f, ", signed %s", *when ? when : "at an unknown time");
	fprintf(f, ", trust: %s", pgp_trust_name(g->trust));
	fprintf(f, " (PGP key %s)", *g->primary ? g->primary : *g->keyid ? g->keyid : "unknown");
	if (!good)
		fprintf(f, ": FAILED: %s", why);
	putc('\n', f);
}

/* The user ID to show: the one with the From: address, else the first. */
static size_t from_uid(const struct vctx *v, const struct pgp_sig *g)
{
	for (size_t i = 0; i < g->nuid; i++) {
		struct pgp_sig one = { .uid = { g->uid[i] }, .nuid = 1 };

		if (from_matches(v, &one, pgp_has))
			return i;
	}
	return 0;
}

static void report_pgp(struct mc *mc, struct vctx *v, const char *where,
    const struct pgp_result *r)
{
	if (*r->why || r->nsig == 0 || r->too_many) {
		fprintf(mc->out, "%s: BAD signature: FAILED: %s\n", where, *r->why ? r->why :
		    r->too_many ? "too many signatures" :
		    "not an OpenPGP signature (damaged, truncated or garbage)");
		v->bad++;
		return;
	}
	for (size_t i = 0; i < r->nsig; i++) {
		const struct pgp_sig *g = &r->sig[i];
		int from_ok = from_matches(v, g, pgp_has);
		char why[PGP_WHY_MAX];
		int good = pgp_sig_ok(g, why, sizeof why);

		if (good && g->trust == PGP_TRUST_NEVER) {
			good = 0;
			snprintf(why, sizeof why, "the key is marked as not to be trusted (trust: never)");
		} else if (good && v->has_from && !from_ok) {
			good = 0;
			snprintf(why, sizeof why, "the signer's address is not the From: address");
		}
		print_pgp(mc->out, where, g, from_uid(v, g), good, v->has_from, from_ok, why);
		if (good)
			v->good++;
		else
			v->bad++;
	}
}

static int pgp_protocol(const struct mime_part *p)
{
	const char *v = mime_param_raw(p->params, p->nparams, "protocol");

	return v && strcasecmp(v, "application/pgp-signature") == 0;
}

/* multipart/signed split in its two parts (RFC 1847 2.1). */
struct signed_parts {
	const char *body;       /* the first part's bytes in their signed form: */
	size_t nbody;           /* CRLF line ends (in canon when they were not) */
	struct buf sig;         /* the second part, its transfer encoding undone */
	struct buf canon;
};

/* Split p into sp; -1 (said, and counted bad) without a second part. */
static int split_signed(struct mc *mc, struct vctx *v, const struct mime_part *p,
    const char *where, struct signed_parts *sp)
{
	const struct mime_part *body = p->child, *sig = body ? body->next : NULL;

	memset(sp, 0, sizeof *sp);
	if (sig == NULL) {
		fprintf(mc->out, "%s: BAD signature: FAILED: multipart/signed without its two parts\n", where);
		v->bad++;
		return -1;
	}
	mime_decode(sig, add_decoded, &sp->sig, NULL);
	sp->body = body->base + body->off;
	sp->nbody = body->end - body->off;
	if (mime_wire_len(sp->body, sp->nbody) != sp->nbody) {
		mime_wire_copy(sp->body, sp->nbody, &sp->canon);
		sp->body = sp->canon.p ? sp->canon.p : "";
		sp->nbody = sp->canon.len;
	}
	return 0;
}

static void signed_parts_free(struct signed_parts *sp)
{
	buf_free(&sp->sig);
	buf_free(&sp->canon);
}

/* PGP/MIME (RFC 3156 5). */
static void check_pgp_detached(struct mc *mc, struct vctx *v, const struct mime_part *p,
    const char *where)
{
	struct signed_parts sp;
	struct pgp_result r;

	if (split_signed(mc, v, p, where, &sp) < 0)
		return;
	if (sp.sig.len == 0) {
		memset(&r, 0, sizeof r);
		snprintf(r.why, sizeof r.why, "the signature part is empty");
	} else {
		pgp_verify(sp.sig.p, sp.sig.len, sp.body, sp.nbody, &r);
	}
	report_pgp(mc, v, where, &r);
	pgp_result_free(&r);
	signed_parts_free(&sp);
}

/* Whether text s[0..n) is clear-signed: the armor header line at a line start. */
static int clearsigned(const char *s, size_t n)
{
	static const char h[] = MC_CLEARSIGN_HEAD;
	const char *e = s + n;

	for (const char *p = s; p && p + sizeof h - 1 <= e;) {
		p = memmem(p, (size_t)(e - p), h, sizeof h - 1);
		if (p == NULL)
			return 0;
		if (p == s || p[-1] == '\n')
			return 1;
		p++;
	}
	return 0;
}

static int inline_candidate(const struct mime_part *p)
{
	/* base64 hides the armor line: such text is decoded to look */
	return p->child == NULL && strcmp(p->type, "text") == 0 && (p->enc == ENC_BASE64 ||
	    memmem(p->base + p->body_off, p->end - p->body_off, "PGP SIGNED MESSAGE", 18) != NULL);
}

/* A clear-signed text part: its decoded text as gpg reads it. */
static void check_pgp_inline(struct mc *mc, struct vctx *v, const struct mime_part *p,
    const char *where)
{
	struct buf text = { 0 };
	struct pgp_result r;

	mime_decode(p, add_decoded, &text, NULL);
	if (text.len && clearsigned(text.p, text.len)) {
		pgp_verify(text.p, text.len, NULL, 0, &r);
		report_pgp(mc, v, where, &r);
		pgp_result_free(&r);
	}
	buf_free(&text);
}

static void walk(struct mc *mc, struct vctx *v, const struct mime_part *root,
    const char *outer, unsigned nest);

/* multipart/signed: the first part's bytes, in CRLF form, against the DER
 * of the second. */
static void check_detached(struct mc *mc, struct vctx *v, const struct mime_part *p,
    const char *where)
{
	struct signed_parts sp;
	struct smime_result r;

	if (split_signed(mc, v, p, where, &sp) < 0)
		return;
	smime_verify(v->store, (const unsigned char *)(sp.sig.p ? sp.sig.p : ""), sp.sig.len,
	    sp.body, sp.nbody, &r, NULL);
	report(mc, v, where, &r);
	smime_result_free(&r);
	signed_parts_free(&sp);
}

/* Opaque signed-data: verify, then look for signatures in what it holds. */
static void check_opaque(struct mc *mc, struct vctx *v, const struct mime_part *p,
    const char *where, unsigned nest)
{
	struct buf der = { 0 }, inner = { 0 };
	struct smime_result r;

	mime_decode(p, add_decoded, &der, NULL);
	smime_verify(v->store, (const unsigned char *)(der.p ? der.p : ""), der.len,
	    NULL, 0, &r, &inner);
	buf_free(&der);
	if (!r.ok && mime_param_raw(p->params, p->nparams, "smime-type") == NULL) {
		smime_result_free(&r);  /* a pkcs7-mime that is not signed-data */
		buf_free(&inner);
		return;
	}
	report(mc, v, where, &r);
	smime_result_free(&r);
	if (inner.len && nest < MC_VERIFY_NEST) {
		struct mime_msg m;

		mime_parse(inner.p, inner.len, &m);
		walk(mc, v, m.root, where, nest + 1);
		mime_free(&m);
	}
	buf_free(&inner);
}

static int is_signed(const struct mime_part *p)
{
	return strcmp(p->type, "multipart") == 0 && strcmp(p->subtype, "signed") == 0 &&
	    p->child != NULL;
}

static void walk(struct mc *mc, struct vctx *v, const struct mime_part *root,
    const char *outer, unsigned nest)
{
	for (const struct mime_part *p = root; p; p = p->order) {
		struct buf where = { 0 };

		label(mc, p, outer, &where);
		if (is_signed(p) && smime_protocol(p))
			check_detached(mc, v, p, where.p);
		else if (is_signed(p) && pgp_protocol(p))
			check_pgp_detached(mc, v, p, where.p);
		else if (p->child == NULL && opaque_signed(p))
			check_opaque(mc, v, p, where.p, nest);
		else if (inline_candidate(p))
			check_pgp_inline(mc, v, p, where.p);
		buf_free(&where);
	}
}

/* Which signatures the message has to check: 1 S/MIME, 2 PGP (or'ed). */
static int has_signature(const struct mc *mc)
{
	int kinds = mc->pgp_dec && mc->pgp_dec->nsig ? 2 : 0;

	for (const struct mime_part *p = mc->m.root; p; p = p->order) {
		if ((is_signed(p) && smime_protocol(p)) || (p->child == NULL && opaque_signed(p)))
			kinds |= 1;
		if (is_signed(p) && pgp_protocol(p))
			kinds |= 2;
		if (inline_candidate(p)) {
			struct buf text = { 0 };

			mime_decode(p, add_decoded, &text, NULL);
			if (text.len && clearsigned(text.p, text.len))
				kinds |= 2;
			buf_free(&text);
		}
	}
	return kinds;
}

void mc_verify_note(struct mc *mc)
{
	static const char *const head[] = { "", "S/MIME signature", "PGP signature", "signatures" };
	int k = has_signature(mc);

	if (k == 0)
		return;
	fprintf(mc->out, "\n[-- %s --]\n", head[k]);
	mc_verify(mc);
}

int mc_verify(struct mc *mc)
{
	struct vctx v;
	struct hdr_field f;
	char err[256];
	const struct mime_part *r = mc->m.root;

	memset(&v, 0, sizeof v);
	v.store = smime_store_new(mc->cafile, err, sizeof err);
	if (v.store == NULL) {
		warnx_("--cafile %s", err);
		return EX_NOINPUT;
	}
	if (hdr_find(r->base + r->off, r->body_off - r->off, "From", &f)) {
		struct buf val = { 0 };

		hdr_unfold(f.value, f.vallen, MIME_FIELD_MAX, &val);
		addr_parse(val.p ? val.p : "", val.len, &v.from);
		v.has_from = addr_count(&v.from) > 0;
		buf_free(&val);
	}
	if (mc->pgp_dec && (mc->pgp_dec->nsig || mc->pgp_dec->too_many)) {
		/* signed and encrypted at once (RFC 3156 6.2): gpg checked it */
		struct buf where = { 0 };

		if (mc->several)
			buf_printf(&where, "%s: ", mc->name);
		buf_adds(&where, "message (encrypted)");
		report_pgp(mc, &v, where.p, mc->pgp_dec);
		buf_free(&where);
	}
	walk(mc, &v, r, NULL, 0);
	addr_list_free(&v.from);
	smime_store_free(v.store);
	if (v.good + v.bad == 0) {
		warnx_("%s: no S/MIME signature and no PGP signature in this message", mc->name);
		return 2;
	}
	return v.bad ? 1 : 0;
}
