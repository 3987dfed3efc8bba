/* sendmail.c — smtp-send as /usr/sbin/sendmail and mailq, and the queue listing.
 *
 * Programs that send mail (cron, mutt, s-nail, PHP's mail()) run
 * "sendmail -t -i -f sender" and write the message on its standard input.
 * Run under the name sendmail (a link to smtp-send), the sendmail command
 * line of Postfix is translated into our own options, as far as it makes
 * sense for a client without its own mail system: the message goes to the
 * local smtpd ($MAILLAB_SMTP, default localhost:25), the queue of -bp and
 * -q is $MAILLAB_QUEUE (default SENDMAIL_QUEUE_DEFAULT); options that tune a
 * full MTA (-oX, -N, -B, -C...) are accepted and ignored, so callers work
 * unchanged. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "queue.h"
#include "send.h"

/* sendmail options that take an argument we do not use (Postfix's list). */
static const char ignored_with_arg[] = "BCOLGhX";

static int named(const char *argv0, const char *name)
{
	const char *base = strrchr(argv0, '/');

	return strcmp(base ? base + 1 : argv0, name) == 0;
}

int sendmail_invoked(const char *argv0)
{
	return named(argv0, "sendmail") || named(argv0, "mailq") || named(argv0, "newaliases");
}

static void add(char ***v, int *n, const char *s)
{
	*v = xrealloc(*v, (size_t)(*n + 2) * sizeof **v);
	(*v)[(*n)++] = (char *)s;
	(*v)[*n] = NULL;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* The argument of option c: the rest of this word, or the next word. */
static const char *arg_of(int argc, char **argv, int *i, const char *rest, char c)
{
	if (*rest)
		return rest;
	if (*i + 1 >= argc)
		diex(EX_USAGE, "sendmail: -%c needs an argument", c);
	return argv[++*i];
}

/* One sendmail word starting with '-' (not "--"); the smtp-send words go
 * to out; *mode becomes 'p' (-bp), 'q' (-q), 'i' (-bi), or stays 'm'. */
static void word(int argc, char **argv, int *i, char ***out, int *n, int *mode, int *server)
{
	const char *w = argv[*i] + 1;

	switch (*w) {
	case 't': case 'i': case 'v':
		for (; *w == 't' || *w == 'i' || *w == 'v'; w++) {
			static const char *const flag[] = { "-t", "-i", "-v" };
			add(out, n, flag[*w == 't' ? 0 : *w == 'i' ? 1 : 2]);
		}
		return;
	case 'f': case 'r':     /* -r is the old name of -f */
		add(out, n, "-f");
		add(out, n, arg_of(argc, argv, i, w + 1, *w));
		return;
	case 'F':               /* full name: smtp-send does not write From: */
		(void)arg_of(argc, argv, i, w + 1, 'F');
		return;
	case 'o':               /* -oi is -i; other -oX tune a full MTA */
		if (strcmp(w, "oi") == 0)
			add(out, n, "-i");
		return;
	case 'b':
		if (strcmp(w, "bp") == 0)
			*mode = 'p';
		else if (strcmp(w, "bi") == 0)
			*mode = 'i';
		else if (strcmp(w, "bs") == 0)
			*mode = 's';
		else if (strcmp(w, "bm") != 0)
			diex(EX_USAGE, "sendmail: -%s is not supported", w);
		return;
	case 'q':               /* -q, -q30m, -qR...: run the queue once */
		*mode = 'q';
		return;
	case 's':               /* ours: smtp-send's -s HOST[:PORT] */
		add(out, n, "-s");
		add(out, n, arg_of(argc, argv, i, w + 1, 's'));
		*server = 1;
		return;
	case 'N': case 'R': case 'V':   /* DSN (RFC 3461): NOTIFY, RET, ENVID, as Postfix */
		add(out, n, *w == 'N' ? "--notify" : *w == 'R' ? "--ret" : "--envid");
		add(out, n, arg_of(argc, argv, i, w + 1, *w));
		return;
	case 'n': case 'm': case 'U': case 'A': case 'd': case 'e':
		return;         /* no aliasing, me too, initial submission...: no meaning here */
	default:
		if (strchr(ignored_with_arg, *w) != NULL) {
			(void)arg_of(argc, argv, i, w + 1, *w);
			return;
		}
		diex(EX_USAGE, "sendmail: unknown option -%s", w);
	}
}

int sendmail_argv(int argc, char **argv, char ***out)
{
	int n = 0, mode = named(argv[0], "mailq") ? 'p' : named(argv[0], "newaliases") ? 'i' : 'm';
	int server = 0, i;

	add(out, &n, argv[0]);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		if (strncmp(argv[i], "--", 2) == 0) {
			if (argv[i][2] == '\0') {
				i++;
				break;
			}
			add(out, &n, argv[i]);  /* smtp-send's own long options */
			if (strcmp(argv[i], "--pipe") == 0 || strcmp(argv[i], "--server") == 0)
				server = 1;
			continue;
		}
		word(argc, argv, &i, out, &n, &mode, &server);
	}
	if (mode == 'i') {
		/* our tables are read as text at each use: nothing to rebuild */
		fprintf(stderr, "newaliases: nothing to do: smtpd reads --aliases as text\n");
		exit(0);
	}
	if (mode == 'p' || mode == 'q') {
		add(out, &n, "--queue");
		add(out, &n, env_or("MAILLAB_QUEUE", SENDMAIL_QUEUE_DEFAULT));
		if (mode == 'p')
			add(out, &n, "--list");
		else
			add(out, &n, "--retry-now");
		return n;
	}
	if (!server) {
		add(out, &n, "-s");
		add(out, &n, env_or("MAILLAB_SMTP", "localhost"));
	}
	if (mode == 's') {      /* -bs: recipients come in RCPT commands */
		add(out, &n, "--bs");
		return n;
	}
	add(out, &n, "--");
	for (; i < argc; i++)
		add(out, &n, argv[i]);
	return n;
}

/* ---- -bs: an SMTP session on standard input and output ---- */

/* PHP mailers (Symfony Mailer, PHPMailer with their sendmail -bs transport) talk
 * SMTP to us on a pipe.  Postfix runs its smtpd there; we have no mail
 * system of our own, so the session is carried byte for byte to the
 * submission server (-s, default $MAILLAB_SMTP): its replies, its
 * extensions (DSN, SMTPUTF8, AUTH, STARTTLS) and its policy are the
 * client's.  If it cannot be reached the client gets a 421 of ours, an
 * SMTP answer it understands, and we exit 75. */
int bs_session(const struct opts *o)
{
	struct peer p;
	char err[300], host[256];
	int port, r;

	if (o->pipe_cmd != NULL) {
		r = net_pipe(o->pipe_cmd, &p, err, sizeof err);
	} else if (hostport_split(o->server ? o->server : "localhost", host, sizeof host, &port,
	    o->lmtp ? 24 : 25) < 0) {
		snprintf(err, sizeof err, "bad server: %s", o->server);
		r = -1;
	} else {
		r = net_connect_host(host, port, SEND_CONNECT_SECS, &p, err, sizeof err);
	}
	if (r < 0) {
		printf("421 4.4.1 sendmail -bs: cannot reach the mail server: %s\r\n", err);
		fflush(stdout);
		warnx_("-bs: %s", err);
		return EX_TEMPFAIL;
	}
	r = net_splice(&p, 0, 1, o->timeout > 0 ? o->timeout : SEND_CMD_SECS, err, sizeof err);
	if (r < 0)
		warnx_("-bs: %s: %s", p.name, err);
	peer_close(&p);
	return r < 0 ? EX_TEMPFAIL : 0;
}

/* ---- the queue listing (mailq) ---- */

/* env/ID read-only, without the lock: a listing must not wait for a runner. */
static int open_env(const char *dir, const char *id)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof path, "%s/env/%s", dir, id) >= sizeof path)
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void list_one(const char *dir, const char *id, FILE *f, size_t *bytes)
{
	struct queue_env e = { 0 };
	const char *why = NULL;
	char when[32];
	int fd = open_env(dir, id);
	struct stat st;
	off_t size = 0;
	int mfd;

	if (fd < 0)
		return;         /* delivered meanwhile */
	if (queue_read_env(fd, &e, &why) < 0) {
		fprintf(f, "%-12s (bad envelope: %s)\n", id, why ? why : strerror(errno));
		goto out;
	}
	if ((mfd = queue_open_msg(dir, id)) >= 0) {
		if (fstat(mfd, &st) == 0)
			size = st.st_size;
		close(mfd);
	}
	*bytes += (size_t)size;
	strftime(when, sizeof when, "%a %b %e %H:%M:%S", localtime(&e.created));
	fprintf(f, "%-12s %8lld %s  %s\n", id, (long long)size, when,
	    e.from[0] ? e.from : "MAILER-DAEMON");
	for (size_t i = 0; i < e.nrcpt; i++) {
		const struct queue_rcpt *r = &e.rcpt[i];

		if (r->state != QR_PENDING)
			continue;
		if (r->text[0])
			fprintf(f, "%43s(%s)\n", "", r->text);
		fprintf(f, "%43s%s\n", "", r->addr);
	}
	fprintf(f, "%43s(attempts: %d, next try: in %lds)\n\n", "", e.attempts,
	    (long)(e.next > time(NULL) ? e.next - time(NULL) : 0));
out:
	close(fd);
	queue_env_free(&e);
}

int queue_print(const char *dir, FILE *f)
{
	char **ids = NULL;
	size_t n = 0, bytes = 0;

	if (queue_list(dir, &ids, &n) < 0 && errno != ENOENT) {
		warn_("queue %s", dir);
		return EX_TEMPFAIL;
	}
	if (n == 0) {
		fprintf(f, "Mail queue is empty\n");
		queue_list_free(ids, n);
		return 0;
	}
	fprintf(f, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
	for (size_t i = 0; i < n; i++)
		list_one(dir, ids[i], f, &bytes);
	fprintf(f, "-- %zu Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024, n, n == 1 ? "" : "s");
	queue_list_free(ids, n);
	return 0;
}
