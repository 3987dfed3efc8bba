/* session.c — one SMTP/LMTP session: the command table, the dispatcher,
 * the state machine and the commands that do not carry message data.
 *
 * The dispatcher owns the common failures (unknown command, wrong state,
 * over-long line) and counts them: after SMTP_ERRORS_MAX the client gets
 * 421 and is dropped.  Every handler checks its arguments first, then acts
 * (OpenSMTPD's check/proceed split).  All state changes go through
 * set_state(), which prints them in the -v transcript. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "sasl.h"
#include "smtpd.h"
#include "tls.h"

#define S_ANY (S_INIT | S_GREET | S_MAIL | S_RCPT | S_BDAT)

enum { C_SMTP = 1, C_LMTP = 2, C_BOTH = 3 };

struct cmd {
	const char *name;
	int states;             /* where it is allowed */
	int modes;              /* SMTP, LMTP or both */
	void (*fn)(struct session *, char *);
	const char *bad;        /* 503 text when in the wrong state (after HELO) */
};

static void cmd_helo(struct session *, char *);
static void cmd_ehlo(struct session *, char *);
static void cmd_mail(struct session *, char *);
static void cmd_rcpt(struct session *, char *);
static void cmd_data(struct session *, char *);
static void cmd_rset(struct session *, char *);
static void cmd_noop(struct session *, char *);
static void cmd_quit(struct session *, char *);
static void cmd_vrfy(struct session *, char *);
static void cmd_expn(struct session *, char *);
static void cmd_help(struct session *, char *);
static void cmd_starttls(struct session *, char *);
static void cmd_auth(struct session *, char *);

static const struct cmd smtp_cmds[] = {
	{ "HELO",     S_ANY & ~S_BDAT,   C_SMTP, cmd_helo,     "BDAT in progress" },
	{ "EHLO",     S_ANY & ~S_BDAT,   C_SMTP, cmd_ehlo,     "BDAT in progress" },
	{ "LHLO",     S_ANY & ~S_BDAT,   C_LMTP, cmd_ehlo,     "BDAT in progress" },
	{ "MAIL",     S_GREET,           C_BOTH, cmd_mail,     "nested MAIL command" },
	{ "RCPT",     S_MAIL | S_RCPT,   C_BOTH, cmd_rcpt,     "need MAIL command" },
	{ "DATA",     S_RCPT,            C_BOTH, cmd_data,     "need RCPT command" },
	{ "BDAT",     S_ANY,             C_BOTH, cmd_bdat,     NULL },   /* checks itself */
	{ "RSET",     S_ANY,             C_BOTH, cmd_rset,     NULL },
	{ "NOOP",     S_ANY,             C_BOTH, cmd_noop,     NULL },
	{ "QUIT",     S_ANY,             C_BOTH, cmd_quit,     NULL },
	{ "VRFY",     S_ANY,             C_BOTH, cmd_vrfy,     NULL },
	{ "EXPN",     S_ANY,             C_BOTH, cmd_expn,     NULL },
	{ "HELP",     S_ANY,             C_BOTH, cmd_help,     NULL },
	{ "STARTTLS", S_INIT | S_GREET,  C_BOTH, cmd_starttls, "MAIL transaction in progress" },
	{ "AUTH",     S_GREET,           C_BOTH, cmd_auth,     "MAIL transaction in progress" },
};

static const char *state_name(int st)
{
	switch (st) {
	case S_INIT: return "INIT";
	case S_GREET: return "GREET";
	case S_MAIL: return "MAIL";
	case S_RCPT: return "RCPT";
	case S_BDAT: return "BDAT";
	}
	return "?";
}

void set_state(struct session *s, int state)
{
	if (state != s->state)
		conn_note(&s->conn, "state %s -> %s", state_name(s->state), state_name(state));
	s->state = state;
}

void reply(struct session *s, int code, const char *fmt, ...)
{
	char line[SMTP_REPLY_MAX];
	va_list ap;
	int n = snprintf(line, sizeof line, "%d ", code), k;

	/* One write per reply, so the transcript shows it as one line. */
	va_start(ap, fmt);
	k = vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	n += (size_t)k < sizeof line - (size_t)n - 2 ? k : (int)(sizeof line - (size_t)n - 3);
	/* Texts quoted from elsewhere (an MDA's error, a DNSBL's TXT record,
	 * the client's own words) must not add lines to the reply, nor carry
	 * a control byte: RFC 5321 4.2's textstring is HT and 32-126 (DEL
	 * is out too; 8-bit text is left for SMTPUTF8 addresses). */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < ' ' || line[i] == 0x7f)
			line[i] = ' ';
	line[n++] = '\r';
	line[n++] = '\n';
	conn_write(&s->conn, line, (size_t)n);
}

void client_error(struct session *s)
{
	if (++s->errors >= SMTP_ERRORS_MAX && !s->quit) {
		reply(s, 421, "4.7.0 %s Error: too many errors", s->cfg->hostname);
		s->quit = 1;
	}
}

void transaction_reset(struct session *s)
{
	s->from[0] = '\0';
	s->utf8 = s->body8 = s->ret = 0;
	s->envid[0] = '\0';
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	buf_reset(&s->msg);
	if (s->state & (S_MAIL | S_RCPT | S_BDAT))
		set_state(s, S_GREET);
}

/* The -v transcript shows "AUTH PLAIN" but not what follows it. */
static size_t mask_auth(const char *line, size_t len, int incoming)
{
	const char *sp;

	if (!incoming || len < 5 || strncasecmp(line, "AUTH ", 5) != 0)
		return len;
	sp = memchr(line + 5, ' ', len - 5);
	return sp ? (size_t)(sp - line) + 1 : len;
}

/* ---- commands ---- */

static int auth_allowed(const struct session *s)
{
	return conn_is_tls(&s->conn) || server_plain_ok(s->cfg->plaintext_auth, &s->peer);
}

static void cmd_helo(struct session *s, char *args)
{
	if (*args == '\0') {
		reply(s, 501, "5.5.4 Syntax: HELO hostname");
		client_error(s);
		return;
	}
	transaction_reset(s);
	snprintf(s->helo, sizeof s->helo, "%s", args);
	s->esmtp = 0;
	set_state(s, S_GREET);
	reply(s, 250, "%s", s->cfg->hostname);
}

static void cmd_ehlo(struct session *s, char *args)
{
	const struct config *c = s->cfg;
	struct conn *k = &s->conn;

	if (*args == '\0') {
		reply(s, 501, "5.5.4 Syntax: %s hostname", c->lmtp ? "LHLO" : "EHLO");
		client_error(s);
		return;
	}
	transaction_reset(s);
	snprintf(s->helo, sizeof s->helo, "%s", args);
	s->esmtp = 1;
	set_state(s, S_GREET);
	conn_printf(k, "250-%s\r\n", c->hostname);
	conn_printf(k, "250-PIPELINING\r\n250-SIZE %lld\r\n", c->max_size);
	if (c->ssl != NULL && !conn_is_tls(k))
		conn_printf(k, "250-STARTTLS\r\n");
	if (auth_allowed(s) && s->authuser[0] == '\0')
		conn_printf(k, "250-AUTH %s\r\n", sasl_mechs(c->users));
	conn_printf(k, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
	    "250-CHUNKING\r\n250 DSN\r\n");
}

/* "FROM:" / "TO:", case-insensitive, with an optional space after the
 * colon (which RFC 5321 does not allow but many clients send). */
static char *after_keyword(char *args, const char *kw)
{
	size_t n = strlen(kw);

	if (strncasecmp(args, kw, n) != 0)
		return NULL;
	args += n;
	while (*args == ' ')
		args++;
	return args;
}

/* MAIL RET= and ENVID= (RFC 3461 4.3, 4.4), each at most once; 0, or
 * -1 with a reply sent. */
static int mail_dsn_param(struct session *s, size_t klen, const char *v)
{
	char dec[DSN_ENVID_MAX + 1];

	if (klen == 3) {
		if (s->ret != DSN_RET_NONE)
			return reply(s, 501, "5.5.4 Duplicate RET parameter"), -1;
		if ((s->ret = dsn_ret_parse(v)) < 0) {
			s->ret = DSN_RET_NONE;
			return reply(s, 501, "5.5.4 Bad RET parameter: FULL or HDRS"), -1;
		}
		return 0;
	}
	if (s->envid[0] != '\0')
		return reply(s, 501, "5.5.4 Duplicate ENVID parameter"), -1;
	if (strlen(v) >= sizeof s->envid || dsn_xtext_decode(v, dec, sizeof dec) <= 0)
		return reply(s, 501, "5.5.4 Bad ENVID parameter: xtext of at most %d characters",
		    DSN_ENVID_MAX), -1;
	snprintf(s->envid, sizeof s->envid, "%s", v);
	return 0;
}

/* MAIL parameters (RFC 1870 SIZE, 6152 BODY, 6531 SMTPUTF8, 4954 AUTH,
 * 3461 RET and ENVID).  0 or a reply already sent. */
static int mail_params(struct session *s, char *p)
{
	static const char *const once[] = { "SIZE", "BODY", "SMTPUTF8", "AUTH" };
	unsigned seen = 0;

	for (char *t = strtok(p, " "); t; t = strtok(NULL, " ")) {
		char *eq = strchr(t, '=');
		size_t klen = eq ? (size_t)(eq - t) : strlen(t);
		const char *v = eq ? eq + 1 : "";

		if (!s->esmtp)
			return reply(s, 555, "5.5.4 Parameters need EHLO"), -1;
		/* Each at most once: a keyword given twice is ambiguous, and
		 * "SIZE=10 SIZE=99999999" must not pass for 10. */
		for (size_t i = 0; i < sizeof once / sizeof *once; i++) {
			if (klen != strlen(once[i]) || strncasecmp(t, once[i], klen) != 0)
				continue;
			if (seen & 1u << i)
				return reply(s, 501, "5.5.4 Duplicate %s parameter", once[i]), -1;
			seen |= 1u << i;
		}
		if (klen == 4 && strncasecmp(t, "SIZE", 4) == 0) {
			char *end;
			long long n = strtoll(v, &end, 10);

			if (*v == '\0' || *end != '\0' || n < 0)
				return reply(s, 501, "5.5.4 Bad SIZE parameter"), -1;
			if (n > s->cfg->max_size)
				return reply(s, 552, "5.3.4 Message size exceeds fixed limit"), -1;
		} else if (klen == 4 && strncasecmp(t, "BODY", 4) == 0) {
			if (strcasecmp(v, "8BITMIME") == 0)
				s->body8 = 1;
			else if (strcasecmp(v, "7BIT") != 0)
				return reply(s, 555, "5.5.4 Unsupported BODY type"), -1;
		} else if (klen == 8 && strncasecmp(t, "SMTPUTF8", 8) == 0 && eq == NULL) {
			s->utf8 = 1;
		} else if (klen == 4 && strncasecmp(t, "AUTH", 4) == 0) {
			;       /* RFC 4954 5: may be ignored */
		} else if (eq && ((klen == 3 && strncasecmp(t, "RET", 3) == 0) ||
		    (klen == 5 && strncasecmp(t, "ENVID", 5) == 0))) {
			if (mail_dsn_param(s, klen, v) < 0)
				return -1;
		} else {
			return reply(s, 555, "5.5.4 Unsupported option: %.*s", (int)klen, t), -1;
		}
	}
	return 0;
}

static void cmd_mail(struct session *s, char *args)
{
	char *p = after_keyword(args, "FROM:");
	const char *why;

	if (s->cfg->submission && s->authuser[0] == '\0') {
		reply(s, 530, "5.7.0 Authentication required");
		return;
	}
	if (p == NULL) {
		reply(s, 501, "5.5.4 Syntax: MAIL FROM:<address>");
		client_error(s);
		return;
	}
	if ((why = parse_path(&p, s->from, sizeof s->from, 1, 1)) != NULL) {
		reply(s, 501, "5.1.7 Bad sender address syntax: %s", why);
		client_error(s);
		return;
	}
	if (mail_params(s, p) < 0) {
		transaction_reset(s);
		client_error(s);
		return;
	}
	if (has_8bit(s->from) && !s->utf8) {
		reply(s, 553, "5.6.7 Non-ASCII address needs SMTPUTF8");
		transaction_reset(s);
		return;
	}
	if (authres_mail(s) < 0) {
		transaction_reset(s);
		return;
	}
	set_state(s, S_MAIL);
	reply(s, 250, "2.1.0 Ok");
}

/* Log and send a RCPT refusal. */
static void rcpt_refuse(struct session *s, const char *addr, int code, const char *text)
{
	log_line(s, "NOQUEUE: reject: RCPT from %s[%s]: %d %s; from=<%s> to=<%s> helo=<%s>",
	    s->peer.name[0] ? s->peer.name : "unknown", s->peer.addr[0] ? s->peer.addr : "stdin",
	    code, text, s->from, addr, s->helo);
	reply(s, code, "%s", text);
	client_error(s);        /* as Postfix counts them: RCPT probing is a flood too */
}

/* The first user name of the passwd-file users into name, or "". */
static void first_user(const char *users, char *name, size_t cap)
{
	char line[1024];
	FILE *f;

	name[0] = '\0';
	if (users == NULL || (f = fopen(users, "re")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		size_t n = strcspn(line, ":\r\n");

		if (line[0] == '#' || n == 0 || line[n] != ':')
			continue;
		snprintf(name, cap, "%.*s", (int)n, line);
		break;
	}
	fclose(f);
}

/* Find the local recipient r->addr (auth_lookup_rcpt); failing that, the
 * same address with its local part in lower case (as Postfix's local(8)
 * folds it: "Bob@d" reaches bob), and for "postmaster" with or without a
 * domain (RFC 5321 4.5.1: MUST be accepted) the user postmaster, else
 * root, else the first user of the passwd-file (the administrator).  When
 * a fallback finds the user, r->addr becomes the name that delivery will
 * look up.  With no_root (we deliver as root, which never writes as uid or
 * gid 0), a fallback with uid or gid 0 is passed over.  As auth_lookup. */
static int rcpt_lookup(const char *users, struct rcpt *r, int no_root)
{
	char low[sizeof r->addr], first[AUTH_NAME_MAX + 1];
	const char *at = strrchr(r->addr, '@');
	size_t nl = at ? (size_t)(at - r->addr) : strlen(r->addr);
	const char *names[] = { "postmaster", "root", first };
	int rc;

	if ((rc = auth_lookup_rcpt(users, r->addr, &r->user)) != 0)
		return rc;
	memcpy(low, r->addr, sizeof low);
	for (size_t i = 0; i < nl; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] += 'a' - 'A';
	if (strcmp(low, r->addr) != 0 && (rc = auth_lookup_rcpt(users, low, &r->user)) != 0) {
		if (rc > 0)
			memcpy(r->addr, low, sizeof low);
		return rc;
	}
	if (nl != 10 || strncmp(low, "postmaster", 10) != 0)
		return 0;
	first_user(users, first, sizeof first);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (names[i][0] == '\0' || (rc = auth_lookup(users, names[i], &r->user)) == 0)
			continue;
		if (rc > 0 && no_root && r->user.has_ids && (r->user.uid == 0 || r->user.gid == 0))
			continue;
		if (rc > 0)
			snprintf(r->addr, sizeof r->addr, "%s", names[i]);
		return rc;
	}
	return 0;
}

/* Whether the local part of addr holds '%' (outside quotes, or inside
 * them: either way it names another host). */
static int percent_hack(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && memchr(addr, '%', (size_t)(at - addr)) != NULL;
}

/* Decide where addr goes: fills r, or replies and returns -1. */
static int rcpt_route(struct session *s, const char *addr, struct rcpt *r)
{
	const char *dom = addr_domain(addr);
	char text[SMTP_REPLY_MAX];
	int rc, code;

	if ((code = dnsbl_check(s, text, sizeof text)) != 0)
		return rcpt_refuse(s, addr, code, text), -1;
	r->local = s->cfg->lmtp || *dom == '\0' || domain_is_local(s->cfg, dom);
	if (r->local && percent_hack(addr)) {
		/* "user%other@here" asks us to relay to "other" (the old
		 * percent hack, RFC 1123 5.2.16): an open-relay path, so it is
		 * refused by policy (5.7.1), not as bad syntax: '%' is a legal
		 * local-part character. */
		snprintf(text, sizeof text, "5.7.1 <%s>: Recipient address rejected: "
		    "percent hack (user%%host@domain) not accepted: this server does not relay "
		    "through a local part; write the address user@host", addr);
		return rcpt_refuse(s, addr, 550, text), -1;
	}
	if (!r->local) {
		if (!relay_allowed(s) || s->cfg->queue == NULL) {
			snprintf(text, sizeof text, "5.7.1 <%s>: Relay access denied", addr);
			return rcpt_refuse(s, addr, 550, text), -1;
		}
	} else if (s->cfg->aliases != NULL && (rc = rcpt_alias(s, addr)) != 0) {
		if (rc < 0)
			return -1;
		r->alias = 1;           /* aliases come first, as in Postfix's local(8) */
	} else if ((rc = rcpt_lookup(s->cfg->users, r, s->privsep >= 0)) <= 0) {
		if (rc < 0) {
			warn_("%s", s->cfg->users ? s->cfg->users : "user database");
			return reply(s, 451, "4.3.0 <%s>: Temporary lookup failure", addr), -1;
		}
		snprintf(text, sizeof text, "5.1.1 <%s>: Recipient address rejected: User unknown",
		    addr);
		return rcpt_refuse(s, addr, 550, text), -1;
	} else if (s->privsep >= 0 && r->user.has_ids && (r->user.uid == 0 || r->user.gid == 0)) {
		/* The root half would refuse to write as uid or gid 0 after
		 * DATA, a 451 the sender retries for days: say it now. */
		snprintf(text, sizeof text, "5.7.1 <%s>: Recipient address rejected: mailbox "
		    "would be written as root (uid 0 or gid 0)", addr);
		return rcpt_refuse(s, addr, 550, text), -1;
	}
	if (greylist_check(s, addr) == 451) {
		snprintf(text, sizeof text, "4.7.1 <%s>: Recipient address rejected: Greylisted, "
		    "try again in %d seconds", addr, s->cfg->greylist_delay);
		return rcpt_refuse(s, addr, 451, text), -1;
	}
	return 0;
}

/* RCPT parameters: NOTIFY= and ORCPT= (RFC 3461 4.1, 4.2), each at most
 * once.  0, or -1 with a reply sent. */
static int rcpt_params(struct session *s, char *p, struct rcpt *r)
{
	int seen_orcpt = 0;

	for (char *t = strtok(p, " "); t; t = strtok(NULL, " ")) {
		char *eq = strchr(t, '=');
		size_t klen = eq ? (size_t)(eq - t) : strlen(t);

		if (!s->esmtp)
			return reply(s, 555, "5.5.4 Parameters need EHLO"), -1;
		if (eq && klen == 6 && strncasecmp(t, "NOTIFY", 6) == 0) {
			if (r->notify != 0)
				return reply(s, 501, "5.5.4 Duplicate NOTIFY parameter"), -1;
			if ((r->notify = dsn_notify_parse(eq + 1)) < 0)
				return reply(s, 501, "5.5.4 Bad NOTIFY parameter: NEVER, or "
				    "SUCCESS, FAILURE, DELAY"), -1;
		} else if (eq && klen == 5 && strncasecmp(t, "ORCPT", 5) == 0) {
			if (seen_orcpt++)
				return reply(s, 501, "5.5.4 Duplicate ORCPT parameter"), -1;
			if (dsn_orcpt_ok(eq + 1) < 0)
				return reply(s, 501, "5.5.4 Bad ORCPT parameter: addr-type;xtext"), -1;
			snprintf(r->orcpt, sizeof r->orcpt, "%s", eq + 1);
		} else {
			return reply(s, 555, "5.5.4 Unsupported option: %.*s", (int)klen, t), -1;
		}
	}
	return 0;
}

static void cmd_rcpt(struct session *s, char *args)
{
	char *p = after_keyword(args, "TO:");
	struct rcpt r;
	const char *why;

	memset(&r, 0, sizeof r);
	if (p == NULL) {
		reply(s, 501, "5.5.4 Syntax: RCPT TO:<address>");
		client_error(s);
		return;
	}
	if ((why = parse_path(&p, r.addr, sizeof r.addr, 1, 0)) != NULL) {
		reply(s, 501, "5.1.3 Bad recipient address syntax: %s", why);
		client_error(s);
		return;
	}
	if (rcpt_params(s, p, &r) < 0) {
		client_error(s);
		return;
	}
	if (has_8bit(r.addr) && !s->utf8) {
		reply(s, 553, "5.6.7 Non-ASCII address needs SMTPUTF8");
		return;
	}
	if (s->nrcpt >= (size_t)s->cfg->max_rcpt) {
		reply(s, 452, "4.5.3 Error: too many recipients");
		return;
	}
	if (rcpt_route(s, r.addr, &r) < 0)
		return;
	s->rcpt = xrealloc(s->rcpt, (s->nrcpt + 1) * sizeof *s->rcpt);
	s->rcpt[s->nrcpt++] = r;
	set_state(s, S_RCPT);
	reply(s, 250, "2.1.5 Ok");
}

/* Reply code/text for every recipient (LMTP) or once (SMTP). */
static void reply_all(struct session *s, int code, const char *text)
{
	size_t n = s->cfg->lmtp ? s->nrcpt : 1;

	for (size_t i = 0; i < n; i++)
		reply(s, code, "%s", text);
}

static void cmd_data(struct session *s, char *args)
{
	char why[SMTP_REPLY_MAX];
	int code = 0;

	if (*args != '\0') {
		reply(s, 501, "5.5.4 Syntax: DATA");
		client_error(s);
		return;
	}
	reply(s, 354, "End data with <CR><LF>.<CR><LF>");
	conn_set_timeout(&s->conn, s->cfg->data_timeout);
	if (data_read(s, &code, why, sizeof why) < 0) {
		s->quit = 1;
		return;
	}
	conn_set_timeout(&s->conn, s->cfg->cmd_timeout);
	if (code != 0) {
		log_line(s, "NOQUEUE: reject: DATA from %s[%s]: %d %s; from=<%s> helo=<%s>",
		    s->peer.name[0] ? s->peer.name : "unknown",
		    s->peer.addr[0] ? s->peer.addr : "stdin", code, why, s->from, s->helo);
		reply_all(s, code, why);
	} else {
		deliver_message(s);
	}
	transaction_reset(s);
}

static void cmd_rset(struct session *s, char *args)
{
	(void)args;
	transaction_reset(s);
	reply(s, 250, "2.0.0 Ok");
}

static void cmd_noop(struct session *s, char *args)
{
	(void)args;
	reply(s, 250, "2.0.0 Ok");
}

static void cmd_quit(struct session *s, char *args)
{
	(void)args;
	reply(s, 221, "2.0.0 Bye");
	s->quit = 1;
}

static void cmd_vrfy(struct session *s, char *args)
{
	if (*args == '\0') {
		reply(s, 501, "5.5.4 Syntax: VRFY address");
		client_error(s);
		return;
	}
	/* RFC 5321 3.5.3: 252 when we will not say whether a user exists. */
	reply(s, 252, "2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct session *s, char *args)
{
	if (!s->cfg->expn || s->cfg->aliases == NULL) {
		reply(s, 502, "5.5.1 EXPN not available");
		return;
	}
	expn_reply(s, args);
}

static void cmd_help(struct session *s, char *args)
{
	(void)args;
	reply(s, 214, "2.0.0 Commands: %s MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP%s AUTH; "
	    "see RFC 5321", s->cfg->lmtp ? "LHLO" : "HELO EHLO",
	    s->cfg->ssl ? " STARTTLS" : "");
}

static void cmd_starttls(struct session *s, char *args)
{
	if (s->cfg->ssl == NULL) {
		reply(s, 502, "5.5.1 Error: command not implemented");
		return;
	}
	if (*args != '\0') {
		reply(s, 501, "5.5.4 Syntax: STARTTLS");
		client_error(s);
		return;
	}
	if (conn_is_tls(&s->conn)) {
		reply(s, 503, "5.5.1 Error: TLS already active");
		client_error(s);
		return;
	}
	reply(s, 220, "2.0.0 Ready to start TLS");
	/* conn_starttls drops whatever the client pipelined after STARTTLS in
	 * plaintext (RFC 3207 5): it must not run inside TLS. */
	if (conn_starttls(&s->conn, s->cfg->ssl, NULL) < 0) {
		warnx_("TLS handshake with %s: %s", s->peer.addr[0] ? s->peer.addr : "stdin",
		    s->conn.errbuf);
		s->quit = 1;
		return;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS. */
	transaction_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->authuser[0] = '\0';
	set_state(s, S_INIT);
}

static void auth_failed(struct session *s, const char *who)
{
	log_line(s, "warning: %s[%s]: SASL authentication failed for %s",
	    s->peer.name[0] ? s->peer.name : "unknown", s->peer.addr[0] ? s->peer.addr : "stdin",
	    who[0] ? who : "(unknown user)");
	sleep(AUTH_FAIL_DELAY);         /* slow password guessing down */
	reply(s, 535, "5.7.8 Error: authentication failed");
	if (++s->auth_failures >= AUTH_FAIL_MAX) {
		reply(s, 421, "4.7.0 %s Error: too many failed authentications",
		    s->cfg->hostname);
		s->quit = 1;
	}
}

static void cmd_auth(struct session *s, char *args)
{
	char chal[SASL_LINE_MAX], line[SASL_LINE_MAX], *mech = args, *init;
	struct sasl sa;
	struct user u;
	enum sasl_rc rc;
	size_t len;

	if (s->authuser[0] != '\0') {
		reply(s, 503, "5.5.1 Error: already authenticated");
		return;
	}
	if (!auth_allowed(s) && s->cfg->ssl != NULL) {
		reply(s, 530, "5.7.0 Must issue a STARTTLS command first");     /* RFC 3207 4 */
		return;
	}
	if (!auth_allowed(s)) {
		reply(s, 538, "5.7.11 Encryption required for requested authentication mechanism");
		return;
	}
	if ((init = strchr(args, ' ')) != NULL)
		*init++ = '\0';
	if (*mech == '\0') {
		reply(s, 501, "5.5.4 Syntax: AUTH mechanism");
		client_error(s);
		return;
	}
	rc = sasl_start(&sa, s->cfg->users, mech, init, s->cfg->hostname, chal, sizeof chal, &u);
	while (rc == SASL_CONTINUE) {
		reply(s, 334, "%s", chal);
		conn_mask_next(&s->conn);
		if (conn_getline(&s->conn, line, sizeof line, &len) != CONN_OK) {
			s->quit = 1;
			return;
		}
		rc = sasl_step(&sa, line, chal, sizeof chal, &u);
	}
	switch (rc) {
	case SASL_OK:
		snprintf(s->authuser, sizeof s->authuser, "%s", u.name);
		reply(s, 235, "2.7.0 Authentication successful");
		break;
	case SASL_FAIL: auth_failed(s, sa.user); break;
	case SASL_CANCEL: reply(s, 501, "5.7.0 Authentication cancelled"); break;
	case SASL_NOMECH: reply(s, 504, "5.5.4 Unrecognized authentication type"); break;
	default: reply(s, 501, "5.5.2 Malformed authentication response"); client_error(s); break;
	}
}

/* ---- dispatcher ---- */

static const struct cmd *find_cmd(const struct session *s, const char *verb)
{
	int mode = s->cfg->lmtp ? C_LMTP : C_SMTP;

	for (size_t i = 0; i < sizeof smtp_cmds / sizeof smtp_cmds[0]; i++)
		if (strcasecmp(smtp_cmds[i].name, verb) == 0 && (smtp_cmds[i].modes & mode))
			return &smtp_cmds[i];
	return NULL;
}

static void dispatch(struct session *s, char *line, size_t len)
{
	char *args = line + strcspn(line, " ");
	const struct cmd *c;

	if (strlen(line) != len) {
		reply(s, 500, "5.5.2 Error: NUL character in command");
		client_error(s);
		return;
	}
	if (*args)
		*args++ = '\0';
	if ((c = find_cmd(s, line)) == NULL) {
		reply(s, 500, "5.5.2 Error: command not recognized");
		client_error(s);
		return;
	}
	if (len + 2 > SMTP_CMD_MAX && c->fn != cmd_auth) {
		reply(s, 500, "5.5.2 Error: line too long");
		client_error(s);
		return;
	}
	if (!(c->states & s->state)) {
		if (s->state == S_INIT)
			reply(s, 503, "5.5.1 Error: send %s first", s->cfg->lmtp ? "LHLO" : "HELO/EHLO");
		else
			reply(s, 503, "5.5.1 Error: %s", c->bad ? c->bad : "bad sequence of commands");
		client_error(s);
		return;
	}
	c->fn(s, args);
}

static void session_loop(struct session *s)
{
	char line[SMTPD_AUTH_LINE_MAX];
	size_t len;

	while (!s->quit) {
		switch (conn_getline(&s->conn, line, sizeof line, &len)) {
		case CONN_OK:
			dispatch(s, line, len);
			break;
		case CONN_TOOLONG:
			reply(s, 500, "5.5.2 Error: line too long");
			client_error(s);
			break;
		case CONN_TIMEOUT:
			reply(s, 421, "4.4.2 %s Error: timeout exceeded", s->cfg->hostname);
			return;
		default:
			return;
		}
	}
}

int smtpd_session(int rfd, int wfd, const struct peer *peer, void *arg)
{
	const struct config *cfg = arg;
	struct session *s;
	int chan = -1, rc;

	signal(SIGPIPE, SIG_IGN);
	/* We wait for our MDA and filter: an inherited SIG_IGN (swaks --pipe,
	 * some inetds) would have the kernel reap them first. */
	signal(SIGCHLD, SIG_DFL);
	if (cfg->worker_chan >= 0) {
		chan = cfg->worker_chan;        /* split once per worker: smtpd_worker */
	} else if (geteuid() == 0) {    /* see privsep.c */
		pid_t pid = privsep_fork(&chan);

		if (pid < 0)
			return EX_OSERR;
		if (pid > 0) {
			if (rfd > 2)
				close(rfd);
			if (wfd > 2 && wfd != rfd)
				close(wfd);
			return privsep_serve(cfg, chan, pid);
		}
	}
	if (server_drop_privs(cfg->runas) < 0)  /* a no-op in a worker: done once */
		return EX_OSERR;
	s = xcalloc(1, sizeof *s);
	s->privsep = chan;
	s->cfg = cfg;
	s->peer = *peer;
	s->state = S_INIT;
	conn_init(&s->conn, rfd, wfd, CONN_SERVER);
	conn_set_timeout(&s->conn, cfg->cmd_timeout);
	if (cfg->verbose)
		conn_set_log(&s->conn, stderr, mask_auth);
	if (cfg->tls && conn_starttls(&s->conn, cfg->ssl, NULL) < 0) {
		warnx_("TLS handshake with %s: %s", peer->addr[0] ? peer->addr : "stdin",
		    s->conn.errbuf);
	} else {
		reply(s, 220, "%s %s maillab smtpd", cfg->hostname, cfg->lmtp ? "LMTP" : "ESMTP");
		session_loop(s);
	}
	conn_close(&s->conn);
	transaction_reset(s);
	buf_free(&s->msg);
	if (s->privsep >= 0 && s->privsep != cfg->worker_chan)
		close(s->privsep);
	/* Non-zero ends a reusing worker: without its root half it could
	 * only answer 451 to every delivery. */
	rc = s->privsep_gone ? EX_TEMPFAIL : 0;
	free(s);
	return rc;
}

/* A new reusing worker (server_listen_reuse): started as root, split here,
 * once for all its sessions.  The root half closes every client-facing
 * descriptor and serves deliveries until the protocol half ends; the
 * protocol half drops to --user, dies with its root half, and returns to
 * accept and serve up to --max-use sessions with the channel in cfg. */
static int smtpd_worker(void *arg, const int *fds, int nfds)
{
	struct config *cfg = arg;
	pid_t root = getpid(), pid;
	int chan;

	if (geteuid() != 0)
		return 0;
	if ((pid = privsep_fork(&chan)) < 0)
		return -1;
	if (pid > 0) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		exit(privsep_serve(cfg, chan, pid));
	}
	if (server_drop_privs(cfg->runas) < 0)
		return -1;
	/* Set after the switch of ids, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != root)
		return -1;
	cfg->worker_chan = chan;
	return 0;
}

int smtpd_run(struct config *cfg)
{
	char err[256];

	if (cfg->cert != NULL &&
	    (cfg->ssl = tls_server_ctx(cfg->cert, cfg->key, err, sizeof err)) == NULL)
		diex(EX_CONFIG, "%s", err);
	log_open(cfg);
	if (cfg->nlisten > 0) {
		/* Postfix's words for its anvil limit */
		struct server_limits lim = { cfg->per_client,
		    "421 4.7.0 Error: too many connections from your address\r\n", cfg->verbose };

		if (cfg->verbose)
			warnx_("limits: command %d s, message %d s a line, --max-size %lld, "
			    "--max-rcpt %d", cfg->cmd_timeout, cfg->data_timeout, cfg->max_size,
			    cfg->max_rcpt);
		return server_listen_limits(cfg->listen, cfg->nlisten, smtpd_session, cfg,
		    cfg->max_use, smtpd_worker, &lim);
	}
	struct peer p;

	server_peer(0, &p);
	return smtpd_session(0, 1, &p, cfg);
}
