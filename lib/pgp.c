/* pgp.c — OpenPGP through gpg (see pgp.h).
 *
 * Every operation is one or two gpg runs: the inputs written to files of a
 * private directory (mode 0700, made by mkdtemp, removed afterwards), gpg
 * started by fork and execvp (no shell: nothing in a message or an option
 * is ever parsed by one), its status lines on fd 3, its output on stdout,
 * both read with a cap and a deadline; a run past either is killed. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "pgp.h"

#define PGP_ARGS_MAX  (2 * 100 + 32)    /* gpg's argument vector: -r KEY per recipient */
#define PGP_POLL_MS   100               /* how often a silent run is checked for exit */

/* ---- status lines (GnuPG doc/DETAILS) ---- */

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

static int hex2(const char *s)
{
	return isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]) ?
	    hexval(s[0]) * 16 + hexval(s[1]) : -1;
}

/* Copy the %XX-escaped text s[0..n) (the user ID of GOODSIG and the like)
 * or the \xXX-escaped one (--with-colons) unescaped. */
static char *unescape(const char *s, size_t n, char esc)
{
	char *o = xmalloc(n + 1), *d = o;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (esc == '%' && s[i] == '%' && i + 2 < n && (v = hex2(s + i + 1)) >= 0) {
			*d++ = (char)v;
			i += 2;
		} else if (esc == '\\' && s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
		    (v = hex2(s + i + 2)) >= 0) {
			*d++ = (char)v;
			i += 3;
		} else {
			*d++ = s[i];
		}
	}
	*d = '\0';
	return o;
}

/* The i-th space-separated word of a[0..n) (0: the first). */
static int word(const char *a, size_t n, int i, const char **w, size_t *wl)
{
	size_t p = 0;

	for (;;) {
		size_t s;

		while (p < n && a[p] == ' ')
			p++;
		if (p == n)
			return 0;
		s = p;
		while (p < n && a[p] != ' ')
			p++;
		if (i-- == 0) {
			*w = a + s;
			*wl = p - s;
			return 1;
		}
	}
}

static void copy_hex(char *dst, const char *w, size_t wl)
{
	size_t k = 0;

	for (size_t i = 0; i < wl && k < PGP_FPR_MAX; i++)
		if (isxdigit((unsigned char)w[i]))
			dst[k++] = (char)toupper((unsigned char)w[i]);
	dst[k] = '\0';
}

static void add_uid(struct pgp_sig *g, char *u)
{
	if (g->nuid >= PGP_UIDS_MAX || *u == '\0') {
		free(u);
		return;
	}
	for (size_t i = 0; i < g->nuid; i++)
		if (strcmp(g->uid[i], u) == 0) {
			free(u);
			return;
		}
	g->uid[g->nuid++] = u;
}

/* The decimal number w[0..wl) (a field is not NUL-terminated); -1 if none. */
static int number(const char *w, size_t wl)
{
	long v = 0;

	if (wl == 0 || wl > 9)
		return -1;
	for (size_t i = 0; i < wl; i++) {
		if (!isdigit((unsigned char)w[i]))
			return -1;
		v = v * 10 + (w[i] - '0');
	}
	return (int)v;
}

/* A timestamp field: seconds since 1970, or ISO 8601 "YYYYMMDDTHHMMSS". */
static time_t stamp(const char *w, size_t wl)
{
	char t[32];
	struct tm tm;

	if (wl == 0 || wl >= sizeof t)
		return 0;
	memcpy(t, w, wl);
	t[wl] = '\0';
	if (strchr(t, 'T')) {
		memset(&tm, 0, sizeof tm);
		if (sscanf(t, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		    &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
			return 0;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		return timegm(&tm);
	}
	for (size_t i = 0; i < wl; i++)
		if (!isdigit((unsigned char)t[i]))
			return 0;
	return (time_t)strtoll(t, NULL, 10);
}

/* The signature a status line speaks of: a new one when the current one
 * has its verdict already (gpg says NEWSIG first, older ones did not). */
static struct pgp_sig *current(struct pgp_result *r, int fresh)
{
	if (!fresh)
		return r->nsig ? &r->sig[r->nsig - 1] : NULL;
	if (r->nsig && r->sig[r->nsig - 1].state == PGP_SIG_NONE)
		return &r->sig[r->nsig - 1];
	if (r->nsig >= PGP_SIGS_MAX) {
		r->too_many = 1;
		return NULL;
	}
	return &r->sig[r->nsig++];
}

static const struct { const char *kw; enum pgp_state st; } verdicts[] = {
	{ "GOODSIG", PGP_SIG_GOOD }, { "BADSIG", PGP_SIG_BAD }, { "EXPSIG", PGP_SIG_EXPSIG },
	{ "EXPKEYSIG", PGP_SIG_EXPKEY }, { "REVKEYSIG", PGP_SIG_REVKEY },
};

static const struct { const char *kw; enum pgp_trust t; } trusts[] = {
	{ "TRUST_UNDEFINED", PGP_TRUST_UNKNOWN }, { "TRUST_NEVER", PGP_TRUST_NEVER },
	{ "TRUST_MARGINAL", PGP_TRUST_MARGINAL }, { "TRUST_FULLY", PGP_TRUST_FULL },
	{ "TRUST_ULTIMATE", PGP_TRUST_ULTIMATE },
};

static int is_kw(const char *k, size_t kl, const char *want)
{
	return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

static void verdict(struct pgp_result *r, enum pgp_state st, const char *a, size_t n)
{
	struct pgp_sig *g = current(r, 1);
	const char *w;
	size_t wl;

	if (g == NULL)
		return;
	g->state = st;
	if (word(a, n, 0, &w, &wl)) {
		copy_hex(g->keyid, w, wl);
		/* the rest of the line is the user ID */
		w += wl;
		while (w < a + n && *w == ' ')
			w++;
		if (w < a + n)
			add_uid(g, unescape(w, (size_t)(a + n - w), '%'));
	}
}

static void errsig(struct pgp_result *r, const char *a, size_t n)
{
	struct pgp_sig *g = current(r, 1);
	const char *w;
	size_t wl;

	if (g == NULL)
		return;
	g->state = PGP_SIG_ERR;
	if (word(a, n, 0, &w, &wl))
		copy_hex(g->keyid, w, wl);
	if (word(a, n, 4, &w, &wl))
		g->when = stamp(w, wl);
	if (word(a, n, 5, &w, &wl))
		g->errcode = number(w, wl);
	if (word(a, n, 6, &w, &wl) && wl > 1)
		copy_hex(g->primary, w, wl);
}

static void validsig(struct pgp_result *r, const char *a, size_t n)
{
	struct pgp_sig *g = current(r, 0);
	const char *w;
	size_t wl;

	if (g == NULL)
		return;
	if (word(a, n, 0, &w, &wl))
		copy_hex(g->fpr, w, wl);
	if (word(a, n, 2, &w, &wl))
		g->when = stamp(w, wl);
	if (word(a, n, 9, &w, &wl))
		copy_hex(g->primary, w, wl);
	else
		memcpy(g->primary, g->fpr, sizeof g->primary);
}

static void status_line(struct pgp_result *r, const char *k, size_t kl, const char *a, size_t n)
{
	const char *w;
	size_t wl;

	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++)
		if (is_kw(k, kl, verdicts[i].kw)) {
			verdict(r, verdicts[i].st, a, n);
			return;
		}
	for (size_t i = 0; i < sizeof trusts / sizeof trusts[0]; i++)
		if (is_kw(k, kl, trusts[i].kw)) {
			if (r->nsig)
				r->sig[r->nsig - 1].trust = trusts[i].t;
			return;
		}
	if (is_kw(k, kl, "NEWSIG"))
		current(r, 1);
	else if (is_kw(k, kl, "ERRSIG"))
		errsig(r, a, n);
	else if (is_kw(k, kl, "VALIDSIG"))
		validsig(r, a, n);
	else if (is_kw(k, kl, "NO_PUBKEY") && r->nsig)
		r->sig[r->nsig - 1].no_pubkey = 1;
	else if (is_kw(k, kl, "NODATA"))
		r->nodata = 1;
	else if (is_kw(k, kl, "BADARMOR"))
		r->badarmor = 1;
	else if (is_kw(k, kl, "DECRYPTION_OKAY"))
		r->decrypt_ok = 1;
	else if (is_kw(k, kl, "DECRYPTION_FAILED"))
		r->decrypt_failed = 1;
	else if (is_kw(k, kl, "NO_SECKEY"))
		r->no_seckey = 1;
	else if (is_kw(k, kl, "SIG_CREATED") && word(a, n, 2, &w, &wl))
		r->sig_hash = number(w, wl);
}

void pgp_parse_status(const char *s, size_t n, struct pgp_result *r)
{
	static const char tag[] = "[GNUPG:] ";
	const char *end = s + n;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;
		const char *k, *a;

		if (e > s && e[-1] == '\r')
			e--;
		if ((size_t)(e - s) > sizeof tag - 1 && memcmp(s, tag, sizeof tag - 1) == 0) {
			k = s + sizeof tag - 1;
			for (a = k; a < e && *a != ' '; a++)
				;
			status_line(r, k, (size_t)(a - k), a < e ? a + 1 : e, a < e ? (size_t)(e - a - 1) : 0);
		}
		s = nl ? nl + 1 : end;
	}
}

void pgp_result_free(struct pgp_result *r)
{
	for (size_t i = 0; i < r->nsig; i++)
		for (size_t j = 0; j < r->sig[i].nuid; j++)
			free(r->sig[i].uid[j]);
	memset(r, 0, sizeof *r);
}

const char *pgp_trust_name(enum pgp_trust t)
{
	switch (t) {
	case PGP_TRUST_UNKNOWN: return "unknown";
	case PGP_TRUST_NEVER: return "never";
	case PGP_TRUST_MARGINAL: return "marginal";
	case PGP_TRUST_FULL: return "full";
	case PGP_TRUST_ULTIMATE: return "ultimate";
	default: return "none";
	}
}

int pgp_sig_ok(const struct pgp_sig *g, char *why, size_t cap)
{
	switch (g->state) {
	case PGP_SIG_GOOD:
		*why = '\0';
		return 1;
	case PGP_SIG_BAD:
		snprintf(why, cap, "content changed after signing (or the signature was altered)");
		break;
	case PGP_SIG_EXPSIG:
		snprintf(why, cap, "the signature has expired");
		break;
	case PGP_SIG_EXPKEY:
		snprintf(why, cap, "the signer's key has expired");
		break;
	case PGP_SIG_REVKEY:
		snprintf(why, cap, "the signer's key is revoked");
		break;
	case PGP_SIG_ERR:
		if (g->errcode == 9 || g->no_pubkey)
			snprintf(why, cap, "no public key %s: import the signer's key (gpg --import)",
			    g->keyid);
		else if (g->errcode == 4)
			snprintf(why, cap, "unknown or unsupported algorithm");
		else
			snprintf(why, cap, "the signature could not be checked (damaged)");
		break;
	default:
		snprintf(why, cap, "no verdict from gpg");
		break;
	}
	return 0;
}

void pgp_uid_split(const char *u, char *name, size_t ncap, char *addr, size_t acap)
{
	const char *lt = strrchr(u, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t nl;

	*name = *addr = '\0';
	if (lt && gt) {
		snprintf(addr, acap, "%.*s", (int)(gt - lt - 1), lt + 1);
		nl = (size_t)(lt - u);
		while (nl && u[nl - 1] == ' ')
			nl--;
		snprintf(name, ncap, "%.*s", (int)nl, u);
	} else if (strchr(u, '@') && !strchr(u, ' ')) {
		snprintf(addr, acap, "%s", u);
	} else {
		snprintf(name, ncap, "%s", u);
	}
}

int pgp_sig_has(const struct pgp_sig *g, const char *a)
{
	for (size_t i = 0; i < g->nuid; i++) {
		char name[256], addr[256];

		pgp_uid_split(g->uid[i], name, sizeof name, addr, sizeof addr);
		if (*addr && strcasecmp(addr, a) == 0)
			return 1;
	}
	return 0;
}

/* ---- running gpg ---- */

struct run {
	char dir[64];                   /* the private directory, or "" */
	char files[4][80];              /* files made in it, removed at the end */
	size_t nfiles;
	struct buf status, out, err;
};

static int private_dir(struct run *ru, char *err, size_t cap)
{
	const char *t = getenv("TMPDIR");

	if (t == NULL || *t != '/' || strlen(t) > sizeof ru->dir - 24)
		t = "/tmp";
	snprintf(ru->dir, sizeof ru->dir, "%s/maillab-pgp.XXXXXX", t);
	if (mkdtemp(ru->dir) == NULL) {
		snprintf(err, cap, "temporary directory: %s", strerror(errno));
		ru->dir[0] = '\0';
		return -1;
	}
	return 0;
}

/* Write p[0..n) to a new file name of the directory; its path, or NULL. */
static const char *put_file(struct run *ru, const char *name, const char *p, size_t n,
    char *err, size_t cap)
{
	char *path = ru->files[ru->nfiles];
	char tmp[sizeof ru->files[0]];
	int fd;

	snprintf(tmp, sizeof tmp, "%s/%s", ru->dir, name);
	memcpy(path, tmp, sizeof tmp);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	ru->nfiles++;
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, cap, "%s: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return path;
}

static void run_done(struct run *ru)
{
	for (size_t i = 0; i < ru->nfiles; i++)
		unlink(ru->files[i]);
	if (ru->dir[0])
		rmdir(ru->dir);
	buf_free(&ru->status);
	buf_free(&ru->out);
	buf_free(&ru->err);
	memset(ru, 0, sizeof *ru);
}

static void child(int st, int out, int er, char **argv)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(er, 2) < 0 ||
	    dup2(st, 3) < 0)
		_exit(127);
	closefrom(4);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	_exit(127);
}

/* Read what is there on fd into b, up to max bytes; 1 at EOF, -1 past max. */
static int drain(int fd, struct buf *b, size_t max)
{
	for (;;) {
		char tmp[16384];
		ssize_t n = read(fd, tmp, sizeof tmp);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;       /* EAGAIN: later */
		if (n == 0)
			return 1;
		if (b->len + (size_t)n > max)
			return -1;
		buf_add(b, tmp, (size_t)n);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the three pipes until they end, the child ends, the deadline or a
 * cap; 0, or -1 with why in err (the child is then killed). */
static int collect(struct run *ru, pid_t pid, int fds[3], int *status, char *err, size_t cap)
{
	struct buf *to[3] = { &ru->status, &ru->out, &ru->err };
	const size_t max[3] = { PGP_STATUS_MAX, PGP_OUT_MAX, PGP_ERR_MAX };
	long long deadline = now_ms() + PGP_SECS * 1000LL;
	int open_fds = 3;

	while (open_fds > 0) {
		struct pollfd pf[3];
		long long left = deadline - now_ms();

		if (left <= 0) {
			snprintf(err, cap, "gpg did not finish within %d s", PGP_SECS);
			return -1;
		}
		for (int i = 0; i < 3; i++)
			pf[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pf, 3, left < PGP_POLL_MS ? (int)left : PGP_POLL_MS) < 0 && errno != EINTR) {
			snprintf(err, cap, "poll: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < 3; i++) {
			int r;

			if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = drain(fds[i], to[i], max[i]);
			if (r < 0 && i != 2) {
				snprintf(err, cap, "gpg's %s is over %zu bytes", i ? "output" : "status",
				    max[i]);
				return -1;
			}
			if (r != 0) {
				close(fds[i]);
				fds[i] = -1;
				open_fds--;
			}
		}
		/* a process gpg started (its agent) may hold a pipe open:
		 * once gpg itself is gone, what it wrote is all there is */
		if (open_fds > 0 && waitpid(pid, status, WNOHANG) == pid) {
			for (int i = 0; i < 3; i++)
				if (fds[i] >= 0 && drain(fds[i], to[i], max[i]) < 0 && i != 2) {
					snprintf(err, cap, "gpg's output is too big");
					return -1;
				}
			return 1;       /* already reaped */
		}
	}
	return 0;
}

/* Run "gpg <the common options> args..." with status, stdout and stderr
 * collected in ru.  gpg's exit status (>= 0), or -1 with why in err. */
static int run_gpg(struct run *ru, const char *const *args, size_t nargs, char *err, size_t cap)
{
	static const char *const common[] = {
		"gpg", "--batch", "--no-tty", "--status-fd", "3", "--no-auto-key-retrieve",
		"--no-auto-key-locate", "--pinentry-mode", "loopback", "--with-colons",
		"--fixed-list-mode", "--no-greeting",
	};
	const size_t nc = sizeof common / sizeof common[0];
	char *argv[PGP_ARGS_MAX + 1];
	int st[2], out[2], er[2], fds[3], status = 0, c;
	pid_t pid;

	if (nargs + nc > PGP_ARGS_MAX) {
		snprintf(err, cap, "too many gpg arguments");
		return -1;
	}
	for (size_t i = 0; i < nc; i++)
		argv[i] = (char *)common[i];
	for (size_t i = 0; i < nargs; i++)
		argv[nc + i] = (char *)args[i];
	argv[nc + nargs] = NULL;
	if (pipe2(st, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
		snprintf(err, cap, "pipe: %s", strerror(errno));
		close(st[0]);
		close(st[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, cap, "fork: %s", strerror(errno));
		for (int i = 0; i < 2; i++) {
			close(st[i]);
			close(out[i]);
			close(er[i]);
		}
		return -1;
	}
	if (pid == 0)
		child(st[1], out[1], er[1], argv);
	close(st[1]);
	close(out[1]);
	close(er[1]);
	fds[0] = st[0];
	fds[1] = out[0];
	fds[2] = er[0];
	for (int i = 0; i < 3; i++)
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
	c = collect(ru, pid, fds, &status, err, cap);
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (c < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	if (c == 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && ru->status.len == 0) {
		snprintf(err, cap, "cannot run gpg (is GnuPG installed?)");
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

/* gpg's last message for people, for an error nothing else explains. */
static void last_words(const struct run *ru, const char *what, char *err, size_t cap)
{
	const char *s = ru->err.p ? ru->err.p : "", *e = s + ru->err.len, *l;

	while (e > s && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	for (l = e; l > s && l[-1] != '\n'; l--)
		;
	if (e - l > 5 && strncmp(l, "gpg: ", 5) == 0)
		l += 5;
	snprintf(err, cap, "%s%s%.*s", what, e > l ? ": " : "", (int)(e - l > 160 ? 160 : e - l), l);
	for (char *p = err; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
}

/* Replace the user IDs of g by those of its key (all of them but the
 * revoked and expired ones), the primary one first. */
static void key_uids(struct pgp_sig *g)
{
	const char *key = *g->primary ? g->primary : *g->fpr ? g->fpr : g->keyid;
	const char *args[] = { "--list-keys", "--", key };
	struct run ru = { 0 };
	char err[64];

	if (*key == '\0' || run_gpg(&ru, args, 3, err, sizeof err) != 0) {
		run_done(&ru);
		return;
	}
	for (const char *s = ru.out.p, *end = s + ru.out.len; s && s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;
		const char *f[11];
		size_t k = 0;

		f[k++] = s;
		for (const char *p = s; p < e && k < 11; p++)
			if (*p == ':')
				f[k++] = p + 1;
		if (k >= 11 && e - s > 4 && memcmp(s, "uid:", 4) == 0 && *f[1] != 'r' && *f[1] != 'e')
			add_uid(g, unescape(f[9], (size_t)(f[10] - f[9] - 1), '\\'));
		s = nl ? nl + 1 : end;
	}
	run_done(&ru);
}

void pgp_verify(const char *sig, size_t siglen, const char *data, size_t dlen,
    struct pgp_result *r)
{
	struct run ru = { 0 };
	const char *sp, *dp = NULL;
	const char *args[4];
	size_t n = 0;

	memset(r, 0, sizeof *r);
	if (private_dir(&ru, r->why, sizeof r->why) < 0)
		goto out;
	if ((sp = put_file(&ru, "sig.asc", sig, siglen, r->why, sizeof r->why)) == NULL ||
	    (data && (dp = put_file(&ru, "data", data, dlen, r->why, sizeof r->why)) == NULL))
		goto out;
	args[n++] = "--verify";
	args[n++] = "--";
	args[n++] = sp;
	if (dp)
		args[n++] = dp;
	else if (siglen == 0)
		goto out;
	if (run_gpg(&ru, args, n, r->why, sizeof r->why) < 0)
		goto out;
	if (ru.status.len == 0) {       /* gpg stopped before reading anything */
		last_words(&ru, "gpg gave no verdict", r->why, sizeof r->why);
		goto out;
	}
	pgp_parse_status(ru.status.p, ru.status.len, r);
	for (size_t i = 0; i < r->nsig; i++)
		if (r->sig[i].state != PGP_SIG_ERR && r->sig[i].state != PGP_SIG_NONE)
			key_uids(&r->sig[i]);
out:
	run_done(&ru);
}

int pgp_decrypt(const char *in, size_t n, struct buf *out, struct pgp_result *r,
    char *err, size_t cap)
{
	struct run ru = { 0 };
	const char *p, *args[5] = { "--decrypt", "--output", "-", "--", NULL };
	int rc = -1;

	memset(r, 0, sizeof *r);
	if (private_dir(&ru, err, cap) < 0 ||
	    (p = put_file(&ru, "msg.asc", in, n, err, cap)) == NULL)
		goto out;
	args[4] = p;
	if (run_gpg(&ru, args, 5, err, cap) < 0)
		goto out;
	pgp_parse_status(ru.status.p ? ru.status.p : "", ru.status.len, r);
	if (!r->decrypt_ok || r->decrypt_failed) {
		if (r->no_seckey)
			snprintf(err, cap, "not encrypted to any secret key of this keyring (GNUPGHOME)");
		else if (r->nodata || r->badarmor)
			snprintf(err, cap, "no OpenPGP message in the encrypted part (damaged or truncated)");
		else
			last_words(&ru, "cannot decrypt", err, cap);
		goto out;
	}
	for (size_t i = 0; i < r->nsig; i++)
		if (r->sig[i].state != PGP_SIG_ERR && r->sig[i].state != PGP_SIG_NONE)
			key_uids(&r->sig[i]);
	buf_add(out, ru.out.p ? ru.out.p : "", ru.out.len);
	rc = 0;
out:
	run_done(&ru);
	return rc;
}

int pgp_secret_key(const char *hint, char fpr[PGP_FPR_MAX + 1], char *err, size_t cap)
{
	const char *args[] = { "--list-secret-keys", "--", hint };
	struct run ru = { 0 };
	int sec = 0, rc = -1;

	*fpr = '\0';
	if (run_gpg(&ru, args, hint ? 3 : 1, err, cap) < 0)
		goto out;
	for (const char *s = ru.out.p, *end = s + ru.out.len; s && s < end && !*fpr;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *e = nl ? nl : end;

		if (e - s > 4 && memcmp(s, "sec:", 4) == 0)
			sec = 1;
		else if (sec && e - s > 4 && memcmp(s, "fpr:", 4) == 0) {
			const char *f = s;

			for (int i = 0; i < 9 && f; i++)
				f = memchr(f, ':', (size_t)(e - f)) ? (const char *)memchr(f, ':', (size_t)(e - f)) + 1 : NULL;
			if (f) {
				const char *c = memchr(f, ':', (size_t)(e - f));

				copy_hex(fpr, f, (size_t)((c ? c : e) - f));
			}
		}
		s = nl ? nl + 1 : end;
	}
	if (*fpr == '\0') {
		snprintf(err, cap, hint ? "no secret key for \"%s\" in the keyring (GNUPGHOME)" :
		    "no secret key in the keyring (GNUPGHOME): make one with gpg --quick-gen-key%s",
		    hint ? hint : "");
		goto out;
	}
	rc = 0;
out:
	run_done(&ru);
	return rc;
}

/* RFC 4880 9.4 hash algorithm numbers, as RFC 3156 5 names them. */
static const char *micalg_name(int h)
{
	switch (h) {
	case 1: return "pgp-md5";
	case 2: return "pgp-sha1";
	case 3: return "pgp-ripemd160";
	case 8: return "pgp-sha256";
	case 9: return "pgp-sha384";
	case 10: return "pgp-sha512";
	case 11: return "pgp-sha224";
	default: return NULL;
	}
}

static int armored(const struct run *ru, struct buf *out, const char *what, char *err, size_t cap)
{
	if (ru->out.len == 0 || memmem(ru->out.p, ru->out.len, "-----BEGIN PGP ", 15) == NULL) {
		last_words(ru, what, err, cap);
		return -1;
	}
	buf_add(out, ru->out.p, ru->out.len);
	return 0;
}

int pgp_sign(const char *fpr, const char *data, size_t n, struct buf *sig,
    char *micalg, size_t mcap, char *err, size_t cap)
{
	struct run ru = { 0 };
	struct pgp_result r = { 0 };
	const char *p, *args[] = { "--detach-sign", "--armor", "--local-user", fpr,
		"--output", "-", "--", NULL };
	const char *name;
	int rc = -1;

	if (private_dir(&ru, err, cap) < 0 || (p = put_file(&ru, "data", data, n, err, cap)) == NULL)
		goto out;
	args[7] = p;
	if (run_gpg(&ru, args, 8, err, cap) < 0)
		goto out;
	pgp_parse_status(ru.status.p ? ru.status.p : "", ru.status.len, &r);
	if (armored(&ru, sig, "cannot sign", err, cap) < 0)
		goto out;
	if ((name = micalg_name(r.sig_hash)) == NULL) {
		snprintf(err, cap, "gpg signed with hash algorithm %d, which PGP/MIME cannot name",
		    r.sig_hash);
		goto out;
	}
	snprintf(micalg, mcap, "%s", name);
	rc = 0;
out:
	pgp_result_free(&r);
	run_done(&ru);
	return rc;
}

/* Plain words for INV_RECP's reason code (doc/DETAILS). */
static const char *inv_recp(int code)
{
	switch (code) {
	case 1: return "no such public key in the keyring (gpg --import it first)";
	case 4: return "the key is revoked";
	case 5: return "the key has expired";
	case 9: return "the key cannot encrypt";
	case 10: return "the key is not trusted: check its fingerprint, then certify it "
	    "(gpg --lsign-key)";
	default: return "no usable key for encryption (not in the keyring, no encryption subkey, or not valid)";
	}
}

int pgp_encrypt(const char *const *to, size_t nto, const char *data, size_t n,
    struct buf *out, char *err, size_t cap)
{
	struct run ru = { 0 };
	const char *args[PGP_ARGS_MAX];
	const char *p;
	size_t k = 0;
	int rc = -1;

	if (nto > (PGP_ARGS_MAX - 32) / 2) {
		snprintf(err, cap, "too many recipients");
		return -1;
	}
	if (private_dir(&ru, err, cap) < 0 || (p = put_file(&ru, "data", data, n, err, cap)) == NULL)
		goto out;
	args[k++] = "--encrypt";
	args[k++] = "--armor";
	for (size_t i = 0; i < nto; i++) {
		args[k++] = "--recipient";
		args[k++] = to[i];
	}
	args[k++] = "--output";
	args[k++] = "-";
	args[k++] = "--";
	args[k++] = p;
	if (run_gpg(&ru, args, k, err, cap) < 0)
		goto out;
	if (ru.status.p) {
		const char *s = memmem(ru.status.p, ru.status.len, "[GNUPG:] INV_RECP ", 18);

		if (s) {
			const char *e = memchr(s, '\n', ru.status.len - (size_t)(s - ru.status.p));
			int code = atoi(s + 18);
			const char *key = strchr(s + 18, ' ');

			key = key && (!e || key < e) ? key + 1 : "";
			snprintf(err, cap, "%.*s: %s", (int)(e && e > key ? e - key : 0), key,
			    inv_recp(code));
			goto out;
		}
	}
	rc = armored(&ru, out, "cannot encrypt", err, cap);
out:
	run_done(&ru);
	return rc;
}
