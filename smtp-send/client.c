/* client.c — one SMTP or LMTP transaction (RFC 5321, RFC 2033).
 *
 * The session goes through the stages of --quit-after in order: connect
 * (greeting), ehlo, tls, auth, mail, rcpt, data.  With PIPELINING (RFC
 * 2920) MAIL, every RCPT and DATA go out in one write and the replies are
 * read back in order; otherwise each command waits for its reply.
 *
 * Every recipient ends with a state: RS_OK (the server took responsibility),
 * RS_TEMP (4xx, or the session failed: try again), RS_PERM (5xx).  A failure
 * of the whole session is copied to every recipient still pending. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/x509v3.h>

#include "conn.h"
#include "err.h"
#include "send.h"

/* A command line we build: RFC 5321 allows 512, but an AUTH PLAIN initial
 * response may be longer (RFC 4954 4: 12288 for a SASL line). */
#define SASL_CMD_MAX 12288

struct sess {
	const struct opts *o;
	struct peer *p;
	SSL_CTX *ctx;
	struct conn c;
	struct reply r;
	struct caps caps;
	struct rcpt *rv;
	size_t n;
	char   helo[256];
	int    no_quit;         /* mid-DATA (a QUIT would be message text), or the peer is gone */
};

/* Transcript maskers: show "AUTH PLAIN " but not what follows; during a
 * SASL exchange, hide every line we send. */
static size_t mask_auth(const char *line, size_t len, int incoming)
{
	const char *sp;

	if (incoming || len < 5 || strncasecmp(line, "AUTH ", 5) != 0)
		return len;
	sp = memchr(line + 5, ' ', len - 5);
	return sp ? (size_t)(sp - line) + 1 : len;
}

static size_t mask_out(const char *line, size_t len, int incoming)
{
	(void)line;
	return incoming ? len : 0;
}

/* Give every pending recipient the state st with this code and text. */
static void fail_all(struct sess *s, enum rstate st, int code, const char *enh,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void fail_all(struct sess *s, enum rstate st, int code, const char *enh,
    const char *fmt, ...)
{
	char text[SMTP_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < s->n; i++) {
		struct rcpt *r = &s->rv[i];

		if (r->state != RS_PENDING)
			continue;
		r->state = st;
		r->code = code;
		snprintf(r->enh, sizeof r->enh, "%s", enh);
		snprintf(r->text, sizeof r->text, "%s", text);
		snprintf(r->host, sizeof r->host, "%s", s->p->name);
	}
}

/* Record the current reply for one recipient. */
static void set_rcpt(struct sess *s, struct rcpt *r, enum rstate st)
{
	r->state = st;
	r->code = s->r.code;
	snprintf(r->enh, sizeof r->enh, "%s", s->r.enh);
	reply_flat(&s->r, r->text, sizeof r->text);
	snprintf(r->host, sizeof r->host, "%s", s->p->name);
}

/* Fail the pending recipients with the current reply (4xx temp, 5xx perm). */
static void fail_reply(struct sess *s)
{
	char t[SMTP_REPLY_MAX];

	reply_flat(&s->r, t, sizeof t);
	fail_all(s, s->r.code >= 500 ? RS_PERM : RS_TEMP, s->r.code, s->r.enh, "%s", t);
}

/* The transcript line for a reply line, as lib/conn prints its own. */
static void trace_in(const struct sess *s, const char *p, size_t n)
{
	FILE *f = s->c.log;

	if (f == NULL)
		return;
	fputs("S: ", f);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < ' ' && ch != '\t')
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('\n', f);
	fflush(f);
}

/* One reply line into buf (NUL-terminated, line end stripped).  Unlike
 * conn_getline, an over-long line is not skipped to its end: a server
 * that streams bytes without a line end must not keep us reading. */
static enum conn_rc reply_line(struct sess *s, char *buf, size_t cap, size_t *len)
{
	enum conn_rc rc = conn_getchunk(&s->c, buf, cap - 1, len);
	size_t n = *len;

	if (rc != CONN_OK)
		return rc;
	if (conn_last_eol(&s->c) == CONN_EOL_NONE)
		return s->c.eof ? CONN_EOF : CONN_TOOLONG;
	n -= conn_last_eol(&s->c) == CONN_EOL_CRLF ? 2 : 1;
	buf[n] = '\0';
	*len = n;
	trace_in(s, buf, n);
	return CONN_OK;
}

/* Read one whole reply; its code, or -1 after failing every pending
 * recipient (temporarily: the connection broke or the server talks
 * nonsense, which another try may not repeat).  A reply must be complete
 * within the timeout, however slowly its lines drip in. */
static int get_reply(struct sess *s)
{
	char line[SEND_REPLY_LINE_MAX];
	time_t start = time(NULL);
	const char *why;
	size_t len;
	enum conn_rc rc;
	enum reply_rc rr;

	reply_reset(&s->r);
	do {
		rc = reply_line(s, line, sizeof line, &len);
		if (rc == CONN_OK && time(NULL) - start > s->c.timeout)
			rc = CONN_TIMEOUT, snprintf(s->c.errbuf, sizeof s->c.errbuf, "reply too slow");
		if (rc == CONN_TOOLONG) {
			fail_all(s, RS_TEMP, 0, "4.5.0", "protocol error: reply line too long");
			s->no_quit = 1;
			return -1;
		}
		if (rc != CONN_OK) {
			fail_all(s, RS_TEMP, 0, "4.4.2", "connection lost: %s",
			    rc == CONN_EOF ? "closed by server" : s->c.errbuf);
			s->no_quit = 1;     /* nobody to say goodbye to */
			return -1;
		}
		rr = reply_feed(&s->r, line, len, &why);
		if (rr == REPLY_BAD) {
			fail_all(s, RS_TEMP, 0, "4.5.0", "protocol error: %s", why);
			return -1;
		}
	} while (rr == REPLY_MORE);
	return s->r.code;
}

/* Queue one command line (CRLF added; written at the next read). */
static int send_cmd(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int send_cmd(struct sess *s, const char *fmt, ...)
{
	char line[SASL_CMD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line - 2) {
		fail_all(s, RS_PERM, 0, "5.5.2", "command too long");
		return -1;
	}
	memcpy(line + n, "\r\n", 3);
	if (conn_write(&s->c, line, (size_t)n + 2) < 0) {
		fail_all(s, RS_TEMP, 0, "4.4.2", "connection lost: %s", s->c.errbuf);
		return -1;
	}
	return 0;
}

/* Send a command and read its reply: the code, or -1. */
#define command(s, ...) (send_cmd((s), __VA_ARGS__) < 0 ? -1 : get_reply(s))

static int ehlo(struct sess *s)
{
	int code = command(s, "%s %s", s->o->lmtp ? "LHLO" : "EHLO", s->helo);

	if (code < 0)
		return -1;
	if (code / 100 == 2) {
		caps_parse(&s->caps, &s->r);
		return 0;
	}
	/* RFC 5321 3.2: an old server answers 500/502; fall back to HELO */
	if (code >= 500 && !s->o->lmtp) {
		memset(&s->caps, 0, sizeof s->caps);
		if ((code = command(s, "HELO %s", s->helo)) < 0)
			return -1;
		if (code / 100 == 2)
			return 0;
	}
	fail_reply(s);
	return -1;
}

/* Start TLS.  A host name goes into SNI and the name check; an address
 * literal is checked against the certificate's IP addresses instead, and
 * is never sent as SNI (RFC 6066 3). */
static int tls_start(struct sess *s)
{
	const char *h = s->p->host;
	unsigned char a[sizeof(struct in6_addr)];
	X509_VERIFY_PARAM *vp;
	int r;

	if (h[0] == '\0')
		return conn_starttls(&s->c, s->ctx, NULL);
	if (inet_pton(AF_INET, h, a) != 1 && inet_pton(AF_INET6, h, a) != 1)
		return conn_starttls(&s->c, s->ctx, h);
	vp = X509_VERIFY_PARAM_new();
	X509_VERIFY_PARAM_set1(vp, SSL_CTX_get0_param(s->ctx));
	X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(s->ctx), h);
	r = conn_starttls(&s->c, s->ctx, NULL);
	X509_VERIFY_PARAM_set1(SSL_CTX_get0_param(s->ctx), vp);  /* the context is shared */
	X509_VERIFY_PARAM_free(vp);
	return r;
}

static int starttls(struct sess *s)
{
	int code;

	if (!s->caps.starttls) {
		if (s->o->tls == TLSM_STARTTLS)
			return 0;
		fail_all(s, RS_PERM, 0, "5.7.10", "server does not offer STARTTLS (--starttls=required)");
		return -1;
	}
	if ((code = command(s, "STARTTLS")) < 0)
		return -1;
	if (code != 220) {
		if (s->o->tls == TLSM_STARTTLS && code / 100 == 4) {
			conn_note(&s->c, "STARTTLS refused; going on without TLS");
			return 0;
		}
		fail_reply(s);
		return -1;
	}
	if (tls_start(s) < 0) {
		fail_all(s, RS_TEMP, 0, "4.7.5", "TLS with %s: %s", s->p->name, s->c.errbuf);
		return -1;
	}
	/* RFC 3207 4.2: forget everything learnt before TLS */
	return ehlo(s);
}

static int auth(struct sess *s)
{
	const struct opts *o = s->o;
	enum sasl_mech m = sasl_client_pick(s->caps.auth, o->auth_mech);
	struct sasl_client sc;
	struct buf b = { 0 };
	int code;

	if (m == SASL_M_NONE) {
		/* many servers offer AUTH only once TLS is on */
		fail_all(s, RS_PERM, 0, "5.7.8", "no usable AUTH mechanism (server offers: %s)%s",
		    s->caps.auth[0] ? s->caps.auth : "none",
		    s->caps.starttls && !conn_is_tls(&s->c) ? "; try --starttls" : "");
		return -1;
	}
	if (m != SASL_M_CRAM && !conn_is_tls(&s->c) && !s->p->local && !o->plaintext_auth) {
		fail_all(s, RS_PERM, 0, "5.7.11", "refusing to send a password in clear text to %s "
		    "(use --starttls or --tls, or --plaintext-auth)", s->p->name);
		return -1;
	}
	sasl_client_start(&sc, m, o->auth_user, o->password, &b);
	code = command(s, "AUTH %s%s%s", sasl_mech_name(m), b.len ? " " : "", b.p);
	conn_set_log(&s->c, s->c.log, mask_out);
	while (code == 334) {
		const char *ch = s->r.text.p ? s->r.text.p : "";

		if (sasl_client_step(&sc, ch, &b) < 0) {
			conn_set_log(&s->c, s->c.log, mask_auth);
			code = command(s, "*");     /* RFC 4954 4: cancel */
			conn_set_log(&s->c, s->c.log, mask_out);
			if (code >= 0)
				fail_all(s, RS_PERM, 0, "5.7.0", "unexpected SASL challenge from server");
			code = -1;
			break;
		}
		code = command(s, "%s", b.p);
	}
	conn_set_log(&s->c, s->c.log, mask_auth);
	explicit_bzero(b.p, b.len);
	buf_free(&b);
	if (code < 0)
		return -1;
	if (code != 235) {
		fail_reply(s);
		return -1;
	}
	return 0;
}

/* MAIL FROM parameters: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531). */
static int mail_params(struct sess *s, const char *from, const struct message *m,
    char *params, size_t cap)
{
	int utf8 = m->utf8hdr || has_8bit(from, strlen(from));

	for (size_t i = 0; i < s->n; i++)
		utf8 |= has_8bit(s->rv[i].addr, strlen(s->rv[i].addr));
	params[0] = '\0';
	if (utf8 && !s->caps.smtputf8) {
		fail_all(s, RS_PERM, 0, "5.6.7", "the message needs SMTPUTF8, which %s does not offer",
		    s->p->name);
		return -1;
	}
	if (s->caps.has_size && s->caps.size > 0 && m->len > s->caps.size) {
		for (size_t i = 0; i < s->n; i++)
			s->rv[i].dataerr = s->rv[i].state == RS_PENDING;
		fail_all(s, RS_PERM, 0, "5.3.4", "message of %zu bytes exceeds the server's SIZE %llu",
		    m->len, s->caps.size);
		return -1;
	}
	if (s->caps.has_size)
		snprintf(params + strlen(params), cap - strlen(params), " SIZE=%zu", m->len);
	if (m->eightbit && s->caps.eightbitmime)
		snprintf(params + strlen(params), cap - strlen(params), " BODY=8BITMIME");
	else if (m->eightbit)
		conn_note(&s->c, "8-bit message to a server without 8BITMIME; sent as it is");
	if (utf8)
		snprintf(params + strlen(params), cap - strlen(params), " SMTPUTF8");
	if (s->caps.dsn && s->o->ret != DSN_RET_NONE)
		snprintf(params + strlen(params), cap - strlen(params), " RET=%s",
		    dsn_ret_name(s->o->ret));
	if (s->caps.dsn && s->o->envid != NULL)
		snprintf(params + strlen(params), cap - strlen(params), " ENVID=%s", s->o->envid);
	return 0;
}

/* RCPT parameters NOTIFY and ORCPT, for a server that offers DSN; one
 * that does not gets none, and the recipient is marked so that the
 * queue runner reports "relayed" for NOTIFY=SUCCESS (RFC 3461 5.2.2). */
static void rcpt_params(const struct sess *s, struct rcpt *r, char *out, size_t cap)
{
	char nb[64];

	out[0] = '\0';
	r->nodsn = !s->caps.dsn;
	if (!s->caps.dsn)
		return;
	dsn_notify_format(r->notify, nb, sizeof nb);
	snprintf(out, cap, "%s%s%s%s", nb[0] ? " NOTIFY=" : "", nb,
	    r->orcpt ? " ORCPT=" : "", r->orcpt ? r->orcpt : "");
}

/* Reply to one RCPT: accepted recipients wait for DATA; others are final. */
static void rcpt_result(struct sess *s, struct rcpt *r, int *accepted)
{
	if (s->r.code / 100 == 2) {
		*accepted = 1;
		return;
	}
	set_rcpt(s, r, s->r.code >= 500 ? RS_PERM : RS_TEMP);
}

/* Read back, in order (RFC 2920 3.1), the replies to a pipelined MAIL,
 * the RCPTs of todo[0..nt) and a DATA if data_sent.  0, or -1. */
static int pipelined_replies(struct sess *s, const size_t *todo, size_t nt, int *acc,
    int data_sent)
{
	int code = get_reply(s);

	if (code < 0)
		return -1;
	if (code / 100 != 2) {
		fail_reply(s);
		for (size_t k = 0; k < nt; k++)         /* still read what is owed */
			if (get_reply(s) < 0)
				return -1;
		if (data_sent && get_reply(s) == 354) {
			conn_write(&s->c, ".\r\n", 3);
			get_reply(s);
		}
		return -1;
	}
	for (size_t k = 0; k < nt; k++) {
		if (get_reply(s) < 0)
			return -1;
		rcpt_result(s, &s->rv[todo[k]], &acc[todo[k]]);
	}
	return 0;
}

/* MAIL and the RCPTs of todo[0..nt), one at a time or pipelined with DATA
 * (*data_sent then set).  0, or -1. */
static int mail_rcpt(struct sess *s, const char *from, const char *params,
    const size_t *todo, size_t nt, int *acc, int *data_sent)
{
	int pipe = s->caps.pipelining, code;
	enum stage q = s->o->quit_after;

	if (send_cmd(s, "MAIL FROM:<%s>%s", from, params) < 0)
		return -1;
	if (!pipe || q == ST_MAIL) {
		if ((code = get_reply(s)) < 0)
			return -1;
		if (code / 100 != 2) {
			fail_reply(s);
			return -1;
		}
		if (q == ST_MAIL)
			return 0;
	}
	for (size_t k = 0; k < nt; k++) {
		char rp[DSN_ORCPT_MAX + 64];

		rcpt_params(s, &s->rv[todo[k]], rp, sizeof rp);
		if (send_cmd(s, "RCPT TO:<%s>%s", s->rv[todo[k]].addr, rp) < 0)
			return -1;
		if (pipe)
			continue;
		if (get_reply(s) < 0)
			return -1;
		rcpt_result(s, &s->rv[todo[k]], &acc[todo[k]]);
	}
	if (!pipe)
		return 0;
	if (q != ST_RCPT && !(s->o->bdat && s->caps.chunking)) {
		if (send_cmd(s, "DATA") < 0)
			return -1;
		*data_sent = 1;
	}
	return pipelined_replies(s, todo, nt, acc, *data_sent);
}

/* The envelope for the pending recipients.  Return the number accepted
 * (acc[i] set for each), or -1. */
static int envelope(struct sess *s, const char *from, const char *params, int *acc,
    int *data_sent)
{
	size_t *todo = xcalloc(s->n + 1, sizeof *todo), nt = 0;
	int nacc = 0, r;

	*data_sent = 0;
	for (size_t i = 0; i < s->n; i++)
		if (s->rv[i].state == RS_PENDING)
			todo[nt++] = i;
	r = mail_rcpt(s, from, params, todo, nt, acc, data_sent);
	free(todo);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < s->n; i++)
		nacc += acc[i];
	return nacc;
}

/* Whether a refusal of the message text is about the data itself (exit 65):
 * RFC 3463 5.6.x (media) and 5.3.4 (too big), or the 552 of RFC 5321. */
static int is_dataerr(const struct reply *r)
{
	return r->code >= 500 && (strncmp(r->enh, "5.6.", 4) == 0 ||
	    strcmp(r->enh, "5.3.4") == 0 || r->code == 552);
}

/* After the message: one reply for SMTP, one per accepted recipient for
 * LMTP (RFC 2033 4.2), in RCPT order. */
static int final_replies(struct sess *s, const int *acc)
{
	int first = 1;

	for (size_t i = 0; i < s->n; i++) {
		struct rcpt *r = &s->rv[i];

		if (!acc[i] || r->state != RS_PENDING)
			continue;
		if ((s->o->lmtp || first) && get_reply(s) < 0)
			return -1;
		first = 0;
		set_rcpt(s, r, s->r.code / 100 == 2 ? RS_OK : s->r.code >= 500 ? RS_PERM : RS_TEMP);
		r->dataerr = is_dataerr(&s->r);
	}
	return 0;
}

static int send_data(struct sess *s, const struct message *m, const int *acc, int data_sent)
{
	struct buf b = { 0 };
	int code, r;

	if (!data_sent && send_cmd(s, "DATA") < 0)
		return -1;
	if ((code = get_reply(s)) < 0)
		return -1;
	if (code != 354) {
		fail_reply(s);
		return -1;
	}
	if (s->o->quit_after == ST_DATA) {
		/* hang up instead of sending the text: the server must drop it */
		conn_note(&s->c, "quit after DATA: closing without sending the message");
		s->no_quit = 1;
		return 1;
	}
	msg_stuff(m, &b);
	r = conn_write(&s->c, b.p, b.len);
	buf_free(&b);
	if (r < 0) {
		fail_all(s, RS_TEMP, 0, "4.4.2", "connection lost: %s", s->c.errbuf);
		return -1;
	}
	conn_set_timeout(&s->c, SEND_DATA_END_SECS);
	r = final_replies(s, acc);
	conn_set_timeout(&s->c, s->o->timeout);
	return r;
}

/* CHUNKING (RFC 3030): the message as it is, no dot-stuffing, in chunks;
 * pipelined when the server allows it. */
static int send_bdat(struct sess *s, const struct message *m, const int *acc)
{
	size_t off = 0, nchunks = 0;
	int pipe = s->caps.pipelining, r;

	do {
		size_t k = m->len - off > SEND_BDAT_CHUNK ? SEND_BDAT_CHUNK : m->len - off;
		int last = off + k == m->len;

		if (send_cmd(s, "BDAT %zu%s", k, last ? " LAST" : "") < 0)
			return -1;
		if (conn_write(&s->c, m->p + off, k) < 0) {
			fail_all(s, RS_TEMP, 0, "4.4.2", "connection lost: %s", s->c.errbuf);
			return -1;
		}
		off += k;
		nchunks++;
		if (last)
			break;
		if (!pipe) {
			if (get_reply(s) < 0)
				return -1;
			if (s->r.code / 100 != 2) {
				fail_reply(s);
				return -1;
			}
			nchunks--;
		}
	} while (off < m->len);
	/* replies to the chunks before LAST */
	for (; nchunks > 1; nchunks--) {
		if (get_reply(s) < 0)
			return -1;
		if (s->r.code / 100 != 2) {
			fail_reply(s);
			return -1;
		}
	}
	conn_set_timeout(&s->c, SEND_DATA_END_SECS);
	r = final_replies(s, acc);
	conn_set_timeout(&s->c, s->o->timeout);
	return r;
}

static void quit(struct sess *s)
{
	if (command(s, "QUIT") < 0)
		return;
}

/* The EHLO argument (RFC 5321 4.1.4): --helo, the host name if it is a
 * FQDN, else the address literal of our end of the connection. */
static void helo_name(const struct opts *o, const struct peer *p, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char a[INET6_ADDRSTRLEN];

	if (o->helo) {
		snprintf(out, cap, "%s", o->helo);
		return;
	}
	if (gethostname(out, cap) == 0 && strchr(out, '.') != NULL)
		return;
	snprintf(out, cap, "localhost");
	if (p->child > 0 || getsockname(p->rfd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a))
		snprintf(out, cap, "[%s]", a);
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof a))
		snprintf(out, cap, "[IPv6:%s]", a);
}

/* Stages up to AUTH: greeting, EHLO, TLS, AUTH.  0 to go on, 1 when
 * --quit-after stopped it, -1 on failure. */
static int opening(struct sess *s)
{
	const struct opts *o = s->o;
	int code;

	if (o->tls == TLSM_IMPLICIT &&
	    tls_start(s) < 0) {
		fail_all(s, RS_TEMP, 0, "4.7.5", "TLS with %s: %s", s->p->name, s->c.errbuf);
		return -1;
	}
	if ((code = get_reply(s)) < 0)
		return -1;
	if (code != 220) {
		fail_reply(s);
		return -1;
	}
	if (o->quit_after == ST_CONNECT)
		return 1;
	if (ehlo(s) < 0)
		return -1;
	if (o->quit_after == ST_EHLO)
		return 1;
	if ((o->tls == TLSM_STARTTLS || o->tls == TLSM_STARTTLS_REQ) && starttls(s) < 0)
		return -1;
	if (o->quit_after == ST_TLS)
		return 1;
	if (o->auth_user && auth(s) < 0)
		return -1;
	return o->quit_after == ST_AUTH;
}

static enum sess_rc transaction(struct sess *s, const char *from, const struct message *m)
{
	char params[128 + DSN_ENVID_MAX * 3];
	int *acc = xcalloc(s->n + 1, sizeof *acc), data_sent, nacc, rc = -1;
	struct message down = { 0 };

	if (m->eightbit && !s->caps.eightbitmime && msg_downgrade(m, &down) == 0) {
		conn_note(&s->c, "8-bit text to a server without 8BITMIME; sent as quoted-printable");
		m = &down;
	}
	if (mail_params(s, from, m, params, sizeof params) < 0)
		goto out;
	nacc = envelope(s, from, params, acc, &data_sent);
	if (nacc < 0)
		goto out;
	if (s->o->quit_after == ST_MAIL || s->o->quit_after == ST_RCPT) {
		rc = 1;
		goto out;
	}
	if (nacc == 0) {
		/* RFC 2920 3.1: a pipelined DATA after no valid recipient */
		if (data_sent && get_reply(s) == 354) {
			conn_write(&s->c, ".\r\n", 3);
			get_reply(s);
		}
		rc = 0;
		goto out;
	}
	if (s->o->bdat && s->caps.chunking)
		rc = send_bdat(s, m, acc);
	else
		rc = send_data(s, m, acc, data_sent);
out:
	free(acc);
	msg_free(&down);
	return rc;
}

static size_t count_ok(const struct rcpt *rv, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += rv[i].state == RS_OK;
	return k;
}

/* RFC 5321 4.5.3.1.10: a server may take fewer recipients per message
 * ("452 4.5.3 too many recipients"); those go in the next transaction of
 * the same session.  Make them pending again; how many. */
static size_t too_many(struct sess *s)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n; i++) {
		struct rcpt *r = &s->rv[i];

		if (r->state == RS_TEMP && r->code == 452 && strcmp(r->host, s->p->name) == 0 &&
		    (strcmp(r->enh, "4.5.3") == 0 || strcasestr(r->text, "too many recipients"))) {
			r->state = RS_PENDING;
			k++;
		}
	}
	return k;
}

enum sess_rc smtp_session(const struct opts *o, struct peer *p, SSL_CTX *ctx,
    const char *from, const struct message *m, struct rcpt *rv, size_t n)
{
	struct sess s = { .o = o, .p = p, .ctx = ctx, .rv = rv, .n = n };
	int r, answered = 0;
	enum sess_rc ret;

	helo_name(o, p, s.helo, sizeof s.helo);
	conn_init(&s.c, p->rfd, p->wfd, CONN_CLIENT);
	conn_set_timeout(&s.c, o->timeout);
	if (o->verbose)
		conn_set_log(&s.c, stderr, mask_auth);
	conn_note(&s.c, "connected to %s", p->name);
	r = opening(&s);
	while (r == 0) {
		size_t ok = count_ok(rv, n);

		r = transaction(&s, from, m);
		if (r != 0 || count_ok(rv, n) == ok || too_many(&s) == 0)
			break;
	}
	if (!s.no_quit && !s.c.eof)
		quit(&s);
	conn_close(&s.c);
	reply_free(&s.r);
	for (size_t i = 0; i < n; i++)
		answered |= rv[i].state != RS_PENDING && rv[i].code != 0 &&
		    strcmp(rv[i].host, p->name) == 0;
	if (r == 1)
		ret = SESS_QUIT_AFTER;
	else
		ret = answered ? SESS_DONE : SESS_FAIL;
	return ret;
}
