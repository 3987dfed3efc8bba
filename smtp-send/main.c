/* smtp-send — SMTP client, message composer and queue runner. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include "err.h"
#include "secure.h"
#include "send.h"
#include "tls.h"

const char *const progname = "smtp-send";

/* Everything the command line gives; the lists are argv pointers. */
struct cmdline {
	struct opts o;
	struct qopts q;
	const char *queue;
	char **rcpt;            /* allocated array: argv pointers, then -t's own strings */
	size_t nrcpt, nargv;
	int    from_headers;    /* -t */
	int    ignore_dots;     /* -i */
	const char *password_file;
	const char *subject, *body, *html, *name;
	char **attach, **headers;
	size_t nattach, nheaders;
	int    compose;
	int    list;        /* --list */
	char   envid[DSN_ENVID_MAX * 3 + 1];   /* --envid as xtext */
	int    notify;          /* --notify */
	char **orcpt;           /* --orcpt as "rfc822;xtext", one per recipient in order */
	size_t norcpt;
	struct secure sec;      /* --sign, --encrypt */
};

enum {
	O_PIPE = 256, O_DNS, O_PORT, O_HELO, O_STARTTLS, O_TLS, O_CAFILE, O_INSECURE, O_AUTH,
	O_AUTHMECH, O_PASSFILE, O_PLAINAUTH, O_LMTP, O_BDAT, O_DRYRUN, O_QUITAFTER, O_TIMEOUT,
	O_SUBJECT, O_BODY, O_ATTACH, O_HEADER, O_HTML, O_NAME, O_QUEUE, O_RETRYNOW, O_MAXAGE,
	O_LIST, O_DELAYWARN, O_NOTIFY, O_RET, O_ENVID, O_ORCPT, O_SIGN, O_ENCRYPT,
	O_PGPSIGN, O_PGPENCRYPT
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: smtp-send [-s HOST[:PORT] | --pipe CMD] [-f FROM] [options] RCPT...\n"
	    "       smtp-send [compose options] RCPT...\n"
	    "       smtp-send --queue DIR [--retry-now] [--max-age AGE] [options]\n"
	    "Send the message on standard input (or a composed one) by SMTP.\n\n"
	    "  -s, --server HOST[:PORT]  talk to this server (default: the recipients' MX hosts)\n"
	    "      --pipe CMD            run CMD (an inetd-style server) and talk to it on pipes\n"
	    "      --dns SERVER[:PORT]   DNS server for MX routing\n"
	    "      --port N              SMTP port of MX hosts (default 25)\n"
	    "  -f, --from ADDR           envelope sender (\"\" for the null sender)\n"
	    "      --helo NAME           name for EHLO (default: this host's name)\n"
	    "      --starttls[=required] use STARTTLS when offered (required: or fail)\n"
	    "      --tls                 implicit TLS (port 465)\n"
	    "      --cafile FILE         verify the server against these CAs (default: system store)\n"
	    "      --insecure            do not verify the server's certificate\n"
	    "      --auth USER           authenticate (PLAIN, LOGIN, CRAM-MD5)\n"
	    "      --auth-mech MECH      use this SASL mechanism\n"
	    "      --password-file FILE  password on the first line (default: prompt on the tty)\n"
	    "      --plaintext-auth      allow a password over an unencrypted remote connection\n"
	    "      --lmtp                speak LMTP (RFC 2033)\n"
	    "      --bdat                use BDAT (CHUNKING) when offered\n"
	    "  -t                        recipients from To:, Cc:, Bcc: (Bcc: removed)\n"
	    "  -i, -oi                   a line with a single dot does not end the message\n"
	    "  -v, --verbose             print the SMTP transcript on stderr (-vv: and DNS)\n"
	    "      --dry-run             print the envelope (stderr) and message (stdout); send nothing\n"
	    "      --quit-after STAGE    stop after connect|ehlo|tls|auth|mail|rcpt|data\n"
	    "      --timeout SECS        wait at most SECS for each reply (default %d)\n"
	    "DSN (RFC 3461, for a server that offers it):\n"
	    "      --notify LIST         NEVER, or SUCCESS,FAILURE,DELAY: reports wanted\n"
	    "      --ret FULL|HDRS       return the whole message or its header in reports\n"
	    "      --envid TEXT          envelope id quoted in reports\n"
	    "      --orcpt ADDR          original recipient of the n-th RCPT (repeatable)\n"
	    "Compose:\n"
	    "      --subject TEXT        Subject: (UTF-8, encoded as needed)\n"
	    "      --body TEXT|@FILE     body text (default: standard input)\n"
	    "      --html FILE           HTML version (multipart/alternative)\n"
	    "      --attach FILE         attach a file (repeatable)\n"
	    "      --header 'Name: value'  add a header field (repeatable)\n"
	    "      --name NAME           display name for From:\n"
	    "S/MIME (RFC 8551):\n"
	    "      --sign CERT[:KEY]     sign (multipart/signed, SHA-256); KEY default: in CERT\n"
	    "      --encrypt CERT        encrypt to this certificate (repeatable; AES-256-CBC)\n"
	    "OpenPGP (PGP/MIME, RFC 3156; gpg, GNUPGHOME):\n"
	    "      --pgp-sign[=KEYID]    sign (multipart/signed); KEYID default: the From: key\n"
	    "      --pgp-encrypt KEYID   encrypt to this key (repeatable; and to your own)\n"
	    "Queue:\n"
	    "      --queue DIR           deliver the messages spooled in DIR\n"
	    "      --retry-now           ignore the retry schedule\n"
	    "      --max-age AGE         bounce after AGE (s, m, h, d; default 5d)\n"
	    "      --delay-warning AGE   report a delay (NOTIFY=DELAY) after AGE (default: none)\n"
	    "      --list                list the queue (as mailq) instead of running it\n"
	    "Run as sendmail (a link): sendmail [-t] [-i] [-f FROM] [-bp] [-q] RCPT...\n"
	    "  -h, --help                show this help\n"
	    "  -V, --version             show the version\n", SEND_CMD_SECS);
}

static const struct option longopts[] = {
	{ "server",         required_argument, NULL, 's' },
	{ "from",           required_argument, NULL, 'f' },
	{ "verbose",        no_argument,       NULL, 'v' },
	{ "help",           no_argument,       NULL, 'h' },
	{ "version",        no_argument,       NULL, 'V' },
	{ "pipe",           required_argument, NULL, O_PIPE },
	{ "dns",            required_argument, NULL, O_DNS },
	{ "port",           required_argument, NULL, O_PORT },
	{ "helo",           required_argument, NULL, O_HELO },
	{ "starttls",       optional_argument, NULL, O_STARTTLS },
	{ "tls",            no_argument,       NULL, O_TLS },
	{ "cafile",         required_argument, NULL, O_CAFILE },
	{ "insecure",       no_argument,       NULL, O_INSECURE },
	{ "auth",           required_argument, NULL, O_AUTH },
	{ "auth-mech",      required_argument, NULL, O_AUTHMECH },
	{ "password-file",  required_argument, NULL, O_PASSFILE },
	{ "plaintext-auth", no_argument,       NULL, O_PLAINAUTH },
	{ "lmtp",           no_argument,       NULL, O_LMTP },
	{ "bdat",           no_argument,       NULL, O_BDAT },
	{ "dry-run",        no_argument,       NULL, O_DRYRUN },
	{ "quit-after",     required_argument, NULL, O_QUITAFTER },
	{ "timeout",        required_argument, NULL, O_TIMEOUT },
	{ "subject",        required_argument, NULL, O_SUBJECT },
	{ "body",           required_argument, NULL, O_BODY },
	{ "attach",         required_argument, NULL, O_ATTACH },
	{ "header",         required_argument, NULL, O_HEADER },
	{ "html",           required_argument, NULL, O_HTML },
	{ "name",           required_argument, NULL, O_NAME },
	{ "queue",          required_argument, NULL, O_QUEUE },
	{ "retry-now",      no_argument,       NULL, O_RETRYNOW },
	{ "max-age",        required_argument, NULL, O_MAXAGE },
	{ "list",           no_argument,       NULL, O_LIST },
	{ "delay-warning",  required_argument, NULL, O_DELAYWARN },
	{ "notify",         required_argument, NULL, O_NOTIFY },
	{ "ret",            required_argument, NULL, O_RET },
	{ "envid",          required_argument, NULL, O_ENVID },
	{ "orcpt",          required_argument, NULL, O_ORCPT },
	{ "sign",           required_argument, NULL, O_SIGN },
	{ "encrypt",        required_argument, NULL, O_ENCRYPT },
	{ "pgp-sign",       optional_argument, NULL, O_PGPSIGN },
	{ "pgp-encrypt",    required_argument, NULL, O_PGPENCRYPT },
	{ NULL, 0, NULL, 0 }
};

static const char *const stages[] = {
	[ST_CONNECT] = "connect", [ST_EHLO] = "ehlo", [ST_TLS] = "tls", [ST_AUTH] = "auth",
	[ST_MAIL] = "mail", [ST_RCPT] = "rcpt", [ST_DATA] = "data",
};

static long number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < min || v > max)
		diex(EX_USAGE, "bad %s: %s", what, s);
	return v;
}

/* "90", "30s", "15m", "2h", "5d" in seconds. */
static long duration(const char *s)
{
	static const struct { char u; long mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	size_t n = strlen(s);
	long mul = 1;
	char num[32];

	for (size_t i = 0; n > 1 && i < sizeof units / sizeof units[0]; i++)
		if (s[n - 1] == units[i].u) {
			mul = units[i].mul;
			n--;
		}
	if (n == 0 || n >= sizeof num)
		diex(EX_USAGE, "bad age: %s", s);
	memcpy(num, s, n);
	num[n] = '\0';
	return number(num, 1, 100L * 365 * 86400 / mul, "age") * mul;
}

static void push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

/* --notify, --ret, --envid, --orcpt (RFC 3461). */
static void dsn_option(struct cmdline *cl, int c, const char *arg)
{
	char x[DSN_ORCPT_MAX + 1], dec[DSN_ENVID_MAX + 1];

	switch (c) {
	case O_NOTIFY:
		if ((cl->notify = dsn_notify_parse(arg)) < 0)
			diex(EX_USAGE, "bad --notify: %s (NEVER, or SUCCESS,FAILURE,DELAY)", arg);
		break;
	case O_RET:
		if ((cl->o.ret = dsn_ret_parse(arg)) < 0)
			diex(EX_USAGE, "bad --ret: %s (FULL or HDRS)", arg);
		break;
	case O_ENVID:
		if (dsn_xtext_encode(arg, cl->envid, sizeof cl->envid) < 0 || *arg == '\0' ||
		    dsn_xtext_decode(cl->envid, dec, sizeof dec) < 0)
			diex(EX_USAGE, "bad --envid: printable ASCII, at most %d characters",
			    DSN_ENVID_MAX);
		cl->o.envid = cl->envid;
		break;
	default:
		memcpy(x, "rfc822;", 7);
		if (!addr_ok(arg) || *arg == '\0' ||
		    dsn_xtext_encode(arg, x + 7, sizeof x - 7) < 0 || dsn_orcpt_ok(x) < 0)
			diex(EX_USAGE, "bad --orcpt: %s", arg);
		push(&cl->orcpt, &cl->norcpt, xstrdup(x));
	}
}

static void option(struct cmdline *cl, int c, char *arg)
{
	struct opts *o = &cl->o;

	switch (c) {
	case 's': o->server = arg; break;
	case 'f': o->from = arg; break;
	case 'v': o->verbose++; break;
	case 't': cl->from_headers = 1; break;
	case 'i': cl->ignore_dots = 1; break;
	case 'o': if (strcmp(arg, "i") == 0) cl->ignore_dots = 1; break;   /* sendmail -oi */
	case O_PIPE: o->pipe_cmd = arg; break;
	case O_DNS: o->dns = arg; break;
	case O_PORT: o->port = (int)number(arg, 1, 65535, "port"); break;
	case O_HELO: o->helo = arg; break;
	case O_STARTTLS:
		if (arg && strcmp(arg, "required") != 0)
			diex(EX_USAGE, "--starttls takes no value or \"required\"");
		o->tls = arg ? TLSM_STARTTLS_REQ : TLSM_STARTTLS;
		break;
	case O_TLS: o->tls = TLSM_IMPLICIT; break;
	case O_CAFILE: o->cafile = arg; break;
	case O_INSECURE: o->insecure = 1; break;
	case O_AUTH: o->auth_user = arg; break;
	case O_AUTHMECH: o->auth_mech = arg; break;
	case O_PASSFILE: cl->password_file = arg; break;
	case O_PLAINAUTH: o->plaintext_auth = 1; break;
	case O_LMTP: o->lmtp = 1; break;
	case O_BDAT: o->bdat = 1; break;
	case O_DRYRUN: o->dry_run = 1; break;
	case O_TIMEOUT: o->timeout = (int)number(arg, 1, 24 * 3600, "timeout"); break;
	case O_QUITAFTER:
		for (int i = ST_CONNECT; i <= ST_DATA; i++)
			if (strcasecmp(arg, stages[i]) == 0)
				o->quit_after = (enum stage)i;
		if (o->quit_after == ST_NONE)
			diex(EX_USAGE, "bad stage: %s (connect, ehlo, tls, auth, mail, rcpt, data)", arg);
		break;
	case O_SUBJECT: cl->subject = arg; cl->compose = 1; break;
	case O_BODY: cl->body = arg; cl->compose = 1; break;
	case O_ATTACH: push(&cl->attach, &cl->nattach, arg); cl->compose = 1; break;
	case O_HEADER: push(&cl->headers, &cl->nheaders, arg); cl->compose = 1; break;
	case O_HTML: cl->html = arg; cl->compose = 1; break;
	case O_NAME: cl->name = arg; cl->compose = 1; break;
	case O_QUEUE: cl->queue = arg; break;
	case O_RETRYNOW: cl->q.retry_now = 1; break;
	case O_MAXAGE: cl->q.max_age = duration(arg); break;
	case O_DELAYWARN: cl->q.delay_warn = duration(arg); break;
	case O_LIST: cl->list = 1; break;
	case O_NOTIFY: case O_RET: case O_ENVID: case O_ORCPT: dsn_option(cl, c, arg); break;
	case O_SIGN:
	case O_ENCRYPT:
		if (secure_option(&cl->sec, c == O_SIGN, arg) < 0)
			diex(EX_USAGE, "bad --%s: %s", c == O_SIGN ? "sign" : "encrypt", arg);
		break;
	case O_PGPSIGN:
	case O_PGPENCRYPT:
		if (secure_pgp_option(&cl->sec, c == O_PGPSIGN, arg) < 0)
			diex(EX_USAGE, "bad --%s: %s", c == O_PGPSIGN ? "pgp-sign" : "pgp-encrypt",
			    arg ? arg : "(none)");
		break;
	case 'h': usage(stdout); exit(0);
	case 'V': print_version(); exit(0);
	default: usage(stderr); exit(EX_USAGE);
	}
}

/* Read a password: the first line of a file, or typed at the terminal
 * with echo off (the way ssh and msmtp ask). */
static char *get_password(const char *file, const char *user)
{
	char line[SEND_PASS_MAX + 2];
	struct termios old, quiet;
	FILE *f;
	int tty = 0;

	if (file) {
		if ((f = fopen(file, "r")) == NULL)
			die(EX_NOINPUT, "password file %s", file);
	} else {
		if ((f = fopen("/dev/tty", "r+")) == NULL)
			diex(EX_USAGE, "--auth needs a terminal for the password, or --password-file");
		tty = tcgetattr(fileno(f), &old) == 0;
		fprintf(f, "Password for %s: ", user);
		fflush(f);
		if (tty) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			tcsetattr(fileno(f), TCSAFLUSH, &quiet);
		}
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	if (tty) {
		tcsetattr(fileno(f), TCSAFLUSH, &old);
		fputc('\n', f);
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0')
		diex(EX_USAGE, "empty password");
	char *p = xstrdup(line);
	explicit_bzero(line, sizeof line);
	return p;
}

/* The default envelope sender: user@host. */
static char *default_from(const struct opts *o)
{
	struct passwd *pw = getpwuid(getuid());
	char host[256] = "localhost";
	struct buf b = { 0 };

	if (o->helo)
		snprintf(host, sizeof host, "%s", o->helo);
	else
		gethostname(host, sizeof host);
	buf_printf(&b, "%s@%s", pw ? pw->pw_name : "nobody", host);
	return buf_take(&b);
}

static void load_file(const char *path, struct buf *out)
{
	char err[200];
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);

	if (fd < 0)
		die(EX_NOINPUT, "%s", path);
	if (read_all(fd, out, err, sizeof err) < 0)
		diex(EX_DATAERR, "%s: %s", path, err);
	if (fd != STDIN_FILENO)
		close(fd);
	buf_adds(out, "");
}

/* --body TEXT, --body @FILE, @- or no --body: standard input. */
static void load_text(const char *spec, struct buf *out)
{
	if (spec && spec[0] != '@')
		buf_adds(out, spec);
	else
		load_file(spec ? spec + 1 : "-", out);
}

static void compose(struct cmdline *cl, const char *from, struct message *m)
{
	struct compose c = { 0 };
	struct buf body = { 0 }, html = { 0 }, out = { 0 };
	char err[300];
	const char *at = strrchr(from, '@');

	if (cl->body || !cl->html)
		load_text(cl->body, &body);
	if (cl->html)
		load_file(cl->html, &html);
	c.from = from;
	c.name = cl->name;
	c.to = cl->rcpt;
	c.nto = cl->nrcpt;
	c.subject = cl->subject;
	c.body = body.p;
	c.bodylen = body.len;
	c.html = html.p;
	c.htmllen = html.len;
	c.attach = cl->attach;
	c.nattach = cl->nattach;
	c.headers = cl->headers;
	c.nheaders = cl->nheaders;
	c.now = time(NULL);
	c.domain = at && at[1] ? at + 1 : "localhost";
	if (getrandom(&c.rnd, sizeof c.rnd, 0) < 0)
		c.rnd = (unsigned long long)c.now ^ ((unsigned long long)getpid() << 32);
	if (compose_build(&c, &out, err, sizeof err) < 0)
		diex(EX_DATAERR, "%s", err);
	if (msg_from_bytes(out.p, out.len, 1, m, err, sizeof err) < 0)
		diex(EX_DATAERR, "composed message: %s", err);
	buf_free(&body);
	buf_free(&html);
	buf_free(&out);
}

/* The message from standard input, as it is (with -t: and its recipients). */
static void read_message(struct cmdline *cl, struct message *m)
{
	struct buf raw = { 0 };
	char err[300];

	if (read_all(STDIN_FILENO, &raw, err, sizeof err) < 0)
		diex(EX_DATAERR, "stdin: %s", err);
	if (msg_from_bytes(raw.p ? raw.p : "", raw.len, cl->ignore_dots, m, err, sizeof err) < 0)
		diex(EX_DATAERR, "stdin: %s", err);
	buf_free(&raw);
	if (cl->from_headers) {
		size_t before = cl->nrcpt;

		if (msg_header_rcpts(m, &cl->rcpt, &cl->nrcpt, err, sizeof err) < 0)
			diex(EX_DATAERR, "-t: %s", err);
		for (size_t i = before; i < cl->nrcpt; i++)
			if (!addr_ok(cl->rcpt[i]) || cl->rcpt[i][0] == '\0')
				diex(EX_DATAERR, "-t: bad address in the header: %s", cl->rcpt[i]);
	}
}

static void dry_run(const char *from, const struct message *m, struct rcpt *rv, size_t n)
{
	fprintf(stderr, "MAIL FROM:<%s>\n", from);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "RCPT TO:<%s>\n", rv[i].addr);
	fwrite(m->p, 1, m->len, stdout);
	fflush(stdout);
}

/* One line per recipient that did not make it (all of them with -v). */
static void report(const struct opts *o, const struct rcpt *rv, size_t n)
{
	static const char *const said[] = { "not tried", "accepted", "deferred", "failed" };

	for (size_t i = 0; i < n; i++) {
		const struct rcpt *r = &rv[i];
		char code[16] = "";

		if (r->state == RS_OK && !o->verbose)
			continue;
		if (r->state == RS_PENDING && o->quit_after != ST_NONE)
			continue;
		if (r->code > 0)
			snprintf(code, sizeof code, "%d ", r->code);
		warnx_("<%s>: %s%s%s: %s%s%s%s", r->addr, said[r->state], r->host[0] ? " by " : "",
		    r->host, code, r->enh, r->enh[0] ? " " : "", r->text);
	}
}

static SSL_CTX *client_ctx(const struct opts *o)
{
	char err[300];
	SSL_CTX *ctx;

	if (o->tls == TLSM_NONE)
		return NULL;
	if ((ctx = tls_client_ctx(o->cafile, o->insecure, err, sizeof err)) == NULL)
		diex(EX_UNAVAILABLE, "TLS: %s", err);
	return ctx;
}

/* Send m and report; the exit code. */
static int send_now(struct opts *o, const char *pwfile, const char *from,
    const struct message *m, struct rcpt *rv, size_t n)
{
	SSL_CTX *ctx;
	int ex;

	if (o->auth_user)
		o->password = get_password(pwfile, o->auth_user);
	ctx = client_ctx(o);
	deliver(o, ctx, from, m, rv, n);
	report(o, rv, n);
	/* with --quit-after, recipients not reached are no failure */
	for (size_t i = 0; i < n && o->quit_after != ST_NONE; i++)
		if (rv[i].state == RS_PENDING)
			rv[i].state = RS_OK;
	ex = rcpt_exit(rv, n);
	if (ctx)
		SSL_CTX_free(ctx);
	if (o->password) {
		explicit_bzero((char *)o->password, strlen(o->password));
		free((char *)o->password);
		o->password = NULL;
	}
	return ex;
}

/* --sign, --encrypt: the message becomes S/MIME; --pgp-sign,
 * --pgp-encrypt: PGP/MIME (secure.c). */
static void secure_message(struct secure *s, struct message *m)
{
	char err[300];

	if (!secure_wanted(s))
		return;
	if (getrandom(&s->rnd, sizeof s->rnd, 0) < 0)
		s->rnd = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
	if (secure_apply(s, m, err, sizeof err) < 0)
		diex(EX_DATAERR, "%s: %s", s->pgp_sign || s->npgp_enc ? "OpenPGP" : "S/MIME", err);
	secure_free(s);
}

static int send_mode(struct cmdline *cl)
{
	struct opts *o = &cl->o;
	struct message m = { 0 };
	struct rcpt *rv;
	char *from = o->from ? xstrdup(o->from) : default_from(o);
	int ex = 0;

	if (!addr_ok(from))
		diex(EX_USAGE, "bad sender address: %s", from);
	/* say so before waiting for a message on standard input */
	if (cl->nrcpt == 0 && !cl->from_headers && !o->dry_run &&
	    (o->quit_after == ST_NONE || o->quit_after >= ST_RCPT))
		diex(EX_USAGE, "no recipients");
	if (cl->compose)
		compose(cl, from, &m);
	else if (o->quit_after == ST_NONE || o->quit_after == ST_DATA || o->dry_run)
		read_message(cl, &m);
	else
		msg_from_bytes("", 0, 1, &m, NULL, 0);   /* stages before DATA need none */
	if (cl->nrcpt == 0 && (o->quit_after == ST_NONE || o->quit_after >= ST_RCPT))
		diex(EX_USAGE, "no recipients");
	if (cl->nrcpt > SEND_RCPT_MAX)
		diex(EX_USAGE, "too many recipients (at most %d)", SEND_RCPT_MAX);
	secure_message(&cl->sec, &m);
	rv = xcalloc(cl->nrcpt + 1, sizeof *rv);
	for (size_t i = 0; i < cl->nrcpt; i++) {
		rv[i].addr = cl->rcpt[i];
		rv[i].notify = cl->notify;
		rv[i].orcpt = i < cl->norcpt ? cl->orcpt[i] : NULL;
	}
	if (o->dry_run)
		dry_run(from, &m, rv, cl->nrcpt);
	else
		ex = send_now(o, cl->password_file, from, &m, rv, cl->nrcpt);
	free(rv);
	free(from);
	msg_free(&m);
	return ex;
}

static int queue_mode(struct cmdline *cl)
{
	SSL_CTX *ctx;
	int ex;

	if (cl->nrcpt > 0 || cl->compose || cl->from_headers)
		diex(EX_USAGE, "--queue takes no recipients or message options");
	if (cl->list)
		return queue_print(cl->queue, stdout);
	if (cl->o.auth_user)
		cl->o.password = get_password(cl->password_file, cl->o.auth_user);
	cl->q.dir = cl->queue;
	ctx = client_ctx(&cl->o);
	ex = queue_run(&cl->o, &cl->q, ctx);
	if (ctx)
		SSL_CTX_free(ctx);
	if (cl->o.password) {
		explicit_bzero((char *)cl->o.password, strlen(cl->o.password));
		free((char *)cl->o.password);
	}
	return ex;
}

int main(int argc, char **argv)
{
	struct cmdline cl = { 0 };
	char **smargv = NULL;
	int c, ex;

	cl.o.timeout = SEND_CMD_SECS;
	cl.q.max_age = SEND_MAX_AGE;
	if (sendmail_invoked(argv[0])) {
		argc = sendmail_argv(argc, argv, &smargv);
		argv = smargv;
	}
	while ((c = getopt_long(argc, argv, "s:f:vtio:hV", longopts, NULL)) != -1) {
		/* "--pgp-sign KEYID" as well as "--pgp-sign=KEYID": a word that
		 * is a key ID (hex) cannot be a recipient address */
		if (c == O_PGPSIGN && optarg == NULL && optind < argc && secure_is_keyid(argv[optind]))
			optarg = argv[optind++];
		option(&cl, c, optarg);
	}
	if (secure_conflict(&cl.sec))
		diex(EX_USAGE, "%s", secure_conflict(&cl.sec));
	for (int i = optind; i < argc; i++) {
		if (!addr_ok(argv[i]) || argv[i][0] == '\0')
			diex(EX_USAGE, "bad recipient address: %s", argv[i]);
		push(&cl.rcpt, &cl.nrcpt, argv[i]);
	}
	cl.nargv = cl.nrcpt;
	if (cl.o.server && cl.o.pipe_cmd)
		diex(EX_USAGE, "-s and --pipe exclude each other");
	if (cl.o.bdat && cl.o.lmtp)
		diex(EX_USAGE, "--bdat and --lmtp together are not supported");
	/* a server that hangs up must not kill us mid-write: we report it */
	signal(SIGPIPE, SIG_IGN);
	if (cl.list && !cl.queue)
		diex(EX_USAGE, "--list needs --queue DIR");
	ex = cl.queue ? queue_mode(&cl) : send_mode(&cl);
	for (size_t i = cl.nargv; i < cl.nrcpt; i++)
		free(cl.rcpt[i]);
	free(cl.rcpt);
	free(cl.attach);
	free(cl.headers);
	for (size_t i = 0; i < cl.norcpt; i++)
		free(cl.orcpt[i]);
	free(cl.orcpt);
	free(smargv);
	return ex;
}
