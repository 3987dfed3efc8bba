/* fuzz_smtpsession — libFuzzer harness for whole SMTP and LMTP sessions
 * (smtpd/session.c, included whole; smtpd/data.c, deliver.c and the rest
 * linked): the input is everything a client sends, read by smtpd's
 * command loop from the greeting to QUIT or the end of the input: HELO,
 * EHLO, LHLO, MAIL, RCPT with their parameters, DATA, BDAT, RSET, VRFY,
 * EXPN, HELP, NOOP, AUTH (PLAIN, LOGIN, CRAM-MD5 on a passwd-file with
 * alice, password "secret") and STARTTLS (refused: no TLS context),
 * pipelined as the client likes.
 *
 * The first input byte picks the mode: bit 0 LMTP (else SMTP), bit 1
 * --submission (MAIL needs AUTH first).  The rest is the client's bytes.
 * The client is 127.0.0.1, in --relay-from 127.0.0.0/8, so mail to
 * example.org goes to alice's Maildir (in-process delivery, lib/deliver)
 * and mail to any other domain to the queue (lib/queue; no runner is
 * started).  The Maildir and the queue are emptied before every input.
 * The session runs in-process as with privilege separation off (no root
 * half), reading the input from a memfd and writing to another, so each
 * input is bounded by its own length (EOF ends the session).  Fuzz-only
 * tricks: deliver_message and geteuid are wrapped at link time
 * (-Wl,--wrap): during a delivery geteuid() says "not root", so the
 * Maildir store runs in place as it does for an unprivileged smtpd (as
 * root without its root half smtpd would refuse it: no message file), and
 * the fuzzer keeps its ids for writing crash inputs; sleep() is a no-op
 * (a failed AUTH waits).
 *
 * Asserted: the output starts with a 220 greeting; every line of it is a
 * reply "ddd " or "ddd-" (a "-" line followed by the same code), with no
 * control byte (DEL included; 8-bit is left for SMTPUTF8 addresses),
 * CRLF-ended and within RFC 5321's 512 octets; the output is not larger
 * than the input could ask for.  A message is delivered only after a
 * complete DATA (the input read so far ends in CRLF "." CRLF) or BDAT
 * LAST (the input read so far ends with "BDAT n LAST" and n octets), to at
 * least one accepted recipient; nothing reaches the queue or the Maildir
 * except during such a delivery, and no temporary file is left.
 * FUZZ_EXTRA: smtpd/addr.c smtpd/authres.c smtpd/data.c smtpd/defer.c smtpd/deliver.c smtpd/dsn.c smtpd/expand.c smtpd/handoff.c smtpd/log.c smtpd/policy.c smtpd/privsep.c -Wl,--wrap=deliver_message -Wl,--wrap=geteuid */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned fuzz_sleep(unsigned secs)
{
	(void)secs;
	return 0;
}
#define sleep(s) fuzz_sleep(s)

#include "../../smtpd/session.c"
#include "home.h"

const char *const progname = "fuzz_smtpsession";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __real_deliver_message(struct session *s);
void __wrap_deliver_message(struct session *s);
uid_t __real_geteuid(void);
uid_t __wrap_geteuid(void);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

#define NOBODY 65534

static char dir[64];
/* The input of the session running, how many files its deliveries
 * stored, and the input descriptor (to see how much was read). */
static const uint8_t *cur_data;
static size_t cur_size;
static int cur_in = -1;
static long stored;
static int delivering;

static const char *const subdirs[] = {
	"Maildir/new", "Maildir/cur", "Maildir/tmp", "queue/msg", "queue/env", "queue/tmp"
};

/* Files in DIR/sub; with clear, remove them. */
static long files(const char *sub, int clear)
{
	char p[256], f[512];
	DIR *d;
	struct dirent *e;
	long n = 0;

	snprintf(p, sizeof p, "%s/%s", dir, sub);
	if ((d = opendir(p)) == NULL)
		return 0;       /* the queue is made at the first enqueue */
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		if (clear) {
			snprintf(f, sizeof f, "%s/%s", p, e->d_name);
			unlink(f);
		}
	}
	closedir(d);
	return n;
}

/* Messages committed: Maildir new/ and cur/, queue msg/ and env/. */
static long committed(void)
{
	long n = 0;

	for (int i = 0; i < 5; i++)
		if (i != 2)
			n += files(subdirs[i], 0);
	return n;
}

static void setup(struct config *cfg, struct cidr *net)
{
	char p[256], users[96], tmpl[128];
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();

	if (uid == 0)
		uid = gid = NOBODY;
	fuzz_home("fuzz_smtpsession", uid, gid, dir, sizeof dir, users, sizeof users, tmpl,
	    sizeof tmpl);
	cfg->users = xstrdup(users);
	cfg->mailbox = xstrdup(tmpl);
	snprintf(p, sizeof p, "%s/queue", dir);
	cfg->queue = xstrdup(p);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/Maildir", dir);
	mkdir(p, 0700);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, subdirs[i]);
		mkdir(p, 0700);
	}
	snprintf(cfg->hostname, sizeof cfg->hostname, "mx.example.org");
	cfg->domains[0] = "example.org";
	cfg->ndomains = 1;
	if (cidr_parse("127.0.0.0/8", net) < 0)
		abort();
	cfg->smtp_send = "";
	cfg->plaintext_auth = PLAIN_ALWAYS;
	cfg->max_size = 20000;  /* reachable within max_len: 552 paths too */
	cfg->max_rcpt = 8;
	cfg->max_hops = SMTPD_MAX_HOPS;
	cfg->cmd_timeout = cfg->data_timeout = 30;
	cfg->greylist_delay = SMTPD_GREYLIST_DELAY;
	cfg->worker_chan = -1;
}

/* Input octets the session has taken so far (read, not buffered). */
static size_t consumed(const struct session *s)
{
	off_t at = lseek(cur_in, 0, SEEK_CUR);

	CHECK(at >= 0 && (size_t)at >= s->conn.ilen - s->conn.ipos);
	return (size_t)at - (s->conn.ilen - s->conn.ipos);
}

static int is_eol(const uint8_t *p, size_t n, size_t *len)
{
	if (n >= 1 && p[0] == '\n')
		return *len = 1, 1;
	if (n >= 2 && p[0] == '\r' && p[1] == '\n')
		return *len = 2, 1;
	return 0;
}

/* Whether in[0..k) ends with "BDAT n LAST", its line end and exactly n
 * octets (a command after a chunk starts anywhere, not after a LF). */
static int ends_with_bdat_last(const uint8_t *in, size_t k)
{
	for (size_t l = 0; l < k; l++) {
		unsigned long long n = 0;
		size_t i = l, el;

		if (k - l < 12 || strncasecmp((const char *)in + l, "BDAT ", 5) != 0)
			continue;
		i += 5;
		if (i >= k || in[i] < '0' || in[i] > '9')
			continue;
		for (; i < k && in[i] >= '0' && in[i] <= '9'; i++)
			n = n > 1000000 ? n : n * 10 + (in[i] - '0');
		if (k - i < 5 || strncasecmp((const char *)in + i, " LAST", 5) != 0)
			continue;
		i += 5;
		if (!is_eol(in + i, k - i, &el))
			continue;
		i += el;
		if (k - i == n)
			return 1;
	}
	return 0;
}

void __wrap_deliver_message(struct session *s)
{
	size_t k = consumed(s);
	long before = committed();

	CHECK(s->nrcpt > 0 && (s->state & (S_RCPT | S_BDAT)));
	CHECK(k <= cur_size);
	if (s->state == S_BDAT)
		CHECK(ends_with_bdat_last(cur_data, k));
	else
		CHECK(k >= 3 && memcmp(cur_data + k - 3, ".\r\n", 3) == 0 &&
		    (k == 3 || cur_data[k - 4] == '\n'));
	delivering = 1;
	__real_deliver_message(s);
	delivering = 0;
	stored += committed() - before;
}

uid_t __wrap_geteuid(void)
{
	return delivering ? NOBODY : __real_geteuid();
}

static int is_code(const char *p)
{
	return p[0] >= '2' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9';
}

static void check_output(const char *o, size_t n)
{
	size_t i = 0;
	char cont[4] = "";

	CHECK(n >= 6 && strncmp(o, "220 ", 4) == 0);
	while (i < n) {
		const char *lf = memchr(o + i, '\n', n - i);
		size_t len;

		CHECK(lf != NULL);                      /* every line ends */
		len = (size_t)(lf - (o + i)) + 1;
		CHECK(len >= 6 && o[i + len - 2] == '\r');
		CHECK(len <= SMTP_REPLY_MAX);
		CHECK(is_code(o + i) && (o[i + 3] == ' ' || o[i + 3] == '-'));
		if (cont[0] != '\0')
			CHECK(memcmp(cont, o + i, 3) == 0);
		cont[0] = '\0';
		if (o[i + 3] == '-')
			memcpy(cont, o + i, 3);
		for (size_t j = i; j < i + len - 2; j++)
			CHECK((unsigned char)o[j] >= ' ' && o[j] != 0x7f);
		i += len;
	}
	CHECK(cont[0] == '\0');                 /* no reply left unfinished */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int in = -1, out = -1;
	static struct config cfg;
	static struct peer peer;
	struct session *s;
	struct stat st;
	size_t lines = 1;
	char *o;

	if (size < 1)
		return 0;
	if (in < 0) {
		setup(&cfg, &cfg.nets[0]);
		cfg.nnets = 1;
		if ((in = memfd_create("fuzz_smtp_in", 0)) < 0 || (out = memfd_create("fuzz_smtp_out", 0)) < 0)
			abort();
		snprintf(peer.addr, sizeof peer.addr, "127.0.0.1");
		snprintf(peer.name, sizeof peer.name, "localhost");
		peer.loopback = 1;
	}
	cfg.lmtp = data[0] & 1;
	cfg.submission = (data[0] >> 1) & 1;
	for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++)
		files(subdirs[i], 1);
	data++, size--;
	cur_data = data;
	cur_size = size;
	cur_in = in;
	stored = 0;
	if (ftruncate(in, 0) < 0 || ftruncate(out, 0) < 0 || pwrite(in, data, size, 0) != (ssize_t)size ||
	    lseek(in, 0, SEEK_SET) != 0 || lseek(out, 0, SEEK_SET) != 0)
		abort();

	/* smtpd_session without the split */
	s = xcalloc(1, sizeof *s);
	s->privsep = -1;
	s->cfg = &cfg;
	s->peer = peer;
	s->state = S_INIT;
	conn_init(&s->conn, in, out, CONN_SERVER);
	conn_set_timeout(&s->conn, cfg.cmd_timeout);
	reply(s, 220, "%s %s maillab smtpd", cfg.hostname, cfg.lmtp ? "LMTP" : "ESMTP");
	session_loop(s);
	conn_close(&s->conn);
	transaction_reset(s);
	buf_free(&s->msg);
	free(s);

	CHECK(committed() == stored);
	CHECK(files("Maildir/tmp", 0) == 0 && files("queue/tmp", 0) == 0);
	if (fstat(out, &st) < 0)
		abort();
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	/* EHLO's list is the longest answer to one line; after DATA, LMTP
	 * answers once per recipient, each of whom took a line */
	CHECK((size_t)st.st_size <= 1024 + lines * 2 * 1024);
	o = xmalloc((size_t)st.st_size + 1);
	if (pread(out, o, (size_t)st.st_size, 0) != st.st_size)
		abort();
	if (getenv("FUZZ_SHOW") != NULL)        /* replaying one input: what smtpd said */
		fprintf(stderr, "%.*s-- %ld stored\n", (int)st.st_size, o, stored);
	check_output(o, (size_t)st.st_size);
	free(o);
	return 0;
}
