/* mailauth.c — the commands of mailauth (see mailauth.h): each reads the
 * message whole, hands it to lib/ (dkim, spf, dmarc), and prints what a
 * student needs to see: the new field, or the verdict. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "buf.h"
#include "arc.h"
#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "err.h"
#include "header.h"
#include "limits.h"
#include "mailauth.h"
#include "spf.h"

#define ERR_MAX       256
#define HOST_MAX      256
#define TXT_STR_MAX   255       /* RFC 1035 3.3: one character-string */
#define RSA_BITS_DEF  2048      /* RFC 8301 3.2: at least 1024; 2048 is today's usual */

/* Read the message from o->file or stdin into b.  0, or an exit code.
 * Plain read(2) on the descriptor: through stdio a file took three reads
 * and an fstat, a cost per message when a run verifies thousands. */
static int read_msg(const struct mailauth_opts *o, struct buf *b)
{
	int fd = o->file ? open(o->file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	const char *name = o->file ? o->file : "stdin";
	ssize_t n;

	if (fd < 0) {
		warn_("%s", o->file);
		return EX_NOINPUT;
	}
	do {
		char *p = buf_reserve(b, IO_BUFSIZE);

		n = read(fd, p, IO_BUFSIZE);
		if (n > 0)
			buf_commit(b, (size_t)n);
	} while ((n > 0 || (n < 0 && errno == EINTR)) && b->len <= DKIM_MSG_MAX);
	if (n < 0)
		warn_("read %s", name);
	if (fd != STDIN_FILENO)
		close(fd);
	if (n < 0)
		return EX_NOINPUT;
	if (b->len > DKIM_MSG_MAX) {
		warnx_("%s: message larger than %d bytes", name, DKIM_MSG_MAX);
		return EX_DATAERR;
	}
	buf_adds(b, "");
	return 0;
}

static struct dns *open_dns(const struct mailauth_opts *o)
{
	struct dns_opts d = { .server = o->dns, .trace = o->verbose ? stderr : NULL };
	char err[ERR_MAX];
	struct dns *r = dns_open(&d, err, sizeof err);

	if (!r)
		diex(o->dns ? EX_USAGE : EX_OSFILE, "dns: %s", err);
	return r;
}

/* ---------------------------------------------------------------- sign */

static int sign_opts(const struct mailauth_opts *o, struct dkim_sign_opts *s)
{
	char err[ERR_MAX];

	if (!o->domain || !o->selector || !o->keyfile) {
		warnx_("sign: -d DOMAIN, -s SELECTOR and -k KEYFILE are required");
		return EX_USAGE;
	}
	memset(s, 0, sizeof *s);
	s->domain = o->domain;
	s->selector = o->selector;
	s->identity = o->identity;
	s->headers = o->headers;
	s->t = (time_t)o->timestamp;
	s->expire = o->expire;
	s->body_len = o->body_len;
	s->trace = o->verbose ? stderr : NULL;
	if (canon_parse(o->canon ? o->canon : "relaxed/relaxed", &s->hc, &s->bc) < 0) {
		warnx_("sign: -c %s: want simple or relaxed, as HEADER/BODY", o->canon);
		return EX_USAGE;
	}
	if (!(s->key = dkim_key_load(o->keyfile, err, sizeof err))) {
		warnx_("sign: %s", err);
		return EX_NOINPUT;
	}
	if (o->alg && dkim_alg_parse(o->alg, strlen(o->alg)) != dkim_key_alg(s->key)) {
		warnx_("sign: -a %s does not match the key in %s (%s)", o->alg, o->keyfile,
		    dkim_alg_name(dkim_key_alg(s->key)));
		EVP_PKEY_free(s->key);
		return EX_USAGE;
	}
	return 0;
}

int mailauth_sign(const struct mailauth_opts *o, FILE *out)
{
	struct dkim_sign_opts s;
	struct buf msg = { 0 }, field = { 0 };
	char err[ERR_MAX];
	int rc;

	if ((rc = sign_opts(o, &s)) != 0)
		return rc;
	if ((rc = read_msg(o, &msg)) != 0)
		goto out;
	if (dkim_sign(msg.p, msg.len, &s, &field, err, sizeof err) < 0) {
		warnx_("sign: %s", err);
		rc = EX_DATAERR;
		goto out;
	}
	if (o->verbose)
		fprintf(stderr, "dkim: added %.*s", (int)field.len, field.p);
	fwrite(field.p, 1, field.len, out);
	fwrite(msg.p, 1, msg.len, out);
	if (fflush(out) != 0) {
		warn_("write stdout");
		rc = EX_IOERR;
	}
out:
	EVP_PKEY_free(s.key);
	buf_free(&msg);
	buf_free(&field);
	return rc;
}

/* ----------------------------------------------------------------- spf */

static const char *authserv(const struct mailauth_opts *o, char *host, size_t cap)
{
	if (o->authserv)
		return o->authserv;
	if (gethostname(host, cap - 1) < 0)
		snprintf(host, cap, "localhost");
	host[cap - 1] = '\0';
	return host;
}

static void run_spf(const struct mailauth_opts *o, struct dns *d, const char *receiver,
    struct spf_out *r)
{
	struct spf_opts so = { .dns = d, .trace = o->verbose ? stderr : NULL,
		.receiver = receiver };

	memset(r, 0, sizeof *r);
	if (o->ip && ((o->sender && *o->sender) || o->helo))
		spf_check(&so, o->ip, o->sender, o->helo, r);
}

int mailauth_spf(const struct mailauth_opts *o, FILE *out)
{
	char host[HOST_MAX];
	const char *me = authserv(o, host, sizeof host);
	struct spf_out r;
	struct buf f = { 0 };
	struct dns *d;

	if (!o->ip || ((!o->sender || !*o->sender) && !o->helo)) {
		warnx_("spf: --ip and --sender (or --helo) are required");
		return EX_USAGE;
	}
	d = open_dns(o);
	run_spf(o, d, me, &r);
	fprintf(out, "%s\n", ar_name(r.res));
	if (r.exp[0])
		fprintf(out, "explanation: %s\n", r.exp);
	spf_received(&r, o->ip, o->sender, o->helo, me, &f);
	fprintf(out, "%s\n", f.p);
	buf_free(&f);
	dns_close(d);
	return fflush(out) == 0 ? 0 : EX_IOERR;
}

/* Append a, b and c to ar: the items of Authentication-Results, several
 * per message, cost less as plain copies than through buf_printf. */
static void ar_add(struct buf *ar, const char *a, const char *b, const char *c)
{
	buf_adds(ar, a);
	buf_adds(ar, b);
	buf_adds(ar, c);
}

static void ar_spf(struct buf *ar, const struct mailauth_opts *o, const struct spf_out *r)
{
	ar_add(ar, ";\n\tspf=", ar_name(r->res), "");
	if (r->why[0] && r->res != AR_PASS && r->res != AR_FAIL && r->res != AR_SOFTFAIL)
		ar_add(ar, " reason=\"", r->why, "\"");
	if (o->sender && *o->sender)
		ar_add(ar, " smtp.mailfrom=", o->sender, "");
	else
		ar_add(ar, " smtp.helo=", o->helo, "");
}

/* -------------------------------------------------------------- verify */

static void ar_dkim(struct buf *ar, const struct dkim_result *r, size_t n)
{
	if (n == 0)
		buf_adds(ar, ";\n\tdkim=none");
	for (size_t i = 0; i < n; i++) {
		ar_add(ar, ";\n\tdkim=", ar_name(r[i].res), "");
		if (r[i].reason[0])
			ar_add(ar, " reason=\"", r[i].reason, "\"");
		if (r[i].d[0])
			ar_add(ar, " header.d=", r[i].d, "");
		if (r[i].s[0])
			ar_add(ar, " header.s=", r[i].s, "");
		if (r[i].i[0])
			ar_add(ar, " header.i=", r[i].i, "");
		if (r[i].a[0])
			ar_add(ar, " header.a=", r[i].a, "");
		if (r[i].b[0])
			ar_add(ar, " header.b=", r[i].b, "");
	}
}

static void ar_dmarc(struct buf *ar, const struct dmarc_out *d)
{
	ar_add(ar, ";\n\tdmarc=", ar_name(d->res), "");
	if (d->res == AR_PASS || d->res == AR_FAIL)
		buf_printf(ar, " (p=%s%s%s pct=%d dis=%s)", d->p, d->sp[0] ? " sp=" : "", d->sp,
		    d->pct, d->disposition);
	else if (d->why[0])
		ar_add(ar, " reason=\"", d->why, "\"");
	if (d->from[0])
		ar_add(ar, " header.from=", d->from, "");
}

/* Write ar with the message's own line ends. */
static void put_field(const struct buf *ar, int crlf, FILE *out)
{
	const char *p = ar->p, *end = ar->p + ar->len, *nl;

	for (; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
		fwrite(p, 1, (size_t)(nl - p), out);
		fputs(crlf ? "\r\n" : "\n", out);
	}
	fwrite(p, 1, (size_t)(end - p), out);
	fputs(crlf ? "\r\n" : "\n", out);
}

/* TXT answers kept for the run, so a key or a policy is asked once when
 * many messages are verified (the benchmark's "DNS answers cached"). */
#define TXT_CACHE_MAX 256

struct txt_cache {
	struct dns *dns;
	struct dmarc_psl_lazy psl;      /* the Public Suffix List, read once if needed */
	struct dkim_keycache keys;      /* and each key parsed once */
	size_t n;
	char *name[TXT_CACHE_MAX];
	enum dns_status st[TXT_CACHE_MAX];
	struct dns_answer ans[TXT_CACHE_MAX];
};

static void answer_copy(const struct dns_answer *from, struct dns_answer *to)
{
	memset(to, 0, sizeof *to);
	to->n = from->n;
	to->text = xcalloc(from->n + 1, sizeof *to->text);
	for (size_t i = 0; i < from->n; i++)
		to->text[i] = xstrdup(from->text[i]);
	to->name = xstrdup(from->name ? from->name : "");
}

static enum dns_status cached_txt(void *ctx, const char *name, struct dns_answer *out)
{
	struct txt_cache *c = ctx;
	enum dns_status st;

	for (size_t i = 0; i < c->n; i++)
		if (dns_name_eq(c->name[i], name)) {
			answer_copy(&c->ans[i], out);
			return c->st[i];
		}
	st = dns_txt(c->dns, name, out);
	if (c->n < TXT_CACHE_MAX && st != DNS_TEMPFAIL) {
		c->name[c->n] = xstrdup(name);
		c->st[c->n] = st;
		answer_copy(out, &c->ans[c->n++]);
	}
	return st;
}

static void cache_free(struct txt_cache *c)
{
	dmarc_psl_free(c->psl.list);
	dkim_keycache_free(&c->keys);
	for (size_t i = 0; i < c->n; i++) {
		free(c->name[i]);
		dns_answer_free(&c->ans[i]);
	}
}

/* Every check on msg, as ";\n\tmethod=result ..." items appended to ar;
 * *arc gets the chain's state for a seal. */
static void check_all(const struct mailauth_opts *o, struct txt_cache *tc, const char *host,
    const struct buf *msg, struct buf *ar, struct arc_out *arc)
{
	struct dns *d = tc->dns;
	struct dkim_verify_opts v = { .dns = d, .trace = o->verbose ? stderr : NULL,
		.txt = cached_txt, .txt_ctx = tc, .keys = &tc->keys };
	struct dmarc_opts dopt = { .dns = d, .trace = v.trace, .psl_lazy = &tc->psl,
		.sample = o->sample, .txt = cached_txt, .txt_ctx = tc };
	const char *sd = o->sender && strchr(o->sender, '@') ? strrchr(o->sender, '@') + 1 :
	    o->sender && *o->sender ? o->sender : o->helo;
	struct dkim_result *res = NULL;
	struct spf_out sr;
	struct dmarc_out dm;
	size_t nres = 0;

	run_spf(o, d, host, &sr);
	if (sr.identity[0])
		ar_spf(ar, o, &sr);
	dkim_verify(msg->p, msg->len, &v, &res, &nres);
	ar_dkim(ar, res, nres);
	dmarc_check(&dopt, msg->p, msg->len, res, nres, sr.res, sd, &dm);
	ar_dmarc(ar, &dm);
	arc_verify(msg->p, msg->len, &v, arc);
	ar_add(ar, ";\n\tarc=", ar_name(arc->cv), "");
	if (arc->cv == AR_PASS)
		buf_printf(ar, " (i=%d)", arc->instance);
	else if (arc->cv == AR_FAIL)
		ar_add(ar, " reason=\"", arc->why, "\"");
	free(res);
}

static int msg_crlf(const struct buf *msg)
{
	const char *nl = memchr(msg->p, '\n', msg->len);

	return nl && nl > msg->p && nl[-1] == '\r';
}

static int verify_one(const struct mailauth_opts *o, struct txt_cache *tc, const char *host,
    FILE *out)
{
	struct buf msg = { 0 }, ar = { 0 };
	struct arc_out arc;
	int rc;

	if ((rc = read_msg(o, &msg)) == 0) {
		buf_printf(&ar, "Authentication-Results: %s", host);
		check_all(o, tc, host, &msg, &ar, &arc);
		put_field(&ar, o->add && msg_crlf(&msg), out);
		if (o->add)
			fwrite(msg.p, 1, msg.len, out);
	}
	buf_free(&msg);
	buf_free(&ar);
	return rc;
}

int mailauth_verify(const struct mailauth_opts *o, FILE *out)
{
	struct txt_cache tc = { .dns = open_dns(o), .psl.path = o->psl };
	struct mailauth_opts one = *o;
	char host[HOST_MAX] = "localhost";
	const char *me = authserv(o, host, sizeof host);
	int rc = 0, r;

	if (o->nfiles <= 1)
		rc = verify_one(o, &tc, me, out);
	for (int i = 0; o->nfiles > 1 && i < o->nfiles; i++) {
		one.file = o->files[i];
		fprintf(out, "%s==> %s <==\n", i ? "\n" : "", one.file);
		if ((r = verify_one(&one, &tc, me, out)) != 0)
			rc = r;
	}
	if (fflush(out) != 0) {
		warn_("write stdout");
		rc = EX_IOERR;
	}
	cache_free(&tc);
	dns_close(tc.dns);
	return rc;
}

/* ---------------------------------------------------------------- seal */

/* The results of our own Authentication-Results field (authserv-id me),
 * the topmost one, written when the message came in: what the AAR must
 * carry (RFC 8617 5.1.1), rather than what a check of the message as it
 * leaves finds after a footer broke DKIM.  Appended to out as the text
 * after "me;" (folded as in the message); 0 if there is none. */
static int arrival_results(const struct buf *msg, const char *me, struct buf *out)
{
	struct hdr_iter it;
	struct hdr_field f;
	size_t mlen = strlen(me);

	hdr_iter_init(&it, msg->p, msg->len);
	while (hdr_next(&it, &f)) {
		const char *v = f.value, *e = f.value + f.vallen;
		size_t idl;

		if (f.name == NULL || !hdr_is(&f, "Authentication-Results"))
			continue;
		while (v < e && strchr(" \t\r\n", *v))
			v++;
		for (idl = 0; v + idl < e && !strchr(" \t\r\n;(", v[idl]); idl++)
			;
		if (idl != mlen || strncasecmp(v, me, mlen) != 0 || (v = memchr(v, ';', e - v)) == NULL)
			continue;
		for (v++; v < e && strchr(" \t\r\n", *v); v++)
			;
		if (v == e)
			continue;
		buf_add(out, v, (size_t)(e - v));
		return 1;
	}
	return 0;
}

int mailauth_seal(const struct mailauth_opts *o, FILE *out)
{
	struct dkim_sign_opts s;
	struct arc_seal_opts a = { 0 };
	struct buf msg = { 0 }, ar = { 0 }, results = { 0 }, sealed = { 0 };
	struct arc_out arc;
	struct txt_cache tc = { 0 };
	char host[HOST_MAX] = "localhost", err[ERR_MAX];
	const char *me;
	int rc;

	if ((rc = sign_opts(o, &s)) != 0)
		return rc;
	if ((rc = read_msg(o, &msg)) != 0)
		goto out;
	tc.dns = open_dns(o);
	tc.psl.path = o->psl;
	me = authserv(o, host, sizeof host);
	check_all(o, &tc, me, &msg, &ar, &arc);
	cache_free(&tc);
	dns_close(tc.dns);
	/* the AAR's results: ours from arrival if the message has them, else
	 * this check's, folded with the message's own line ends */
	if (!arrival_results(&msg, me, &results))
		for (size_t i = 3; i < ar.len; i++)     /* past the first ";\n\t" */
			buf_adds(&results, ar.p[i] == '\n' ? (msg_crlf(&msg) ? "\r\n" : "\n") :
			    (char[2]){ ar.p[i], 0 });
	a = (struct arc_seal_opts){ .domain = o->domain, .selector = o->selector,
		.authserv = me, .key = s.key, .results = results.p, .cv = arc.cv,
		.instance = arc.instance, .headers = o->headers, .t = s.t, .trace = s.trace };
	if (arc.cv == AR_FAIL && arc.instance == 0)
		a.instance = 0;
	if (arc_seal(msg.p, msg.len, &a, &sealed, err, sizeof err) < 0) {
		warnx_("seal: %s", err);
		rc = EX_DATAERR;
		goto out;
	}
	fwrite(sealed.p, 1, sealed.len, out);
	fwrite(msg.p, 1, msg.len, out);
	if (fflush(out) != 0) {
		warn_("write stdout");
		rc = EX_IOERR;
	}
out:
	EVP_PKEY_free(s.key);
	buf_free(&msg);
	buf_free(&ar);
	buf_free(&results);
	buf_free(&sealed);
	return rc;
}

/* -------------------------------------------------------------- keygen */

static EVP_PKEY *make_key(const struct mailauth_opts *o)
{
	enum dkim_alg a = o->alg ? dkim_alg_parse(o->alg, strlen(o->alg)) : DKIM_RSA_SHA256;
	EVP_PKEY *k;

	if (a == DKIM_ED25519_SHA256)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (a == DKIM_RSA_SHA256)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)(o->bits ? o->bits : RSA_BITS_DEF));
	else
		diex(EX_USAGE, "keygen: -a %s: want rsa-sha256 or ed25519-sha256", o->alg);
	if (!k)
		diex(EX_SOFTWARE, "keygen: OpenSSL could not make the key");
	return k;
}

/* The private key goes to a new file only its owner can read. */
static int write_key(const char *path, EVP_PKEY *k)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f;
	int ok;

	if (fd < 0) {
		warn_("keygen: %s", path);
		return EX_CANTCREAT;
	}
	f = fdopen(fd, "w");
	ok = f && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1;
	if (!f || fclose(f) != 0 || !ok) {
		warnx_("keygen: %s: cannot write the key", path);
		return EX_CANTCREAT;
	}
	return 0;
}

/* As a zone file wants it: strings of at most 255 bytes. */
static void print_record(const struct mailauth_opts *o, const struct buf *data, FILE *out)
{
	fprintf(out, "%s._domainkey.%s. IN TXT (", o->selector ? o->selector : "SELECTOR",
	    o->domain ? o->domain : "DOMAIN");
	for (size_t i = 0; i < data->len; i += TXT_STR_MAX) {
		size_t l = data->len - i < TXT_STR_MAX ? data->len - i : TXT_STR_MAX;
		fprintf(out, "\n\t\"%.*s\"", (int)l, data->p + i);
	}
	fprintf(out, " )\n");
}

int mailauth_keygen(const struct mailauth_opts *o, FILE *out)
{
	struct buf data = { 0 };
	EVP_PKEY *k;
	int rc;

	if (!o->keyfile) {
		warnx_("keygen: -k KEYFILE is required (where the private key goes)");
		return EX_USAGE;
	}
	k = make_key(o);
	if ((rc = write_key(o->keyfile, k)) == 0 && dkim_key_record(k, &data) == 0) {
		if (o->data_only)
			fprintf(out, "%s\n", data.p);
		else
			print_record(o, &data, out);
	}
	if (o->verbose && rc == 0)
		fprintf(stderr, "mailauth: keygen: %s key (%d bits) written to %s\n",
		    dkim_alg_name(dkim_key_alg(k)), EVP_PKEY_get_bits(k), o->keyfile);
	EVP_PKEY_free(k);
	buf_free(&data);
	ERR_clear_error();
	return rc;
}
