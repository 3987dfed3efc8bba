/* fuzz_privsep — libFuzzer harness for the root helper of pop3d's and
 * imapd's privilege separation (lib/privsep.c, included whole: helper_run,
 * take, bad_request, verify, new_challenge and post_login are static).
 * The helper reads requests from the login process, which an attacker who
 * took it over controls byte for byte; this harness is that login process.
 *
 * Per input: a SOCK_SEQPACKET pair as privsep_start makes, a "login
 * process" that is a child exiting at once (helper_run kills and reaps
 * it), the requests written on the other end first (non-blocking, at most
 * REQ_MAX, fewer if the socket is full), then helper_run runs to the end,
 * then its replies are read.  The input is either
 *   first byte odd: raw, the rest cut into sizeof(struct privsep_msg)
 *     chunks sent as they are (bit 1: a short last chunk zero-padded);
 *     bits 3-4 the number of descriptors sent with a chunk whose type
 *     says START;
 *   first byte even: records, each
 *     op:    bits 0-2 type (0, 6, 7 none), bit 3 wrong magic, bits 4-5
 *            digest: from the input / the right CRAM-MD5 digest for the
 *            helper's challenge / the right APOP digest / the CRAM one
 *            in upper case; bit 6 a size byte follows (0: an empty
 *            record, else sizeof + the byte as signed), bit 7 a junk
 *            byte after the NUL of one string field
 *     flags: bits 0-1 tls, bits 2-3 nfds, bits 4-5 descriptors sent (a
 *            pipe's ends, a third: /dev/null), bit 6 junk after
 *            nstate, bit 7 junk after npending
 *     nstate, npending: 16 bits each, little-endian
 *     user, secret, digest: NUL-ended (a string as long as its field
 *            fills it with no NUL)
 * Fuzz-only tricks, all here: RAND_bytes and time give fixed values (the
 * harness knows the challenge the helper makes, so it can answer it
 * right), sleep and server_become are no-ops (the fuzzer runs as root;
 * switching ids would change its own), the cfg's post hook is the
 * harness's.
 *
 * Asserted, against the harness's own reading of privsep.h's contract (a
 * model of the session, not bad_request): a request the contract forbids
 * is refused (the session ends, one "no" for it, nothing after it read:
 * no reply to a later request, no post; the kernel's ECONNRESET, when it
 * comes, only after requests were left unread (it did not come for one
 * left unread with three descriptors: not asserted both ways)); one it allows
 * is not; an empty record is EOF (with three descriptors: refused); a yes only
 * for alice's password, the right APOP digest, or the right CRAM-MD5
 * digest for an outstanding challenge, before any other yes and while
 * fewer than PRIVSEP_FAILS_MAX noes were given, and then always; the post
 * hook runs exactly when a START for the accepted user follows, once,
 * with that user, became, the START's state and pending bytes, and a
 * descriptor that is open; every reply is whole;
 * no descriptor is left open or closed that was not ours. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <dirent.h>

#define FUZZ_RAND 12345u
#define FUZZ_TIME 1700000000
#define FUZZ_HOST "fuzz.example"
#define FUZZ_STAMP "<1.1700000000@fuzz.example>"

static unsigned fuzz_sleep(unsigned secs)
{
	(void)secs;
	return 0;
}

static int fuzz_rand_bytes(unsigned char *b, int n)
{
	unsigned long long r = FUZZ_RAND;

	memset(b, 0, (size_t)n);
	memcpy(b, &r, (size_t)n < sizeof r ? (size_t)n : sizeof r);
	return 1;
}

#define sleep(s) fuzz_sleep(s)
#define RAND_bytes(b, n) fuzz_rand_bytes(b, n)
#define time(t) ((void)(t), (time_t)FUZZ_TIME)
#define server_become(u, g) fuzz_become(u, g)
int fuzz_become(uid_t uid, gid_t gid);

#include "../../lib/privsep.c"
#include "home.h"

#undef server_become
#undef time
int fuzz_become(uid_t uid, gid_t gid)
{
	(void)uid;
	(void)gid;
	return 0;
}

const char *const progname = "fuzz_privsep";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

#define REQ_MAX  8
#define POST_RET 42

static char dir[64], users[96], tmpl[128];
static char chal[PRIVSEP_TEXT_MAX], cram_hex[33], apop_hex[33];

struct req {
	struct privsep_msg m;   /* as sent, zero beyond len */
	unsigned char over[128];        /* a longer record's bytes past m (zero) */
	size_t len;             /* bytes sent, at most sizeof m + 127 */
	int nfds;               /* descriptors sent */
};

struct post_seen {
	int runs, became, fd_open;
	char user[sizeof ((struct user *)0)->name];
	size_t nstate, npending;
	unsigned char state[PRIVSEP_STATE_MAX];
	unsigned char pending[CONN_BUFSIZE];
};

static int post_hook(const struct privsep_handoff *hd, const struct user *u, int became, void *arg)
{
	struct post_seen *p = arg;

	p->runs++;
	p->became = became;
	snprintf(p->user, sizeof p->user, "%s", u->name);
	p->fd_open = fcntl(hd->rfd, F_GETFD) >= 0 && fcntl(hd->wfd, F_GETFD) >= 0;
	p->nstate = hd->nstate;
	p->npending = hd->npending;
	CHECK(hd->nstate <= sizeof p->state && hd->npending <= sizeof p->pending);
	memcpy(p->state, hd->state, hd->nstate);
	memcpy(p->pending, hd->pending, hd->npending);
	return POST_RET;
}

static void hex(const unsigned char *d, char *out)
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void setup(void)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	fuzz_home("fuzz_privsep", (unsigned)getuid(), (unsigned)getgid(), dir, sizeof dir, users,
	    sizeof users, tmpl, sizeof tmpl);
	/* The challenge as privsep.h describes it, with the fixed randomness. */
	snprintf(chal, sizeof chal, "<%u.%lld@%s>", FUZZ_RAND, (long long)FUZZ_TIME, FUZZ_HOST);
	CHECK(HMAC(EVP_md5(), "secret", 6, (const unsigned char *)chal, strlen(chal), d, &n) && n == 16);
	hex(d, cram_hex);
	CHECK(ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) &&
	    EVP_DigestUpdate(ctx, FUZZ_STAMP, strlen(FUZZ_STAMP)) && EVP_DigestUpdate(ctx, "secret", 6) &&
	    EVP_DigestFinal_ex(ctx, d, &n) && n == 16);
	EVP_MD_CTX_free(ctx);
	hex(d, apop_hex);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---------- the input ---------- */

static size_t take_str(const uint8_t **p, const uint8_t *end, char *f, size_t cap)
{
	size_t n = 0;

	while (*p < end && **p != 0) {
		if (n < cap)
			f[n++] = (char)**p;
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	return n;
}

static int decode_records(const uint8_t *p, const uint8_t *end, struct req *r)
{
	int n = 0;

	while (p + 6 <= end && n < REQ_MAX) {
		struct req *q = &r[n++];
		struct privsep_msg *m = &q->m;
		uint8_t op = p[0], fl = p[1];
		size_t nst = p[2] | (size_t)p[3] << 8, npd = p[4] | (size_t)p[5] << 8, ulen;
		int dig = (op >> 4) & 3;

		p += 6;
		memset(q, 0, sizeof *q);
		q->len = sizeof *m;
		if ((op & 0x40) && p < end) {
			int8_t s = (int8_t)*p++;

			q->len = s == 0 ? 0 : (size_t)((ssize_t)sizeof *m + s);
		}
		m->magic = (op & 8) ? PRIVSEP_MAGIC ^ 1 : PRIVSEP_MAGIC;
		m->type = op & 7;
		m->tls = fl & 3;
		m->nfds = (fl >> 2) & 3;
		q->nfds = (fl >> 4) & 3;
		m->nstate = (uint32_t)nst;
		m->npending = (uint32_t)npd;
		ulen = take_str(&p, end, m->user, sizeof m->user);
		take_str(&p, end, m->secret, sizeof m->secret);
		if (dig == 0)
			take_str(&p, end, m->digest, sizeof m->digest);
		else
			snprintf(m->digest, sizeof m->digest, "%s", dig == 2 ? apop_hex : cram_hex);
		if (dig == 3)
			for (char *c = m->digest; *c; c++)
				if (*c >= 'a' && *c <= 'f')
					*c = (char)(*c - 'a' + 'A');
		if ((op & 0x80) && ulen + 1 < sizeof m->user)
			m->user[ulen + 1] = 'j';
		memset(m->state, 'S', nst < sizeof m->state ? nst : sizeof m->state);
		memset(m->pending, 'P', npd < sizeof m->pending ? npd : sizeof m->pending);
		if (fl & 0x40)
			m->state[sizeof m->state - 1] = 'j';
		if (fl & 0x80)
			m->pending[sizeof m->pending - 1] = 'j';
	}
	return n;
}

static int decode_raw(uint8_t first, const uint8_t *p, const uint8_t *end, struct req *r)
{
	int n = 0;

	while (p < end && n < REQ_MAX) {
		struct req *q = &r[n++];
		size_t k = (size_t)(end - p) < sizeof q->m ? (size_t)(end - p) : sizeof q->m;

		memset(q, 0, sizeof *q);
		memcpy(&q->m, p, k);
		q->len = (first & 2) ? sizeof q->m : k;
		p += k;
		if (q->len >= 8 && q->m.type == PRIVSEP_START)
			q->nfds = (first >> 3) & 3;
	}
	return n;
}

/* ---------- the harness's model of the contract ---------- */

enum verdict { ALLOWED, REFUSED, EITHER };

struct model {
	int authed, chal_out, fails;
};

static int str_field(const char *f, size_t cap)
{
	const char *nul = memchr(f, '\0', cap);

	if (nul == NULL)
		return 0;
	while (nul < f + cap)
		if (*nul++ != '\0')
			return 0;
	return 1;
}

static int all_zero(const unsigned char *b, size_t n)
{
	while (n > 0)
		if (b[--n] != 0)
			return 0;
	return 1;
}

static int lower_hex32(const char *s)
{
	if (strlen(s) != 32)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* What privsep.h says of request q given the session so far. */
static enum verdict judge(const struct req *q, const struct model *st)
{
	const struct privsep_msg *m = &q->m;
	enum verdict name = ALLOWED;

	if (q->len != sizeof *m || q->nfds > 2 || m->magic != PRIVSEP_MAGIC ||
	    m->type < PRIVSEP_PASSWORD || m->type > PRIVSEP_START)
		return REFUSED;
	if (!str_field(m->user, sizeof m->user) || !str_field(m->secret, sizeof m->secret) ||
	    !str_field(m->digest, sizeof m->digest))
		return REFUSED;
	if (m->type == PRIVSEP_CHALLENGE) {
		if (m->user[0] != '\0')
			return REFUSED;
	} else if (m->user[0] == '\0') {
		return REFUSED;
	} else if (strcmp(m->user, "alice") != 0) {
		name = EITHER;          /* a name auth_name_ok may refuse */
	}
	if (m->type != PRIVSEP_PASSWORD && m->secret[0] != '\0')
		return REFUSED;
	if (m->type == PRIVSEP_APOP || m->type == PRIVSEP_CRAM) {
		if (!lower_hex32(m->digest))
			return REFUSED;
	} else if (m->digest[0] != '\0') {
		return REFUSED;
	}
	if (m->type != PRIVSEP_START) {
		if (m->tls || m->nfds || m->nstate || m->npending || q->nfds ||
		    !all_zero(m->state, sizeof m->state) || !all_zero(m->pending, sizeof m->pending))
			return REFUSED;
		return st->authed ? REFUSED : name;
	}
	if (!st->authed || strcmp(m->user, "alice") != 0)
		return REFUSED;
	if (m->tls > 1 || m->nfds < 1 || m->nfds > 2 || (int)m->nfds != q->nfds ||
	    m->nstate > sizeof m->state || m->npending > sizeof m->pending ||
	    !all_zero(m->state + m->nstate, sizeof m->state - m->nstate) ||
	    !all_zero(m->pending + m->npending, sizeof m->pending - m->npending))
		return REFUSED;
	return ALLOWED;
}

/* The answer an allowed credential request must get. */
static int must_say_yes(const struct privsep_msg *m, const struct model *st)
{
	if (st->fails >= PRIVSEP_FAILS_MAX || strcmp(m->user, "alice") != 0)
		return 0;
	if (m->type == PRIVSEP_PASSWORD)
		return strcmp(m->secret, "secret") == 0;
	if (m->type == PRIVSEP_APOP)
		return strcmp(m->digest, apop_hex) == 0;
	return st->chal_out && strcmp(m->digest, cram_hex) == 0;
}

/* ---------- one session ---------- */

static int send_req(int fd, const struct req *q)
{
	int fds[3] = { -1, -1, -1 }, pfd[2];
	char cbuf[CMSG_SPACE(sizeof fds)];
	struct iovec iov = { (void *)&q->m, q->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (q->nfds > 0) {
		CHECK(pipe(pfd) == 0);
		fds[0] = pfd[0], fds[1] = pfd[1];
		CHECK((fds[2] = open("/dev/null", O_RDWR)) >= 0);
		memset(cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)q->nfds * sizeof(int));
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)q->nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)q->nfds * sizeof(int));
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (n < 0) {
		CHECK(errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS);
		return 0;
	}
	CHECK((size_t)n == q->len);
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct req r[REQ_MAX];
	static struct post_seen post;
	static struct privsep_reply rep[REQ_MAX + 1];
	struct privsep_cfg cfg = { 0 };
	struct helper h;
	struct model st = { 0 };
	int sv[2], nreq, sent = 0, nrep = 0, status, fds_before, i, reset = 0;
	ssize_t n;

	if (dir[0] == '\0')
		setup();
	if (size < 1)
		return 0;
	nreq = (data[0] & 1) ? decode_raw(data[0], data + 1, data + size, r) :
	    decode_records(data + 1, data + size, r);
	fds_before = count_fds();
	memset(&post, 0, sizeof post);
	cfg.users = users;
	cfg.hostname = FUZZ_HOST;
	cfg.peer = "fuzz";
	cfg.fail_delay = 1;
	cfg.post = post_hook;
	cfg.arg = &post;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	for (sent = 0; sent < nreq && send_req(sv[1], &r[sent]); sent++)
		;
	shutdown(sv[1], SHUT_WR);       /* then EOF: the login process is done */
	memset(&h, 0, sizeof h);
	h.cfg = &cfg;
	h.fd = sv[0];
	snprintf(h.stamp, sizeof h.stamp, "%s", FUZZ_STAMP);
	CHECK((h.child = fork()) >= 0);
	if (h.child == 0)
		_exit(0);
	status = helper_run(&h);
	/* The helper's end is closed now; if requests were left unread in it,
	 * the kernel says so (ECONNRESET, once) before the replies. */
	while (nrep <= REQ_MAX) {
		n = recv(sv[1], &rep[nrep], sizeof rep[nrep], MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && errno == ECONNRESET && !reset) {
			reset = 1;
			continue;
		}
		if (n <= 0)
			break;
		CHECK(n == (ssize_t)sizeof rep[nrep]);
		CHECK(rep[nrep].magic == PRIVSEP_MAGIC && rep[nrep].ok <= 1);
		CHECK(memchr(rep[nrep].text, '\0', sizeof rep[nrep].text) != NULL);
		nrep++;
	}
	close(sv[1]);
	CHECK(count_fds() == fds_before);

	/* Walk the session as the contract says it goes. */
	for (i = 0; i < sent; i++) {
		const struct privsep_msg *m = &r[i].m;
		enum verdict v;

		/* An empty record reads as EOF, unless it brings more
		 * descriptors than a request may: then it is not one. */
		if (r[i].len == 0 && r[i].nfds <= 2) {
			CHECK(status == 0 && nrep == i && post.runs == 0);
			CHECK(!reset || i + 1 < sent);
			return 0;
		}
		v = judge(&r[i], &st);
		if (v == REFUSED || (v == EITHER && status == EXIT_FAILURE && nrep == i + 1)) {
			CHECK(status == EXIT_FAILURE && post.runs == 0);
			CHECK(nrep == i + 1 && rep[i].ok == 0);
			CHECK(rep[i].type == (r[i].len == sizeof *m && r[i].nfds <= 2 ? m->type : 0));
			CHECK(!reset || i + 1 < sent);        /* a reset: later ones were left */
			return 0;
		}
		if (m->type == PRIVSEP_START) {
			CHECK(status == POST_RET && nrep == i && post.runs == 1);
			CHECK(strcmp(post.user, "alice") == 0 && post.became == 1 && post.fd_open);
			CHECK(post.nstate == m->nstate && post.npending == m->npending);
			CHECK(memcmp(post.state, m->state, m->nstate) == 0);
			CHECK(memcmp(post.pending, m->pending, m->npending) == 0);
			CHECK(!reset || i + 1 < sent);
			return 0;
		}
		CHECK(nrep > i && rep[i].type == m->type);
		if (m->type == PRIVSEP_CHALLENGE) {
			CHECK(rep[i].ok == 1 && strcmp(rep[i].text, chal) == 0);
			st.chal_out = 1;
			continue;
		}
		CHECK(rep[i].text[0] == '\0');
		CHECK((int)rep[i].ok == must_say_yes(m, &st));
		/* Past the limit the helper says no without looking (and
		 * without using up the challenge). */
		if (st.fails < PRIVSEP_FAILS_MAX && m->type == PRIVSEP_CRAM)
			st.chal_out = 0;
		if (rep[i].ok)
			st.authed = 1;
		else if (st.fails < PRIVSEP_FAILS_MAX)
			st.fails++;
	}
	CHECK(status == 0 && nrep == sent && post.runs == 0 && !reset);
	return 0;
}
