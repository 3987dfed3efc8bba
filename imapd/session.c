/* session.c — one IMAP session: read commands, dispatch them through the
 * command table, keep the state (RFC 3501 3), and the commands of the
 * not-authenticated and any state (CAPABILITY NOOP LOGOUT STARTTLS
 * AUTHENTICATE LOGIN ID ENABLE NAMESPACE IDLE).
 *
 * Untagged updates about the selected folder (EXPUNGE, EXISTS, RECENT,
 * FETCH FLAGS) are sent just before each tagged reply, and during IDLE;
 * never an EXPUNGE after FETCH, STORE or SEARCH (RFC 3501 7.4.1), whose
 * sequence numbers the client may still be using. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "err.h"
#include "imapd.h"
#include "mailbox.h"
#include "privsep.h"
#include "sasl.h"

#define CAPS_COMMON "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE ESEARCH SEARCHRES ESORT SORT SORT=DISPLAY MULTIAPPEND BINARY " \
	"CONTEXT=SEARCH CONTEXT=SORT " \
	"LIST-EXTENDED LIST-STATUS CATENATE " \
	"CONDSTORE QRESYNC NOTIFY " \
	"THREAD=ORDEREDSUBJECT THREAD=REFERENCES UIDPLUS MOVE " \
	"SPECIAL-USE CHILDREN UNSELECT"

/* ---- replies ---- */

void reply(struct session *s, const char *tag, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	char *text;

	/* untagged news about the folder goes just before the tagged reply */
	if (strcmp(tag, "*") != 0)
		send_updates(s, s->expunge_ok);
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	/* one line whatever the text holds (resp-text has no CR or LF, RFC 3501 9):
	 * a client's string in it must not end it and begin a reply of its own */
	for (char *t = text; t != NULL && *t != '\0'; t++)
		if (*t == '\r' || *t == '\n')
			*t = ' ';
	buf_printf(&b, "%s %s\r\n", tag, text ? text : "NO [SERVERBUG] out of memory");
	/* a client that sends nothing but bad commands is cut off */
	s->bad = text && strncmp(text, "BAD", 3) == 0 ? s->bad + 1 : 0;
	conn_write(&s->conn, b.p, b.len);
	buf_free(&b);
	free(text);
}

void untagged(struct session *s, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	buf_printf(&b, "* %s\r\n", text ? text : "BAD out of memory");
	conn_write(&s->conn, b.p, b.len);
	buf_free(&b);
	free(text);
}

void imap_string(struct buf *out, const char *p, size_t n)
{
	int quote = n < 1024;

	for (size_t i = 0; i < n && quote; i++) {
		unsigned char c = (unsigned char)p[i];
		quote = c >= ' ' && c < 0x7f;
	}
	if (!quote) {
		buf_printf(out, "{%zu}\r\n", n);
		buf_add(out, p, n);
		return;
	}
	buf_addc(out, '"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, p[i]);
	}
	buf_addc(out, '"');
}

void flags_text(const struct folder *f, unsigned flags, struct buf *out)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ FL_ANSWERED, "\\Answered" }, { FL_FLAGGED, "\\Flagged" },
		{ FL_DELETED, "\\Deleted" }, { FL_SEEN, "\\Seen" },
		{ FL_DRAFT, "\\Draft" }, { FL_RECENT, "\\Recent" },
	};
	const char *sep = "";

	buf_addc(out, '(');
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (flags & names[i].bit) {
			buf_printf(out, "%s%s", sep, names[i].name);
			sep = " ";
		}
	for (int i = 0; i < KW_MAX; i++)
		if ((flags & FL_KW(i)) && f && f->kw[i]) {
			buf_printf(out, "%s%s", sep, f->kw[i]);
			sep = " ";
		}
	buf_addc(out, ')');
}

unsigned shown_flags(const struct session *s, unsigned flags)
{
	return s->rev2 ? flags & ~(unsigned)FL_RECENT : flags;
}

void announce_flags(struct session *s, int force)
{
	struct buf b = { 0 }, kw = { 0 };
	unsigned n = store_keywords_load(&s->sel);

	if (!force && n <= s->sel.nkw_told)
		return;
	s->sel.nkw_told = n;
	for (int i = 0; i < KW_MAX; i++)
		if (s->sel.kw[i])
			buf_printf(&kw, " %s", s->sel.kw[i]);
	buf_printf(&b, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s)\r\n",
	    kw.p ? kw.p : "");
	if (s->sel.readonly)
		buf_adds(&b, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
	else
		buf_printf(&b, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)] "
		    "Flags permitted.\r\n", kw.p ? kw.p : "", n < KW_MAX ? " \\*" : "");
	conn_write(&s->conn, b.p, b.len);
	buf_free(&b);
	buf_free(&kw);
}

void report_updates(struct session *s, const struct sync_report *r)
{
	announce_flags(s, 0);
	if (r->nexpunged > 0)
		context_expunging(s);   /* REMOVEFROM goes before the EXPUNGE (RFC 5267 4.3) */
	if (s->qresync && r->nexpunged > 0) {
		/* RFC 7162 3.2.10: VANISHED instead of EXPUNGE, by UID */
		struct buf b = { 0 };

		buf_adds(&b, "* VANISHED ");
		number_set(r->expunged_uid, r->nexpunged, &b);
		buf_adds(&b, "\r\n");
		conn_write(&s->conn, b.p, b.len);
		buf_free(&b);
	} else {
		for (size_t i = 0; i < r->nexpunged; i++)
			untagged(s, "%u EXPUNGE", r->expunged[i]);
	}
	if (r->exists) {
		untagged(s, "%zu EXISTS", s->sel.n);
		if (!s->rev2)   /* RFC 9051 has no RECENT response */
			untagged(s, "%u RECENT", r->recent);
	}
	/* flags changed elsewhere, unless NOTIFY left FlagChange out (RFC 5465 5.1);
	 * with CONDSTORE also a MODSEQ that moved under unchanged flags */
	size_t nflag = r->nchanged, nall = nflag + (s->condstore ? r->ntouched : 0);

	for (size_t i = 0; i < nall && notify_selected(s, NEV_FLAG); i++) {
		size_t idx = i < nflag ? r->changed[i] : r->touched[i - nflag];
		struct msg *m = &s->sel.m[idx];
		struct buf b = { 0 };

		buf_printf(&b, "* %zu FETCH (UID %u FLAGS ", idx + 1, m->uid);
		flags_text(&s->sel, shown_flags(s, m->flags), &b);
		if (s->condstore)
			buf_printf(&b, " MODSEQ (%" PRIu64 ")", m->modseq);
		buf_adds(&b, ")\r\n");
		conn_write(&s->conn, b.p, b.len);
		buf_free(&b);
	}
}

void send_updates(struct session *s, int allow_expunge)
{
	struct sync_report r;

	notify_poll(s);
	if (s->state != ST_SELECTED)
		return;
	uint32_t mark = notify_fetch_mark(s);
	if (store_sync(&s->sel, allow_expunge, 0, &r) < 0) {
		if (errno == ESTALE) {
			untagged(s, "BYE Mailbox UIDVALIDITY changed, reconnect.");
			s->state = ST_LOGOUT;
		}
		return;
	}
	report_updates(s, &r);
	if (r.exists)
		notify_fetch_new(s, mark);
	sync_report_free(&r);
	context_refresh(s);
}

void condstore_enable(struct session *s)
{
	struct sync_report r;

	if (s->condstore)
		return;
	s->condstore = 1;
	if (s->state != ST_SELECTED)
		return;
	/* this session's own flag changes get their MODSEQs now (RFC 7162
	 * 3.1: the first CONDSTORE command tells the HIGHESTMODSEQ) */
	if (!s->sel.lazy && store_sync(&s->sel, 0, 1, &r) == 0) {
		report_updates(s, &r);
		sync_report_free(&r);
	}
	untagged(s, "OK [HIGHESTMODSEQ %" PRIu64 "] Highest", s->sel.highestmodseq);
}

int64_t arg_modseq(const struct imap_arg *a, int zero_ok)
{
	uint64_t v = 0;

	if (a->type != ARG_ATOM || a->len == 0 || a->len > 19)
		return -1;
	for (const char *p = a->s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v > INT64_MAX || (v == 0 && !zero_ok) ? -1 : (int64_t)v;
}

/* A range of UIDs for VANISHED, and the list of them kept sorted later. */
struct uid_range { uint32_t lo, hi; };

static int cmp_uid_range(const void *a, const void *b)
{
	const struct uid_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void range_add(struct uid_range **v, size_t *n, size_t *cap, uint32_t lo, uint32_t hi)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[*n].lo = lo;
	(*v)[(*n)++].hi = hi;
}

/* [lo, hi] cut to the ranges of within (NULL: whole), added to *v. */
static void range_within(struct uid_range **v, size_t *n, size_t *cap, uint32_t lo, uint32_t hi,
    const struct seqset *within, uint32_t max)
{
	if (within == NULL) {
		range_add(v, n, cap, lo, hi);
		return;
	}
	for (size_t i = 0; i < within->n; i++) {
		uint32_t a, b;

		seqset_range(within, i, max, &a, &b);
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (a <= b)
			range_add(v, n, cap, a, b);
	}
}

void send_vanished(struct session *s, uint64_t since, const struct seqset *within)
{
	const struct folder *f = &s->sel;
	struct uid_range *v = NULL;
	size_t n = 0, cap = 0, k = 0;
	uint32_t max = f->uidnext > 1 ? f->uidnext - 1 : 0;
	struct buf b = { 0 };

	if (max == 0)
		return;
	if (since >= f->van_floor) {
		for (size_t i = 0; i < f->nvan; i++)
			if (f->van[i].modseq > since)
				range_within(&v, &n, &cap, f->van[i].uid, f->van[i].uid, within, max);
	} else {
		/* older than what the list remembers: every UID not here now
		 * may have vanished since (RFC 7162 3.2.5.1 allows more) */
		uint32_t next = 1;

		for (size_t i = 0; i <= f->n; i++) {
			uint32_t u = i < f->n ? f->m[i].uid : max + 1;

			if (i < f->n && f->m[i].gone)
				continue;
			if (u > next)
				range_within(&v, &n, &cap, next, u - 1, within, max);
			next = u + 1;
		}
	}
	if (n == 0)
		return;
	qsort(v, n, sizeof *v, cmp_uid_range);
	for (size_t i = 1; i < n; i++) {        /* merge overlapping and adjacent ranges */
		if (v[i].lo <= v[k].hi + 1) {
			if (v[i].hi > v[k].hi)
				v[k].hi = v[i].hi;
		} else {
			v[++k] = v[i];
		}
	}
	buf_adds(&b, "* VANISHED (EARLIER) ");
	for (size_t i = 0; i <= k; i++) {
		buf_printf(&b, "%s%u", i ? "," : "", v[i].lo);
		if (v[i].hi > v[i].lo)
			buf_printf(&b, ":%u", v[i].hi);
	}
	buf_adds(&b, "\r\n");
	conn_write(&s->conn, b.p, b.len);
	buf_free(&b);
	free(v);
}

/* An event worth a line in the logs: syslog with --syslog, and the -v
 * transcript. */
static void logmsg(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(struct session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (s->o->use_syslog)
		syslog(LOG_INFO, "%s [%s]", line, s->peer->addr[0] ? s->peer->addr : "local");
	conn_note(&s->conn, "%s", line);
}

/* ---- privileges ----
 *
 * Started as root (inetd on port 143, or -l on a low port), the session is
 * split before any client byte (privsep.h): a login process with every id
 * of --user (default nobody) runs the not-authenticated state and asks a
 * root helper to check credentials; after a yes the helper becomes the
 * mail owner for good (never uid 0) and runs the rest of the session on
 * the client handed over to it (after_login). */

/* ---- capabilities and authentication ---- */

static int plain_ok(const struct session *s)
{
	return conn_is_tls(&s->conn) || server_plain_ok(s->o->plaintext_auth, s->peer);
}

static void capabilities(struct session *s, struct buf *b)
{
	buf_adds(b, CAPS_COMMON);
	/* offered once logged in: the keys are the user's (as Dovecot) */
	if (s->state != ST_NOAUTH)
		buf_adds(b, " " URLAUTH_CAPS);
	if (s->state != ST_NOAUTH)      /* after login only, as Dovecot */
		buf_adds(b, " COMPRESS=DEFLATE");
	if (s->state != ST_NOAUTH)
		buf_adds(b, " " QUOTA_CAPS);
	if (s->state != ST_NOAUTH)
		return;
	if (s->o->ctx && !conn_is_tls(&s->conn))
		buf_adds(b, " STARTTLS");
	if (!plain_ok(s))
		buf_adds(b, " LOGINDISABLED");
	char mechs[128];
	snprintf(mechs, sizeof mechs, "%s", sasl_mechs(s->o->users));
	for (char *m = strtok(mechs, " "); m; m = strtok(NULL, " ")) {
		if (!plain_ok(s) && strcasecmp(m, "CRAM-MD5") != 0)
			continue;
		buf_printf(b, " AUTH=%s", m);
	}
}

static void cmd_capability(struct session *s, struct imap_cmd *c)
{
	struct buf b = { 0 };

	if (c->nargs) {
		reply(s, c->tag, "BAD CAPABILITY takes no arguments");
		return;
	}
	capabilities(s, &b);
	untagged(s, "CAPABILITY %s", b.p);
	buf_free(&b);
	reply(s, c->tag, "OK Capability completed.");
}

static void cmd_noop(struct session *s, struct imap_cmd *c)
{
	reply(s, c->tag, "OK %s completed.", c->name);
}

static void cmd_logout(struct session *s, struct imap_cmd *c)
{
	/* out of the selected state first: nothing about the folder may
	 * follow the BYE (RFC 3501 6.1.3, 7.1.5) */
	s->state = ST_LOGOUT;
	untagged(s, "BYE Logging out");
	reply(s, c->tag, "OK Logout completed.");
}

static void cmd_starttls(struct session *s, struct imap_cmd *c)
{
	if (s->o->ctx == NULL || conn_is_tls(&s->conn)) {
		reply(s, c->tag, "BAD STARTTLS not available");
		return;
	}
	reply(s, c->tag, "OK Begin TLS negotiation now.");
	/* The client may have sent commands after STARTTLS in plaintext;
	 * drop them so they cannot run inside TLS (RFC 2595 3.1). */
	conn_discard(&s->conn);
	if (conn_starttls(&s->conn, s->o->ctx, NULL) < 0) {
		warnx_("STARTTLS: %s", s->conn.errbuf);
		s->state = ST_LOGOUT;
	}
}

/* RFC 4978: the OK goes out plain, everything after it both ways is raw
 * DEFLATE (above TLS when TLS is on). */
static void cmd_compress(struct session *s, struct imap_cmd *c)
{
	if (c->nargs != 1 || c->args[0].type != ARG_ATOM) {
		reply(s, c->tag, "BAD COMPRESS takes one algorithm");
		return;
	}
	if (strcasecmp(c->args[0].s, "DEFLATE") != 0) {
		reply(s, c->tag, "BAD Unknown compression algorithm");
		return;
	}
	if (conn_is_compressed(&s->conn)) {
		reply(s, c->tag, "NO [COMPRESSIONACTIVE] DEFLATE active already");
		return;
	}
	reply(s, c->tag, "OK DEFLATE active");
	if (conn_compress(&s->conn) < 0) {
		warnx_("COMPRESS: %s", s->conn.errbuf);
		s->state = ST_LOGOUT;
	}
}

static void set_state(struct session *s, int state)
{
	if (s->o->verbose)
		conn_note(&s->conn, "state %d -> %d", s->state, state);
	s->state = state;
}

/* Credentials checked: find the Maildir, become its owner, make it for a
 * new user. */
static int login_done(struct session *s, const char *tag)
{
	enum mailbox_kind kind;
	const char *why = NULL;
	struct buf caps = { 0 };

	if (s->ps != NULL) {    /* the login process: the helper goes on (after_login) */
		if (privsep_handoff(s->ps, &s->conn, s->user.name, tag, strlen(tag), IMAP_IDLE_SECS) != 0)
			warnx_("login of %s not handed over", s->user.name);
		s->state = ST_LOGOUT;
		return 0;
	}
	if (mailbox_path(s->o->mailbox, &s->user, s->root, sizeof s->root, &kind, &why) < 0 ||
	    kind != MB_MAILDIR) {
		reply(s, tag, "NO [SERVERBUG] No Maildir for this user: %s",
		    why ? why : "mbox is not served by imapd");
		return -1;
	}
	/* Not root, a no-op; separated, the helper is the owner already. */
	if (s->user.has_ids && server_become(s->user.uid, s->user.gid) < 0) {
		reply(s, tag, "NO [SERVERBUG] Cannot switch to the mail owner");
		return -1;
	}
	if (!store_exists(s->root) && folders_init(s->root) < 0) {
		reply(s, tag, "NO [SERVERBUG] Cannot create the Maildir: %s", strerror(errno));
		return -1;
	}
	set_state(s, ST_AUTH);
	conn_set_deadline(&s->conn, 0);         /* LOGIN_SECS was for the login */
	logmsg(s, "login: user=%s", s->user.name);
	capabilities(s, &caps);
	reply(s, tag, "OK [CAPABILITY %s] Logged in", caps.p);
	buf_free(&caps);
	return 0;
}

static void login_failed(struct session *s, const char *tag, const char *text)
{
	logmsg(s, "login failed: user=%s", s->user.name[0] ? s->user.name : "?");
	/* slow down password guessing (RFC 3501 11.4 advice, as Dovecot);
	 * separated, the helper waited before it said no */
	if (s->o->auth_delay > 0 && s->ps == NULL) {
		conn_flush(&s->conn);
		sleep((unsigned)s->o->auth_delay);
	}
	reply(s, tag, "NO [AUTHENTICATIONFAILED] %s", text);
	if (++s->fails >= AUTH_FAIL_MAX) {
		untagged(s, "BYE Too many failed logins");
		s->state = ST_LOGOUT;
	}
}

static void cmd_login(struct session *s, struct imap_cmd *c)
{
	if (c->nargs != 2 || !arg_astring(&c->args[0]) || !arg_astring(&c->args[1])) {
		reply(s, c->tag, "BAD LOGIN needs a user name and a password");
		return;
	}
	if (!plain_ok(s)) {
		reply(s, c->tag, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
		    "non-secure (SSL/TLS) connections.");
		return;
	}
	const char *name = c->args[0].s, *pass = c->args[1].s;
	int ok = 0;
	if (strlen(name) == c->args[0].len && auth_name_ok(name) && strlen(pass) == c->args[1].len) {
		if (s->ps != NULL)
			ok = privsep_password(s->ps, name, pass) == 1;
		else
			ok = auth_lookup(s->o->users, name, &s->user) == 1 &&
			    auth_verify(&s->user, pass);
		if (ok)
			snprintf(s->user.name, sizeof s->user.name, "%s", name);
	}
	if (!ok) {
		login_failed(s, c->tag, "Authentication failed.");
		return;
	}
	login_done(s, c->tag);
}

static void cmd_authenticate(struct session *s, struct imap_cmd *c)
{
	char chal[1024], line[SASL_LINE_MAX];
	struct sasl sasl;
	enum sasl_rc rc;
	size_t len;

	if (c->nargs < 1 || c->nargs > 2 || c->args[0].type != ARG_ATOM ||
	    (c->nargs == 2 && c->args[1].type != ARG_ATOM)) {
		reply(s, c->tag, "BAD AUTHENTICATE needs a mechanism");
		return;
	}
	if (!plain_ok(s) && strcasecmp(c->args[0].s, "CRAM-MD5") != 0) {
		reply(s, c->tag, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on "
		    "non-secure (SSL/TLS) connections.");
		return;
	}
	rc = sasl_start_check(&sasl, s->ps != NULL ? &s->ps->check : NULL, s->o->users,
	    c->args[0].s, c->nargs == 2 ? c->args[1].s : NULL, s->o->hostname, chal, sizeof chal,
	    &s->user);
	while (rc == SASL_CONTINUE) {
		conn_printf(&s->conn, "+ %s\r\n", chal);
		conn_mask_next(&s->conn);
		if (conn_getline(&s->conn, line, sizeof line, &len) != CONN_OK) {
			s->state = ST_LOGOUT;
			return;
		}
		if (strcmp(line, "*") == 0) {
			reply(s, c->tag, "BAD Authentication canceled");
			return;
		}
		rc = sasl_step(&sasl, line, chal, sizeof chal, &s->user);
	}
	switch (rc) {
	case SASL_OK:
		login_done(s, c->tag);
		break;
	case SASL_NOMECH:
		reply(s, c->tag, "NO Unsupported authentication mechanism.");
		break;
	case SASL_BAD:
		reply(s, c->tag, "BAD Invalid base64 or response");
		break;
	case SASL_CANCEL:
		reply(s, c->tag, "BAD Authentication canceled");
		break;
	default:
		login_failed(s, c->tag, "Authentication failed.");
	}
}

/* ---- small commands ---- */

static void cmd_id(struct session *s, struct imap_cmd *c)
{
	if (c->nargs != 1 || (c->args[0].type != ARG_LIST && !arg_is(&c->args[0], "NIL"))) {
		reply(s, c->tag, "BAD ID needs a list or NIL");
		return;
	}
	untagged(s, "ID (\"name\" \"maillab imapd\" \"version\" \"%s\")", MAILLAB_VERSION);
	reply(s, c->tag, "OK ID completed.");
}

static void cmd_enable(struct session *s, struct imap_cmd *c)
{
	struct buf b = { 0 };

	if (c->nargs == 0) {
		reply(s, c->tag, "BAD ENABLE needs capability names");
		return;
	}
	/* CONDSTORE and QRESYNC (which implies CONDSTORE, RFC 7162 3.2.3),
	 * IMAP4rev2 (RFC 9051 6.3.1); others are ignored (RFC 5161 3.1) */
	int modseq = 0;
	for (size_t i = 0; i < c->nargs; i++) {
		if (arg_is(&c->args[i], "CONDSTORE") && !strstr(b.p ? b.p : "", " CONDSTORE")) {
			buf_adds(&b, " CONDSTORE");
			modseq = 1;
		} else if (arg_is(&c->args[i], "QRESYNC") && !strstr(b.p ? b.p : "", " QRESYNC")) {
			buf_adds(&b, " QRESYNC");
			s->qresync = modseq = 1;
		} else if (arg_is(&c->args[i], "IMAP4rev2") && !strstr(b.p ? b.p : "", " IMAP4rev2")) {
			buf_adds(&b, " IMAP4rev2");
			s->rev2 = 1;
		}
	}
	untagged(s, "ENABLED%s", b.p ? b.p : "");
	if (modseq)
		condstore_enable(s);
	buf_free(&b);
	reply(s, c->tag, "OK Enabled.");
}

static void cmd_namespace(struct session *s, struct imap_cmd *c)
{
	untagged(s, "NAMESPACE ((\"\" \".\")) NIL NIL");
	reply(s, c->tag, "OK Namespace completed.");
}

/* Whether input is waiting, without blocking longer than secs. */
static int input_ready(struct session *s, int secs)
{
	struct pollfd p = { .fd = s->conn.rfd, .events = POLLIN };

	if (conn_input_buffered(&s->conn))
		return 1;
	conn_flush(&s->conn);
	return poll(&p, 1, secs * 1000) != 0;
}

static void cmd_idle(struct session *s, struct imap_cmd *c)
{
	char line[IMAP_TAG_MAX + 16];
	size_t len;
	int waited = 0;

	conn_printf(&s->conn, "+ idling\r\n");
	for (;;) {
		/* without MessageExpunge in NOTIFY, EXPUNGE waits for a command */
		send_updates(s, notify_selected(s, NEV_EXPUNGE));
		if (input_ready(s, IMAP_POLL_SECS))
			break;
		if ((waited += IMAP_POLL_SECS) >= IMAP_IDLE_SECS) {
			untagged(s, "BYE Autologout; idle for too long");
			s->state = ST_LOGOUT;
			return;
		}
	}
	if (conn_getline(&s->conn, line, sizeof line, &len) != CONN_OK && len == 0) {
		s->state = ST_LOGOUT;
		return;
	}
	if (strcasecmp(line, "DONE") != 0)
		reply(s, c->tag, "BAD Expected DONE.");
	else
		reply(s, c->tag, "OK Idle completed.");
}

/* ---- the command table and dispatcher ---- */

#define ANY (ST_NOAUTH | ST_AUTH | ST_SELECTED)
#define AUTHD (ST_AUTH | ST_SELECTED)

static const struct command commands[] = {
	{ "CAPABILITY",   ANY,         cmd_capability, 1 },
	{ "NOOP",         ANY,         cmd_noop,       1 },
	{ "LOGOUT",       ANY,         cmd_logout,     1 },
	{ "ID",           ANY,         cmd_id,         1 },
	{ "STARTTLS",     ST_NOAUTH,   cmd_starttls,   0 },
	{ "LOGIN",        ST_NOAUTH,   cmd_login,      0 },
	{ "AUTHENTICATE", ST_NOAUTH,   cmd_authenticate, 0 },
	{ "ENABLE",       AUTHD,       cmd_enable,     1 },
	{ "COMPRESS",     AUTHD,       cmd_compress,   1 },
	{ "NAMESPACE",    AUTHD,       cmd_namespace,  1 },
	{ "IDLE",         AUTHD,       cmd_idle,       1 },
	{ "NOTIFY",       AUTHD,       cmd_notify,     1 },
	{ "SELECT",       AUTHD,       cmd_select,     1 },
	{ "EXAMINE",      AUTHD,       cmd_select,     1 },
	{ "CREATE",       AUTHD,       cmd_create,     1 },
	{ "DELETE",       AUTHD,       cmd_delete,     1 },
	{ "RENAME",       AUTHD,       cmd_rename,     1 },
	{ "SUBSCRIBE",    AUTHD,       cmd_subscribe,  1 },
	{ "UNSUBSCRIBE",  AUTHD,       cmd_subscribe,  1 },
	{ "LIST",         AUTHD,       cmd_list,       1 },
	{ "LSUB",         AUTHD,       cmd_list,       1 },
	{ "STATUS",       AUTHD,       cmd_status,     1 },
	{ "APPEND",       AUTHD,       cmd_append,     1 },
	{ "CHECK",        ST_SELECTED, cmd_check,      1 },
	{ "CLOSE",        ST_SELECTED, cmd_close,      1 },
	{ "UNSELECT",     ST_SELECTED, cmd_close,      1 },
	{ "EXPUNGE",      ST_SELECTED, cmd_expunge,    1 },
	{ "SEARCH",       ST_SELECTED, cmd_search,     0 },
	{ "CANCELUPDATE", ST_SELECTED, cmd_cancelupdate, 1 },
	{ "SORT",         ST_SELECTED, cmd_sort,       0 },
	{ "THREAD",       ST_SELECTED, cmd_thread,     0 },
	{ "FETCH",        ST_SELECTED, cmd_fetch,      0 },
	{ "STORE",        ST_SELECTED, cmd_store,      0 },
	{ "COPY",         ST_SELECTED, cmd_copy,       0 },
	{ "MOVE",         ST_SELECTED, cmd_copy,       1 },
	{ "GENURLAUTH",   AUTHD,       cmd_genurlauth, 1 },
	{ "RESETKEY",     AUTHD,       cmd_resetkey,   1 },
	{ "URLFETCH",     AUTHD,       cmd_urlfetch,   1 },
	{ "GETQUOTA",     AUTHD,       cmd_getquota,   1 },
	{ "GETQUOTAROOT", AUTHD,       cmd_getquotaroot, 1 },
	{ "SETQUOTA",     AUTHD,       cmd_setquota,   1 },
};

/* Commands that may follow UID (RFC 3501 6.4.8, RFC 4315, RFC 6851). */
static const char *const uid_commands[] = { "FETCH", "STORE", "COPY", "SEARCH", "EXPUNGE", "MOVE",
	"SORT", "THREAD" };

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* "UID FETCH ...": make the subcommand the command. */
static int strip_uid(struct imap_cmd *c)
{
	size_t i;

	if (c->nargs == 0 || c->args[0].type != ARG_ATOM)
		return -1;
	for (i = 0; i < sizeof uid_commands / sizeof *uid_commands; i++)
		if (strcasecmp(c->args[0].s, uid_commands[i]) == 0)
			break;
	if (i == sizeof uid_commands / sizeof *uid_commands)
		return -1;
	free(c->name);
	c->name = xstrdup(uid_commands[i]);
	free(c->args[0].s);
	memmove(c->args, c->args + 1, (c->nargs - 1) * sizeof *c->args);
	c->nargs--;
	return 0;
}

static void dispatch(struct session *s, struct imap_cmd *c)
{
	const struct command *cmd;

	s->uid = 0;
	if (strcmp(c->name, "UID") == 0) {
		if (strip_uid(c) < 0) {
			reply(s, c->tag, "BAD Unknown UID command");
			return;
		}
		s->uid = 1;
	}
	s->expunge_ok = 1;
	if ((cmd = find_command(c->name)) == NULL) {
		reply(s, c->tag, "BAD Unknown command %.40s", c->name);
		return;
	}
	if (!(cmd->states & s->state)) {
		reply(s, c->tag, "BAD Command %s not valid in this state", c->name);
		return;
	}
	s->expunge_ok = cmd->expunge_ok;
	/* updating searches end with the folder they search (RFC 5267 4.3) */
	if (cmd->fn == cmd_select || cmd->fn == cmd_close)
		context_clear(s);
	/* a folder selected from its list's header alone is loaded when a
	 * command first needs its messages */
	if (s->state == ST_SELECTED && cmd->fn != cmd_noop && cmd->fn != cmd_idle &&
	    cmd->fn != cmd_logout && cmd->fn != cmd_check)
		store_load(&s->sel);
	cmd->fn(s, c);
}

/* The transcript line for a command: literals elided, LOGIN passwords and
 * SASL initial responses masked. */
static void log_command(struct session *s, const char *p, size_t n)
{
	FILE *f = s->conn.log;
	size_t i = 0, stop = n;
	const char *sp;

	if (f == NULL)
		return;
	if ((sp = memchr(p, ' ', n)) != NULL) {
		const char *name = sp + 1;
		size_t rest = n - (size_t)(name - p);

		if (rest > 6 && strncasecmp(name, "LOGIN ", 6) == 0) {
			const char *u = memchr(name + 6, ' ', rest - 6);
			stop = u ? (size_t)(u - p) + 1 : n;
		} else if (rest > 13 && strncasecmp(name, "AUTHENTICATE ", 13) == 0) {
			const char *m = memchr(name + 13, ' ', rest - 13);
			stop = m ? (size_t)(m - p) + 1 : n;
		}
	}
	fputs("C: ", f);
	for (; i < stop; i++) {
		unsigned char ch = (unsigned char)p[i];
		uint64_t size;

		if (ch == '{' && sscanf(p + i, "{%" SCNu64, &size) == 1) {
			const char *lf = memchr(p + i, '\n', n - i);
			if (lf && (size_t)(lf - p) + 1 + size <= n) {
				fprintf(f, "{%" PRIu64 "}<%" PRIu64 " bytes>", size, size);
				i = (size_t)(lf - p) + size;
				continue;
			}
		}
		if (ch < ' ' && ch != '\t')
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	if (stop < n)
		fputs("****", f);
	fputc('\n', f);
	fflush(f);
}

static void run_command(struct session *s)
{
	struct imap_cmd c;
	const char *why = NULL;

	s->expunge_ok = 0;
	log_command(s, s->rd.cmd.p, s->rd.cmd.len);
	if (imap_parse(s->rd.cmd.p, s->rd.cmd.len, &c, &why) < 0) {
		reply(s, c.tag ? c.tag : "*", "BAD %s", why ? why : "syntax error");
		imap_cmd_free(&c);
		return;
	}
	/* the arguments hold their own copies: a big APPEND's buffer goes now */
	if (s->rd.cmd.cap > 2 * IMAP_LINE_MAX)
		buf_free(&s->rd.cmd);
	dispatch(s, &c);
	imap_cmd_free(&c);
}

/* Read and run commands until LOGOUT, EOF or an error. */
static void loop(struct session *s)
{
	char *chunk = xmalloc(IMAP_CHUNK);

	while (s->state != ST_LOGOUT) {
		size_t len, used = 0;
		enum conn_rc rc = conn_getchunk(&s->conn, chunk, IMAP_CHUNK, &len);
		char tag[IMAP_TAG_MAX + 2];

		if (rc == CONN_TIMEOUT)
			untagged(s, "BYE Autologout; idle for too long");
		if (rc != CONN_OK)
			break;
		while (used < len && s->state != ST_LOGOUT) {
			size_t k;

			/* no big literal from a client that has not logged in */
			s->rd.litmax = s->state == ST_NOAUTH ? IMAP_PREAUTH_LITERAL_MAX : IMAP_LITERAL_MAX;
			enum rd_event ev = imap_reader_feed(&s->rd, chunk + used, len - used, &k);

			used += k;
			switch (ev) {
			case RD_MORE:
				break;
			case RD_CONT:
				conn_printf(&s->conn, "+ OK\r\n");
				break;
			case RD_DONE:
				run_command(s);
				break;
			case RD_ERROR:
				imap_reader_tag(&s->rd, tag, sizeof tag);
				reply(s, tag, "BAD %s", s->rd.why);
				break;
			case RD_FATAL:
				untagged(s, "BYE %s", s->rd.why);
				s->state = ST_LOGOUT;
				break;
			}
			if (s->bad >= IMAP_BAD_MAX && s->state != ST_LOGOUT) {
				untagged(s, "BYE Too many invalid commands.");
				s->state = ST_LOGOUT;
			}
		}
	}
	free(chunk);
}

static struct session *session_new(int rfd, int wfd, const struct peer *peer,
    const struct imapd_opts *o)
{
	struct session *s = xcalloc(1, sizeof *s);

	s->o = o;
	s->peer = peer;
	s->state = ST_NOAUTH;
	conn_init(&s->conn, rfd, wfd, CONN_SERVER);
	conn_set_timeout(&s->conn, IMAP_IDLE_SECS);
	if (s->o->verbose)
		conn_set_log(&s->conn, stderr, NULL);
	imap_reader_init(&s->rd);
	return s;
}

static int session_end(struct session *s, int status)
{
	conn_flush(&s->conn);
	if ((s->state != ST_NOAUTH || s->user.name[0]) && (s->ps == NULL || !s->ps->handed))
		logmsg(s, "logout: user=%s in=%llu out=%llu", s->user.name, s->conn.nread, s->conn.nwritten);
	context_clear(s);
	searchres_set(s, NULL, 0);
	notify_clear(s);
	if (s->sel.path[0])     /* selected until LOGOUT or EOF */
		store_close(&s->sel);
	conn_close(&s->conn);
	imap_reader_free(&s->rd);
	OPENSSL_cleanse(&s->user, sizeof s->user);
	free(s);
	return status;
}

/* What both halves of a separated session start from. */
struct session_arg {
	const struct imapd_opts *o;
	const struct peer *peer;
};

/* Up to the login (in the login process when separated). */
static int login_session(int rfd, int wfd, struct privsep *ps, void *arg)
{
	const struct session_arg *sa = arg;
	struct session *s = session_new(rfd, wfd, sa->peer, sa->o);

	s->ps = ps;
	conn_set_deadline(&s->conn, LOGIN_SECS);        /* until login */
	if (s->o->implicit_tls && conn_starttls(&s->conn, s->o->ctx, NULL) < 0) {
		warnx_("TLS: %s", s->conn.errbuf);
		return session_end(s, 1);
	}
	struct buf caps = { 0 };
	capabilities(s, &caps);
	untagged(s, "OK [CAPABILITY %s] %s maillab imapd ready.", caps.p, s->o->hostname);
	buf_free(&caps);
	loop(s);
	return session_end(s, 0);
}

/* Separated, in the helper become the owner: the tagged reply to the
 * login, and the rest of the session, on the client handed over. */
static int after_login(const struct privsep_handoff *h, const struct user *u, int became,
    void *arg)
{
	const struct session_arg *sa = arg;
	struct session *s = session_new(h->rfd, h->wfd, sa->peer, sa->o);
	char tag[IMAP_TAG_MAX + 1];

	privsep_preload(&s->conn, h);
	snprintf(tag, sizeof tag, "%.*s", (int)h->nstate, (const char *)h->state);
	s->user = *u;
	if (!became) {
		reply(s, tag, "NO [SERVERBUG] Cannot switch to the mail owner");
		s->state = ST_LOGOUT;
	} else if (login_done(s, tag) < 0) {
		s->state = ST_LOGOUT;   /* no way back to the not-authenticated state */
	}
	if (s->state == ST_LOGOUT)
		untagged(s, "BYE No session for this user");
	else
		loop(s);
	return session_end(s, 0);
}

int imapd_session(int rfd, int wfd, const struct peer *peer, void *arg)
{
	const struct imapd_opts *o = arg;
	struct session_arg sa = { o, peer };
	struct privsep_cfg pc = { o->users, o->runas, o->hostname, peer->addr, o->auth_delay,
	    after_login, &sa };
	struct session *s;
	int status = 0;

	if (privsep_run(&pc, rfd, wfd, login_session, &status) == 0)
		return status;
	s = session_new(rfd, wfd, peer, o);
	untagged(s, "BYE Server misconfigured.");
	s->user.name[0] = '\0';
	return session_end(s, 1);
}
