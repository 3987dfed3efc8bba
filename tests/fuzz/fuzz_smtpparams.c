/* fuzz_smtpparams — libFuzzer harness for smtpd's MAIL FROM and RCPT TO
 * parameters (smtpd/session.c mail_params, rcpt_params: RFC 1870 SIZE,
 * 6152 BODY, 6531 SMTPUTF8, 4954 AUTH, 3461 RET, ENVID, NOTIFY, ORCPT with
 * xtext), reached as cmd_mail and cmd_rcpt reach them: the path first
 * (smtpd/addr.c parse_path), then the rest of the line.
 *
 * The first input byte: bit 0 EHLO (else HELO), bits 1-3 pick the
 * --max-size (0 to 7 digits of 9s).  The rest is cut at the first LF: the
 * text after "MAIL FROM:", then (if MAIL was accepted) the text after
 * "RCPT TO:".  session.c's parsers are static, so it is included whole
 * (a fuzz-only trick) and the rest of smtpd except main.c is linked.
 * Asserted: the parameters are accepted only after EHLO; an accepted RET
 * is NONE, FULL or HDRS, an accepted ENVID decodes as xtext and fits, an
 * accepted NOTIFY has only the four bits (NEVER alone), an accepted ORCPT
 * passes dsn_orcpt_ok and fits; every reply written is one line "ddd "
 * with no control byte before its CRLF.
 * FUZZ_EXTRA: smtpd/addr.c smtpd/authres.c smtpd/data.c smtpd/defer.c smtpd/deliver.c smtpd/dsn.c smtpd/expand.c smtpd/handoff.c smtpd/log.c smtpd/policy.c smtpd/privsep.c */
#include <fcntl.h>
#include <stdint.h>

#include "../../smtpd/session.c"

const char *const progname = "fuzz_smtpparams";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

/* Every reply in the output buffer: "ddd " then printable text, CRLF. */
static void check_replies(struct conn *c)
{
	size_t i = 0;

	while (i < c->olen) {
		size_t start = i;

		CHECK(c->olen - i >= 6);
		for (int k = 0; k < 3; k++)
			CHECK(c->out[i + k] >= '0' && c->out[i + k] <= '9');
		CHECK(c->out[i + 3] == ' ');
		for (i += 4; i < c->olen && c->out[i] != '\r'; i++)
			CHECK(c->out[i] >= ' ');
		CHECK(i + 1 < c->olen && c->out[i + 1] == '\n');
		i += 2;
		CHECK(i - start <= SMTP_REPLY_MAX);
	}
	c->olen = 0;
}

static int valid_notify(int n)
{
	return n == 0 || n == DSN_NEVER ||
	    (n > 0 && (n & ~(DSN_SUCCESS | DSN_FAILURE | DSN_DELAY)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct session s;
	static struct config cfg;
	static int devnull = -1;
	char line[SMTP_CMD_MAX + 1], *p, *lf;
	size_t n;

	if (size < 1)
		return 0;
	if (devnull < 0 && (devnull = open("/dev/null", O_WRONLY)) < 0)
		abort();
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.hostname, sizeof cfg.hostname, "mx.example.org");
	cfg.max_size = 0;
	for (int k = 0; k < ((data[0] >> 1) & 7); k++)
		cfg.max_size = cfg.max_size * 10 + 9;
	memset(&s, 0, sizeof s);
	s.cfg = &cfg;
	s.privsep = -1;
	s.esmtp = data[0] & 1;
	conn_init(&s.conn, -1, devnull, CONN_SERVER);

	n = size - 1 < sizeof line - 1 ? size - 1 : sizeof line - 1;
	memcpy(line, data + 1, n);
	line[n] = '\0';
	lf = strchr(line, '\n');
	if (lf)
		*lf++ = '\0';

	p = line;
	if (parse_path(&p, s.from, sizeof s.from, 1, 1) == NULL) {
		int had_params = strspn(p, " ") != strlen(p);

		if (mail_params(&s, p) == 0) {
			CHECK(s.esmtp || !had_params);
			CHECK(s.ret >= DSN_RET_NONE && s.ret <= DSN_RET_HDRS);
			if (s.envid[0] != '\0') {
				char dec[DSN_ENVID_MAX + 1];

				CHECK(strlen(s.envid) < sizeof s.envid);
				CHECK(dsn_xtext_decode(s.envid, dec, sizeof dec) > 0);
			}
			if (lf) {
				struct rcpt r;

				memset(&r, 0, sizeof r);
				p = lf;
				if (parse_path(&p, r.addr, sizeof r.addr, 1, 0) == NULL &&
				    rcpt_params(&s, p, &r) == 0) {
					CHECK(valid_notify(r.notify));
					CHECK(strlen(r.orcpt) <= DSN_ORCPT_MAX);
					CHECK(r.orcpt[0] == '\0' || dsn_orcpt_ok(r.orcpt) == 0);
				}
			}
		}
	}
	check_replies(&s.conn);
	return 0;
}
