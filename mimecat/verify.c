/* verify.c — --verify: check every S/MIME signature of the message and
 * print one line per signer: who signed (name and address from the
 * certificate), whether that address is the From: of the message, when,
 * whether the certificate chain leads to a trusted CA, and why a
 * signature fails, in plain words.
 *
 * Signatures are multipart/signed with protocol application/pkcs7-signature
 * or application/x-pkcs7-signature (RFC 8551 3.5.3, RFC 1847: the first
 * part, header included, as it stands between the boundaries, with its
 * lines ended by CRLF, is what was signed) and opaque signed-data
 * (application/pkcs7-mime; smime-type=signed-data, 3.5.2), whose content is
 * parsed again, up to MC_VERIFY_NEST levels, for signatures inside. */
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "err.h"
#include "header.h"
#include "mimecat.h"
#include "smime.h"

#define MC_VERIFY_NEST 8        /* opaque signed-data inside signed-data */

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

/* Whether one of the From: addresses is one of the signer's. */
static int from_matches(const struct vctx *v, const struct smime_signer *g)
{
	int ok = 0;

	for (size_t i = 0; !ok && i < v->from.n; i++) {
		struct buf a = { 0 };

		if (v->from.v[i].kind == ADDR_MAILBOX) {
			addr_spec(&v->from.v[i], &a);
			ok = a.p && smime_signer_has(g, a.p);
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
		int from_ok = from_matches(v, g);

		print_signer(mc->out, where, g, v->has_from, from_ok);
		from_ok |= !v->has_from;
		if (g->sig_ok && g->chain_ok && from_ok)
			v->good++;
		else
			v->bad++;
	}
}

static void walk(struct mc *mc, struct vctx *v, const struct mime_part *root,
    const char *outer, unsigned nest);

/* multipart/signed: the first part's bytes, in CRLF form, against the DER
 * of the second. */
static void check_detached(struct mc *mc, struct vctx *v, const struct mime_part *p,
    const char *where)
{
	const struct mime_part *body = p->child, *sig = body ? body->next : NULL;
	struct buf der = { 0 }, canon = { 0 };
	struct smime_result r;
	const char *c;
	size_t n;

	if (sig == NULL) {
		fprintf(mc->out, "%s: BAD signature: FAILED: multipart/signed without its two parts\n", where);
		v->bad++;
		return;
	}
	mime_decode(sig, add_decoded, &der, NULL);
	c = body->base + body->off;
	n = body->end - body->off;
	if (mime_wire_len(c, n) != n) {
		mime_wire_copy(c, n, &canon);
		c = canon.p;
		n = canon.len;
	}
	smime_verify(v->store, (const unsigned char *)(der.p ? der.p : ""), der.len,
	    c ? c : "", n, &r, NULL);
	report(mc, v, where, &r);
	smime_result_free(&r);
	buf_free(&der);
	buf_free(&canon);
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

static void walk(struct mc *mc, struct vctx *v, const struct mime_part *root,
    const char *outer, unsigned nest)
{
	for (const struct mime_part *p = root; p; p = p->order) {
		struct buf where = { 0 };

		label(mc, p, outer, &where);
		if (strcmp(p->type, "multipart") == 0 && strcmp(p->subtype, "signed") == 0 &&
		    smime_protocol(p) && p->child)
			check_detached(mc, v, p, where.p);
		else if (p->child == NULL && opaque_signed(p))
			check_opaque(mc, v, p, where.p, nest);
		buf_free(&where);
	}
}

/* Whether the message has an S/MIME signature to check. */
static int has_signature(const struct mime_part *root)
{
	for (const struct mime_part *p = root; p; p = p->order)
		if ((strcmp(p->type, "multipart") == 0 && strcmp(p->subtype, "signed") == 0 &&
		    smime_protocol(p) && p->child) || (p->child == NULL && opaque_signed(p)))
			return 1;
	return 0;
}

void mc_verify_note(struct mc *mc)
{
	if (!has_signature(mc->m.root))
		return;
	fputs("\n[-- S/MIME signature --]\n", mc->out);
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
	walk(mc, &v, r, NULL, 0);
	addr_list_free(&v.from);
	smime_store_free(v.store);
	if (v.good + v.bad == 0) {
		warnx_("%s: no S/MIME signature in this message", mc->name);
		return 2;
	}
	return v.bad ? 1 : 0;
}
