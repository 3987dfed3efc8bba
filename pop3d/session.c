/* session.c — one POP3 session: RFC 1939 with CAPA (RFC 2449), STLS
 * (RFC 2595), AUTH (RFC 5034), UTF8 (RFC 6856) and LAST (RFC 1460).
 *
 * Design note.  One command table says which commands each state takes;
 * the dispatcher owns the common failures (unknown, wrong state, bad
 * line) and counts them, so a flood ends after POP3_ERRORS_MAX.  Nothing
 * in the maildrop changes before QUIT: on EOF, timeout or error the
 * session just ends and maildrop_close() leaves every file as it was.
 *
 * Privileges.  Started as root, the session is split before any client
 * byte (privsep.h): a login process with every id of --user (default
 * nobody) runs AUTHORIZATION and asks a root helper to check credentials;
 * after a yes the helper becomes the mailbox owner for good (never uid 0)
 * and runs TRANSACTION on the client handed over to it.  Not root, one
 * process does it all with the user's own rights. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "conn.h"
#include "err.h"
#include "limits.h"
#include "mailbox.h"
#include "maildrop.h"
#include "pop3d.h"
#include "privsep.h"
#include "sasl.h"

#define POP3_IMPLEMENTATION "maillab-pop3d"
#define POP3_STAMP_MAX      (AUTH_NAME_MAX + 64)   /* <pid.time@host> */
#define SASL_MECH_MAX       20                     /* RFC 4422 3.1 */
#define POP3_REPLY_MAX      512    /* RFC 2449 4: replies up to 512 octets incl. CRLF */

enum { S_AUTH = 1, S_TRANS = 2 };

struct session {
	struct conn conn;
	const struct pop3d_cfg *cfg;
	const struct peer *peer;
	int    state;
	int    quit;                /* leave the command loop */
	int    nfail;               /* failed logins */
	int    nerr;                /* bad commands */
	unsigned long ncmds;
	int    have_user;           /* USER seen, PASS may follow */
	int    utf8;                /* UTF8 given (RFC 6856) */
	char   user[AUTH_NAME_MAX + 1];
	char   stamp[POP3_STAMP_MAX];   /* APOP timestamp, "" when no APOP */
	struct user u;
	struct maildrop md;
	int    have_md;
	size_t last;                /* LAST: highest message number accessed */
	struct privsep *ps;         /* started as root: the login process's helper */
	int    became;              /* switched for good to the mail owner */
	int    status;              /* the process's exit status */
};

struct cmd {
	const char *name;
	int states;
	void (*fn)(struct session *, char *arg);
};

/* ---------- replies, logs, state ---------- */

static void reply(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct session *s, const char *fmt, ...)
{
	char line[POP3_REPLY_MAX];
	va_list ap;
	int n;

	/* one write, so the transcript shows one line */
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 3)
		n = (int)sizeof line - 3;
	memcpy(line + n, "\r\n", 2);
	conn_write(&s->conn, line, (size_t)n + 2);
}

static void logmsg(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(struct session *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (s->cfg->use_syslog)
		syslog(LOG_INFO, "%s [%s]", line, s->peer->addr[0] ? s->peer->addr : "local");
	conn_note(&s->conn, "%s", line);
}

static void set_state(struct session *s, int state)
{
	if (state == S_TRANS)
		conn_set_deadline(&s->conn, 0); /* LOGIN_SECS was for the login */
	conn_note(&s->conn, "state %s -> %s", s->state == S_AUTH ? "AUTHORIZATION" : "TRANSACTION",
	    state == S_AUTH ? "AUTHORIZATION" : "TRANSACTION");
	s->state = state;
}

/* A bad command: counted, and the session ends at POP3_ERRORS_MAX. */
static void bad(struct session *s, const char *text)
{
	if (++s->nerr >= POP3_ERRORS_MAX) {
		reply(s, "-ERR %s; too many errors, closing connection", text);
		s->quit = 1;
		return;
	}
	reply(s, "-ERR %s", text);
}

/* The transcript shows "PASS ****" and "AUTH PLAIN ****". */
static size_t mask_secrets(const char *line, size_t len, int incoming)
{
	const char *sp;

	if (!incoming)
		return len;
	if (len >= 5 && strncasecmp(line, "PASS ", 5) == 0)
		return 5;
	if (len >= 5 && strncasecmp(line, "AUTH ", 5) == 0 &&
	    (sp = memchr(line + 5, ' ', len - 5)) != NULL)
		return (size_t)(sp - line) + 1;
	return len;
}

/* ---------- AUTHORIZATION ---------- */

static int plaintext_ok(const struct session *s)
{
	return conn_is_tls(&s->conn) || server_plain_ok(s->cfg->plaintext_auth, s->peer);
}

static void refuse_plaintext(struct session *s)
{
	/* RFC 2595 4: no clear-text password before TLS unless configured. */
	reply(s, "-ERR [AUTH] Plaintext authentication disallowed without TLS (use STLS)");
}

static void login_failed(struct session *s, const char *who)
{
	char name[AUTH_NAME_MAX + 1];
	size_t i;

	/* The name is the client's, not checked yet: no control characters
	 * into the logs (a CR or an escape sequence forging a line). */
	for (i = 0; who[i] && i < sizeof name - 1; i++)
		name[i] = (unsigned char)who[i] < ' ' || who[i] == 0x7f ? '?' : who[i];
	name[i] = '\0';
	logmsg(s, "login failed for %s", name[0] ? name : "(none)");
	if (s->ps == NULL)      /* else the helper waited before saying no */
		sleep(AUTH_FAIL_DELAY);
	if (++s->nfail >= AUTH_FAIL_MAX) {
		reply(s, "-ERR [AUTH] Authentication failed; too many failures, closing connection");
		s->quit = 1;
		return;
	}
	reply(s, "-ERR [AUTH] Authentication failed");
}

/* What crosses the login with the client: the UTF8 consent. */
#define POP3_STATE_UTF8 'U'

/* Open the maildrop; separated, the login process hands the client to
 * its helper instead, which comes back here as the owner (after_login). */
static void enter_transaction(struct session *s)
{
	char path[sizeof s->md.path];
	enum mailbox_kind kind;
	enum maildrop_rc rc;
	const char *why;
	off_t total = 0;

	if (s->ps != NULL) {
		char state = s->utf8 ? POP3_STATE_UTF8 : '-';

		s->status = privsep_handoff(s->ps, &s->conn, s->u.name, &state, 1, s->cfg->idle_secs);
		s->quit = 1;
		return;
	}
	/* Already the owner (after_login): without a "maildir:" or "mbox:"
	 * prefix the template is resolved by looking at the path, which only
	 * the owner may be able to see (a home of mode 0700). */
	if (mailbox_path(s->cfg->mailbox, &s->u, path, sizeof path, &kind, &why) < 0) {
		logmsg(s, "no maildrop for %s: %s", s->u.name, why);
		reply(s, "-ERR [SYS/PERM] No maildrop for this user");
		s->quit = s->became;    /* no way back to another user */
		return;
	}
	rc = maildrop_open(&s->md, path, kind, &why);
	if (rc != MD_OK) {
		if (rc == MD_INUSE)
			reply(s, "-ERR [IN-USE] Maildrop is locked by another session");
		else
			reply(s, "-ERR [SYS/TEMP] Cannot open the maildrop");
		logmsg(s, "maildrop %s for %s: %s", path, s->u.name,
		    rc == MD_INUSE ? "in use" : why);
		maildrop_close(&s->md);
		s->quit = s->became;    /* no way back to another user */
		return;
	}
	s->have_md = 1;
	for (size_t i = 0; i < s->md.n; i++)
		total += s->md.m[i].size;
	logmsg(s, "login %s, %zu messages%s", s->u.name, s->md.n, s->utf8 ? " (UTF8)" : "");
	set_state(s, S_TRANS);
	reply(s, "+OK Maildrop has %zu messages (%lld octets)", s->md.n, (long long)total);
}

static void cmd_user(struct session *s, char *arg)
{
	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	if (arg == NULL || *arg == '\0' || strchr(arg, ' ') || strlen(arg) >= sizeof s->user) {
		bad(s, "Usage: USER name");
		return;
	}
	snprintf(s->user, sizeof s->user, "%s", arg);
	s->have_user = 1;
	reply(s, "+OK Send your password");
}

static void cmd_pass(struct session *s, char *arg)
{
	int ok = 0;

	if (!s->have_user) {
		bad(s, "USER first");
		return;
	}
	s->have_user = 0;
	if (!plaintext_ok(s)) {
		refuse_plaintext(s);
		return;
	}
	/* RFC 1939 7: the password may contain spaces; it is the rest of the line. */
	if (arg != NULL && auth_name_ok(s->user)) {
		if (s->ps != NULL)
			ok = privsep_password(s->ps, s->user, arg) == 1;
		else if (auth_lookup(s->cfg->users, s->user, &s->u) == 1)
			ok = auth_verify(&s->u, arg);
		if (ok)
			snprintf(s->u.name, sizeof s->u.name, "%s", s->user);
	}
	if (arg)
		OPENSSL_cleanse(arg, strlen(arg));
	if (!ok) {
		login_failed(s, s->user);
		return;
	}
	enter_transaction(s);
}

static int apop_digest_ok(const struct session *s, const char *secret, const char *hex)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	char want[2 * 16 + 1];
	unsigned int dn = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
	    !EVP_DigestUpdate(ctx, s->stamp, strlen(s->stamp)) ||
	    !EVP_DigestUpdate(ctx, secret, strlen(secret)) || !EVP_DigestFinal_ex(ctx, d, &dn)) {
		EVP_MD_CTX_free(ctx);
		return 0;
	}
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < 16; i++)
		snprintf(want + 2 * i, 3, "%02x", d[i]);
	return strlen(hex) == 32 && CRYPTO_memcmp(want, hex, 32) == 0;
}

static void cmd_apop(struct session *s, char *arg)
{
	char *digest = arg ? strchr(arg, ' ') : NULL;
	const char *secret;
	int ok = 0;

	if (s->stamp[0] == '\0') {
		bad(s, "APOP is not available (no passwd-file)");
		return;
	}
	if (digest == NULL || strchr(digest + 1, ' ') || strlen(digest + 1) != POP3_APOP_MAX ||
	    digest == arg) {
		bad(s, "Usage: APOP name digest");
		return;
	}
	*digest++ = '\0';
	for (char *p = digest; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!auth_name_ok(arg))
		ok = 0;
	else if (s->ps != NULL)
		ok = privsep_apop(s->ps, arg, digest) == 1;
	else if (auth_lookup(s->cfg->users, arg, &s->u) == 1 &&
	    (secret = auth_plain_secret(&s->u)) != NULL)
		ok = apop_digest_ok(s, secret, digest);
	if (ok)
		snprintf(s->u.name, sizeof s->u.name, "%s", arg);
	if (!ok) {
		login_failed(s, arg);
		return;
	}
	enter_transaction(s);
}

/* Mechanisms offered now: PLAIN and LOGIN only where passwords may go. */
static void mech_list(const struct session *s, char *out, size_t cap)
{
	char all[128], *save = NULL;

	snprintf(all, sizeof all, "%s", sasl_mechs(s->cfg->users));
	out[0] = '\0';
	for (char *m = strtok_r(all, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
		if (!plaintext_ok(s) && (strcmp(m, "PLAIN") == 0 || strcmp(m, "LOGIN") == 0))
			continue;
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", m);
	}
}

static void auth_list(struct session *s)
{
	char mechs[128], *save = NULL;

	mech_list(s, mechs, sizeof mechs);
	reply(s, "+OK Supported SASL mechanisms follow");
	for (char *m = strtok_r(mechs, " ", &save); m; m = strtok_r(NULL, " ", &save))
		reply(s, "%s", m);
	reply(s, ".");
}

/* Run the challenge/response exchange until it ends; return its result. */
static enum sasl_rc auth_exchange(struct session *s, struct sasl *sa, enum sasl_rc rc,
    char *chal, size_t cap)
{
	char line[SASL_LINE_MAX + 1];
	size_t len;

	while (rc == SASL_CONTINUE) {
		reply(s, "+ %s", chal);
		conn_mask_next(&s->conn);
		enum conn_rc r = conn_getline(&s->conn, line, sizeof line, &len);
		if (r == CONN_TOOLONG)
			return SASL_BAD;
		if (r != CONN_OK) {
			s->quit = 1;
			return SASL_CANCEL;
		}
		if (memchr(line, '\0', len))
			return SASL_BAD;
		rc = sasl_step(sa, line, chal, cap, &s->u);
		OPENSSL_cleanse(line, len);
	}
	return rc;
}

static void cmd_auth(struct session *s, char *arg)
{
	char chal[512], mechs[128];
	char *initial;
	struct sasl sa;
	enum sasl_rc rc;

	if (arg == NULL) {
		auth_list(s);
		return;
	}
	if ((initial = strchr(arg, ' ')) != NULL)
		*initial++ = '\0';
	if (strlen(arg) > SASL_MECH_MAX || (initial && (*initial == '\0' || strchr(initial, ' ')))) {
		bad(s, "Usage: AUTH mechanism [initial-response]");
		return;
	}
	mech_list(s, mechs, sizeof mechs);
	if (!plaintext_ok(s) && (strcasecmp(arg, "PLAIN") == 0 || strcasecmp(arg, "LOGIN") == 0)) {
		refuse_plaintext(s);
		return;
	}
	rc = sasl_start_check(&sa, s->ps != NULL ? &s->ps->check : NULL, s->cfg->users, arg, initial,
	    s->cfg->hostname, chal, sizeof chal, &s->u);
	if (initial)
		OPENSSL_cleanse(initial, strlen(initial));
	rc = auth_exchange(s, &sa, rc, chal, sizeof chal);
	if (s->quit)
		return;
	switch (rc) {
	case SASL_OK:
		enter_transaction(s);
		break;
	case SASL_NOMECH:
		reply(s, "-ERR Unsupported mechanism (try: %s)", mechs);
		break;
	case SASL_CANCEL:
		reply(s, "-ERR Authentication cancelled");
		break;
	case SASL_BAD:
		bad(s, "Malformed SASL response");
		break;
	default:
		login_failed(s, sa.user);
		break;
	}
	OPENSSL_cleanse(&sa, sizeof sa);
}

static void cmd_capa(struct session *s, char *arg)
{
	char mechs[128];

	if (arg != NULL) {
		bad(s, "CAPA takes no argument");
		return;
	}
	reply(s, "+OK Capability list follows");
	reply(s, "TOP");
	reply(s, "UIDL");
	reply(s, "RESP-CODES");
	reply(s, "AUTH-RESP-CODE");
	reply(s, "PIPELINING");
	reply(s, "EXPIRE NEVER");
	reply(s, "UTF8 USER");
	if (s->state == S_AUTH) {
		if (plaintext_ok(s))
			reply(s, "USER");
		mech_list(s, mechs, sizeof mechs);
		if (mechs[0])
			reply(s, "SASL %s", mechs);
		if (s->cfg->tls && !conn_is_tls(&s->conn))
			reply(s, "STLS");
	}
	reply(s, "IMPLEMENTATION %s %s", POP3_IMPLEMENTATION, MAILLAB_VERSION);
	reply(s, ".");
}

/* RFC 6856: UTF-8 in user names, passwords and message headers.  We
 * take UTF-8 names (auth_name_ok) and send messages as stored in either
 * mode, so the command only records the client's consent. */
static void cmd_utf8(struct session *s, char *arg)
{
	if (arg != NULL) {
		bad(s, "UTF8 takes no argument");
		return;
	}
	s->utf8 = 1;
	reply(s, "+OK UTF8 enabled");
}

static void cmd_stls(struct session *s, char *arg)
{
	if (arg != NULL) {
		bad(s, "STLS takes no argument");
		return;
	}
	if (s->cfg->tls == NULL) {
		reply(s, "-ERR STLS not available (no certificate)");
		return;
	}
	if (conn_is_tls(&s->conn)) {
		reply(s, "-ERR Already under TLS");
		return;
	}
	reply(s, "+OK Begin TLS negotiation");
	/* The client may have sent commands after STLS in plaintext:
	 * conn_starttls drops them so they cannot run inside TLS. */
	if (conn_starttls(&s->conn, s->cfg->tls, NULL) < 0) {
		logmsg(s, "STLS failed: %s", s->conn.errbuf);
		s->quit = 1;
		return;
	}
	s->have_user = 0;       /* RFC 2595 4: start over, nothing carries across */
}

/* ---------- TRANSACTION ---------- */

/* A message number or count: 1..POP3_NUM_MAX digits, nothing else. */
static int parse_num(const char *a, unsigned long *v)
{
	size_t n = strspn(a, "0123456789");

	if (n == 0 || n > POP3_NUM_MAX || a[n] != '\0')
		return -1;
	*v = strtoul(a, NULL, 10);
	return 0;
}

/* The message named by a (1-based): its index, or -1 after replying. */
static long msg_arg(struct session *s, const char *a)
{
	unsigned long v;

	if (parse_num(a, &v) < 0) {
		bad(s, "Invalid message number");
		return -1;
	}
	if (v == 0 || v > s->md.n) {
		reply(s, "-ERR No such message");
		return -1;
	}
	if (s->md.m[v - 1].deleted) {
		reply(s, "-ERR Message %lu already deleted", v);
		return -1;
	}
	return (long)v - 1;
}

static void totals(const struct session *s, size_t *n, off_t *size)
{
	*n = 0;
	*size = 0;
	for (size_t i = 0; i < s->md.n; i++)
		if (!s->md.m[i].deleted) {
			(*n)++;
			*size += s->md.m[i].size;
		}
}

static void cmd_stat(struct session *s, char *arg)
{
	size_t n;
	off_t size;

	if (arg != NULL) {
		bad(s, "STAT takes no argument");
		return;
	}
	totals(s, &n, &size);
	reply(s, "+OK %zu %lld", n, (long long)size);
}

/* LIST and UIDL: one line for a message, or all of them. */
static void listing(struct session *s, char *arg, int uidl)
{
	long i;

	if (arg != NULL) {
		if ((i = msg_arg(s, arg)) < 0)
			return;
		if (uidl)
			reply(s, "+OK %ld %s", i + 1, s->md.m[i].uid);
		else
			reply(s, "+OK %ld %lld", i + 1, (long long)s->md.m[i].size);
		return;
	}
	reply(s, uidl ? "+OK Unique-id listing follows" : "+OK Scan listing follows");
	for (size_t k = 0; k < s->md.n; k++) {
		if (s->md.m[k].deleted)
			continue;
		if (uidl)
			reply(s, "%zu %s", k + 1, s->md.m[k].uid);
		else
			reply(s, "%zu %lld", k + 1, (long long)s->md.m[k].size);
	}
	reply(s, ".");
}

static void cmd_list(struct session *s, char *arg)
{
	listing(s, arg, 0);
}

static void cmd_uidl(struct session *s, char *arg)
{
	listing(s, arg, 1);
}

struct out {
	struct session *s;
	long   i, lines;
	int    started;
};

/* The +OK line, written before the first byte of the message: the size
 * is known for sure only once the message has been read. */
static void out_header(struct out *o)
{
	o->started = 1;
	if (o->lines < 0)
		reply(o->s, "+OK %lld octets", (long long)o->s->md.m[o->i].size);
	else
		reply(o->s, "+OK Top of message follows");
}

static int out_sink(void *arg, const void *p, size_t n)
{
	struct out *o = arg;

	if (!o->started)
		out_header(o);
	return conn_write(&o->s->conn, p, n);
}

/* RETR and TOP: the +OK line only once the message could be opened. */
static void send_msg(struct session *s, long i, long lines)
{
	struct out o = { s, i, lines, 0 };

	if (maildrop_send(&s->md, (size_t)i, lines, 1, out_sink, &o) < 0) {
		if (o.started) {
			s->quit = 1;    /* cut in the middle: the client must not take it */
			return;
		}
		reply(s, "-ERR [SYS/TEMP] Message %ld cannot be read", i + 1);
		return;
	}
	if (!o.started)
		out_header(&o);
	reply(s, ".");
	if ((size_t)i + 1 > s->last)
		s->last = (size_t)i + 1;
}

static void cmd_retr(struct session *s, char *arg)
{
	long i;

	if (arg == NULL) {
		bad(s, "Usage: RETR msg");
		return;
	}
	if ((i = msg_arg(s, arg)) < 0)
		return;
	send_msg(s, i, -1);
	s->md.m[i].seen = 1;
}

/* TOP's line count: any number of digits, a huge one meaning "all"
 * (fetchmail sends 99999999; others send 2^31-1 or more). */
static int parse_count(const char *a, unsigned long *v)
{
	size_t n = strspn(a, "0123456789");

	if (n == 0 || a[n] != '\0')
		return -1;
	*v = n > POP3_NUM_MAX ? (unsigned long)LONG_MAX : strtoul(a, NULL, 10);
	return 0;
}

static void cmd_top(struct session *s, char *arg)
{
	char *n = arg ? strchr(arg, ' ') : NULL;
	unsigned long lines;
	long i;

	if (n == NULL || parse_count(n + 1, &lines) < 0) {
		bad(s, "Usage: TOP msg n");
		return;
	}
	*n = '\0';
	if ((i = msg_arg(s, arg)) < 0)
		return;
	send_msg(s, i, (long)lines);
}

static void cmd_dele(struct session *s, char *arg)
{
	long i;

	if (arg == NULL) {
		bad(s, "Usage: DELE msg");
		return;
	}
	if ((i = msg_arg(s, arg)) < 0)
		return;
	s->md.m[i].deleted = 1;
	if ((size_t)i + 1 > s->last)
		s->last = (size_t)i + 1;
	reply(s, "+OK Message %ld deleted", i + 1);
}

static void cmd_noop(struct session *s, char *arg)
{
	if (arg != NULL) {
		bad(s, "NOOP takes no argument");
		return;
	}
	reply(s, "+OK");
}

static void cmd_rset(struct session *s, char *arg)
{
	size_t n;
	off_t size;

	if (arg != NULL) {
		bad(s, "RSET takes no argument");
		return;
	}
	for (size_t i = 0; i < s->md.n; i++)
		s->md.m[i].deleted = 0;
	s->last = 0;            /* RFC 1460: RSET also resets the LAST count */
	totals(s, &n, &size);
	reply(s, "+OK Maildrop has %zu messages (%lld octets)", n, (long long)size);
}

static void cmd_last(struct session *s, char *arg)
{
	if (arg != NULL) {
		bad(s, "LAST takes no argument");
		return;
	}
	reply(s, "+OK %zu", s->last);
}

/* QUIT: in TRANSACTION this is the UPDATE state (RFC 1939 6). */
static void cmd_quit(struct session *s, char *arg)
{
	const char *why;
	size_t n;
	off_t size;
	int rc;

	(void)arg;
	s->quit = 1;
	if (s->state != S_TRANS) {
		reply(s, "+OK %s POP3 server signing off", s->cfg->hostname);
		return;
	}
	rc = maildrop_commit(&s->md, &why);
	totals(s, &n, &size);
	if (rc != 0) {
		logmsg(s, "update for %s failed: %s", s->u.name, rc < 0 ? why : "some files remain");
		reply(s, "-ERR [SYS/TEMP] Some deleted messages not removed");
		return;
	}
	logmsg(s, "logout %s, %zu messages deleted, %zu left", s->u.name, s->md.n - n, n);
	reply(s, "+OK %s POP3 server signing off (%zu messages left)", s->cfg->hostname, n);
}

static const struct cmd pop3_cmds[] = {
	{ "USER", S_AUTH,           cmd_user },
	{ "PASS", S_AUTH,           cmd_pass },
	{ "APOP", S_AUTH,           cmd_apop },
	{ "AUTH", S_AUTH,           cmd_auth },
	{ "STLS", S_AUTH,           cmd_stls },
	{ "UTF8", S_AUTH,           cmd_utf8 },
	{ "CAPA", S_AUTH | S_TRANS, cmd_capa },
	{ "QUIT", S_AUTH | S_TRANS, cmd_quit },
	{ "STAT", S_TRANS,          cmd_stat },
	{ "LIST", S_TRANS,          cmd_list },
	{ "RETR", S_TRANS,          cmd_retr },
	{ "DELE", S_TRANS,          cmd_dele },
	{ "NOOP", S_TRANS,          cmd_noop },
	{ "RSET", S_TRANS,          cmd_rset },
	{ "TOP",  S_TRANS,          cmd_top  },
	{ "UIDL", S_TRANS,          cmd_uidl },
	{ "LAST", S_TRANS,          cmd_last },
};

/* ---------- the loop ---------- */

/* Arguments are at most POP3_ARG_MAX each (RFC 1939 3), except a
 * password and a SASL initial response, which are checked by their
 * handlers against the line limit, and the user name of USER and APOP:
 * RFC 2449 4 raised the command to 255 octets, and an address such as
 * "firstname.lastname@department.example.org" is longer than 40. */
static int args_ok(const struct cmd *c, const char *arg)
{
	if (arg == NULL || strcmp(c->name, "PASS") == 0 || strcmp(c->name, "AUTH") == 0 ||
	    strcmp(c->name, "USER") == 0 || strcmp(c->name, "APOP") == 0)
		return 1;
	while (*arg) {
		size_t n = strcspn(arg, " ");

		if (n > POP3_ARG_MAX)
			return 0;
		arg += n;
		if (*arg == ' ')
			arg++;
	}
	return 1;
}

static void dispatch(struct session *s, char *line, size_t len)
{
	char *arg = strchr(line, ' ');
	const struct cmd *c = NULL;

	if (memchr(line, '\0', len) != NULL) {
		bad(s, "NUL byte in command");
		return;
	}
	if (arg) {
		*arg++ = '\0';
		if (*arg == '\0')
			arg = NULL;     /* "STAT " from a sloppy client */
	}
	for (size_t i = 0; i < sizeof pop3_cmds / sizeof pop3_cmds[0]; i++)
		if (strcasecmp(line, pop3_cmds[i].name) == 0)
			c = &pop3_cmds[i];
	if (c == NULL) {
		bad(s, "Unknown command");
		return;
	}
	/* "LIST 1 " from a sloppy client; a password keeps its spaces. */
	if (arg != NULL && c->fn != cmd_pass) {
		size_t n = strlen(arg);

		while (n > 0 && (arg[n - 1] == ' ' || arg[n - 1] == '\t'))
			arg[--n] = '\0';
		if (n == 0)
			arg = NULL;
	}
	if (!(c->states & s->state)) {
		bad(s, s->state == S_AUTH ? "Command not valid before login"
		    : "Command not valid after login");
		return;
	}
	if (!args_ok(c, arg)) {
		bad(s, "Argument too long");
		return;
	}
	c->fn(s, arg);
}

static void run(struct session *s)
{
	char line[POP3_CMD_MAX + 1];
	size_t len;

	while (!s->quit) {
		enum conn_rc rc = conn_getline(&s->conn, line, POP3_CMD_MAX, &len);

		if (rc == CONN_TIMEOUT) {
			reply(s, "-ERR Autologout; idle for too long");
			logmsg(s, s->state == S_AUTH ? "login timeout" : "idle timeout");
			break;
		}
		if (rc == CONN_EOF || rc == CONN_ERR)
			break;
		if (rc == CONN_TOOLONG) {
			bad(s, "Line too long");
			continue;
		}
		if (++s->ncmds > POP3_CMDS_MAX) {
			reply(s, "-ERR Too many commands, closing connection");
			break;
		}
		dispatch(s, line, len);
	}
	conn_flush(&s->conn);
}

static void make_stamp(struct session *s)
{
	s->stamp[0] = '\0';
	/* APOP needs a clear-text secret, which only a passwd-file holds;
	 * separated, the helper made the timestamp and checks against it. */
	if (s->cfg->users != NULL && s->ps != NULL)
		snprintf(s->stamp, sizeof s->stamp, "%s", s->ps->stamp);
	else if (s->cfg->users != NULL)
		snprintf(s->stamp, sizeof s->stamp, "<%ld.%lld@%s>", (long)getpid(),
		    (long long)time(NULL), s->cfg->hostname);
}

static struct session *session_new(int rfd, int wfd, const struct peer *peer,
    const struct pop3d_cfg *cfg)
{
	struct session *s = xcalloc(1, sizeof *s);

	signal(SIGPIPE, SIG_IGN);       /* a write to a closed peer is an error, not death */
	s->cfg = cfg;
	s->peer = peer;
	s->state = S_AUTH;
	conn_init(&s->conn, rfd, wfd, CONN_SERVER);
	conn_set_timeout(&s->conn, cfg->idle_secs);
	/* A client that stops reading must not hold the session (and the
	 * maildrop lock) forever: writes time out like reads.  Not a socket
	 * (a pipe): nothing to do. */
	struct timeval tv = { .tv_sec = cfg->idle_secs };
	(void)setsockopt(wfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (cfg->verbose)
		conn_set_log(&s->conn, stderr, mask_secrets);
	return s;
}

static int session_end(struct session *s)
{
	int status = s->status;

	if (s->have_md)
		maildrop_close(&s->md);
	conn_close(&s->conn);
	OPENSSL_cleanse(&s->u, sizeof s->u);
	free(s);
	return status;
}

/* What both halves of a separated session start from. */
struct session_arg {
	const struct pop3d_cfg *cfg;
	const struct peer *peer;
};

/* Up to the login (in the login process when separated). */
static int login_session(int rfd, int wfd, struct privsep *ps, void *arg)
{
	const struct session_arg *sa = arg;
	const struct pop3d_cfg *cfg = sa->cfg;
	const struct peer *peer = sa->peer;
	struct session *s = session_new(rfd, wfd, peer, cfg);

	s->ps = ps;
	/* until login; a shorter --idle shortens it too */
	conn_set_deadline(&s->conn, cfg->idle_secs < LOGIN_SECS ? cfg->idle_secs : LOGIN_SECS);
	if (cfg->implicit_tls && conn_starttls(&s->conn, cfg->tls, NULL) < 0) {
		logmsg(s, "TLS handshake failed: %s", s->conn.errbuf);
		s->status = EXIT_FAILURE;
	} else {
		logmsg(s, "connection from %s", peer->addr[0] ? peer->addr : "local");
		make_stamp(s);
		reply(s, "+OK %s POP3 server ready%s%s", cfg->hostname, s->stamp[0] ? " " : "",
		    s->stamp);
		run(s);
	}
	return session_end(s);
}

/* Separated, in the helper become the owner: TRANSACTION on the client
 * the login process handed over. */
static int after_login(const struct privsep_handoff *h, const struct user *u, int became,
    void *arg)
{
	const struct session_arg *sa = arg;
	struct session *s = session_new(h->rfd, h->wfd, sa->peer, sa->cfg);

	privsep_preload(&s->conn, h);
	s->u = *u;
	s->utf8 = h->nstate == 1 && h->state[0] == POP3_STATE_UTF8;
	s->became = became;
	if (!became) {
		logmsg(s, "cannot switch to the owner of %s's mail", s->u.name);
		reply(s, "-ERR [SYS/PERM] Cannot access this maildrop");
	} else {
		enter_transaction(s);
		run(s);
	}
	conn_flush(&s->conn);
	return session_end(s);
}

int pop3d_session(int rfd, int wfd, const struct peer *peer, void *arg)
{
	const struct pop3d_cfg *cfg = arg;
	struct session_arg sa = { cfg, peer };
	struct privsep_cfg pc = { cfg->users, cfg->runas, cfg->hostname, peer->addr,
	    AUTH_FAIL_DELAY, after_login, &sa };
	struct session *s;
	int status = 0;

	if (privsep_run(&pc, rfd, wfd, login_session, &status) == 0)
		return status;
	s = session_new(rfd, wfd, peer, cfg);
	reply(s, "-ERR [SYS/PERM] Server misconfigured, see the mail log");
	conn_flush(&s->conn);
	s->status = EXIT_FAILURE;
	return session_end(s);
}
