/* maildeliver — the MDA: deliver the message on stdin into Maildirs or mboxes. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "maildeliver.h"
#include "mailbox.h"
#include "mbox.h"

const char *const progname = "maildeliver";

enum { O_USERS = 256, O_MAILBOX, O_NOJUNK, O_LOCKWAIT, O_MAXSIZE, O_ALIASES, O_DOMAINS,
	O_SKIPREMOTE, O_NOFORWARD, O_QUOTABOUNCE };

static const struct option opts[] = {
	{ "from",       required_argument, NULL, 'f' },
	{ "to",         required_argument, NULL, 'm' },
	{ "users",      required_argument, NULL, O_USERS },
	{ "mailbox",    required_argument, NULL, O_MAILBOX },
	{ "no-junk",    no_argument,       NULL, O_NOJUNK },
	{ "lock-wait",  required_argument, NULL, O_LOCKWAIT },
	{ "max-size",   required_argument, NULL, O_MAXSIZE },
	{ "aliases",    required_argument, NULL, O_ALIASES },
	{ "domains",    required_argument, NULL, O_DOMAINS },
	{ "skip-remote", no_argument,      NULL, O_SKIPREMOTE },
	{ "no-forward", no_argument,       NULL, O_NOFORWARD },
	{ "quota-bounce", no_argument,     NULL, O_QUOTABOUNCE },
	{ "verbose",    no_argument,       NULL, 'v' },
	{ "help",       no_argument,       NULL, 'h' },
	{ "version",    no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: maildeliver [-v] [-f SENDER] [--users FILE] [--mailbox TEMPLATE] [USER...]\n"
	    "       maildeliver [-v] [-f SENDER] -m MAILBOX\n"
	    "Deliver the message on stdin to each USER's mailbox (default: the invoking user).\n\n"
	    "  -f, --from SENDER       envelope sender for Return-Path: (default: a leading\n"
	    "                          \"From \" line, else $SENDER, else <>)\n"
	    "  -m, --to MAILBOX        deliver to [maildir:|mbox:]PATH directly, no user lookup\n"
	    "      --users FILE        passwd-file (user:{SCHEME}secret:uid:gid:gecos:home:shell)\n"
	    "                          default: the system accounts; an extra field\n"
	    "                          userdb_quota_rule=*:storage=100M is the user's quota\n"
	    "      --mailbox TEMPLATE  [maildir:|mbox:]PATH with %%u %%n %%d %%h (default %s)\n"
	    "      --no-junk           do not file X-Spam-Flag: YES mail into the .Junk folder\n"
	    "      --lock-wait SECS    wait this long for a locked mbox (default %d)\n"
	    "      --max-size BYTES    refuse larger messages with 65 (default %zu)\n"
	    "      --aliases FILE      aliases(5) table: a USER that is an alias gets its members\n"
	    "      --domains LIST      domains whose addresses in FILE are local (comma-separated)\n"
	    "      --skip-remote       members in other domains are the caller's to relay\n"
	    "      --no-forward        ignore the users' ~/.forward files\n"
	    "      --quota-bounce      over the Maildir's quota: refuse for good (69), not for now (75)\n"
	    "  -v, --verbose           say where each message went\n"
	    "  -h, --help              show this help\n"
	    "  -V, --version           show the version\n"
	    "Exit: 0 delivered, 64 usage, 65 bad data, 67 no such user, 73 cannot create,\n"
	    "75 temporary failure (try again), 77 permission denied.\n",
	    MAILBOX_DEFAULT, MBOX_LOCK_SECS, MD_SIZE_MAX);
}

static int sender_ok(const char *s)
{
	if (strlen(s) > MD_SENDER_MAX)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f || *s == '<' || *s == '>')
			return 0;
	return 1;
}

/* -f "<a@b>" and -f "a@b" mean the same reverse-path. */
static const char *strip_angles(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* The program beside our own binary (smtp-send, to forward), or NULL. */
static const char *beside_me(const char *name, char *buf, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		return NULL;
	*slash = '\0';
	if (strlen(self) + strlen(name) + 2 > cap)
		return NULL;
	memcpy(buf, self, strlen(self));
	buf[strlen(self)] = '/';
	memcpy(buf + strlen(self) + 1, name, strlen(name) + 1);
	return access(buf, X_OK) == 0 ? buf : NULL;
}

/* --domains: whether domain is one of the comma-separated list ctx. */
static int domain_listed(const void *ctx, const char *domain)
{
	const char *p = ctx;
	size_t n = strlen(domain);

	while (*p) {
		size_t k = strcspn(p, ",");

		if (k == n && strncasecmp(p, domain, n) == 0)
			return 1;
		p += k + (p[k] == ',');
	}
	return 0;
}

static void parse(int argc, char **argv, struct md_opts *o)
{
	int c;
	char *end;

	while ((c = getopt_long(argc, argv, "f:m:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->sender = strip_angles(optarg);
			if (!sender_ok(o->sender))
				diex(EX_USAGE, "-f %s: not a usable sender address", optarg);
			break;
		case 'm': o->direct = optarg; break;
		case O_USERS: o->users = optarg; break;
		case O_MAILBOX: o->tmpl = optarg; break;
		case O_NOJUNK: o->no_junk = 1; break;
		case O_ALIASES: o->aliases = optarg; break;
		case O_DOMAINS: o->alias_local = domain_listed; o->alias_ctx = optarg; break;
		case O_SKIPREMOTE: o->remote_ok = 1; break;
		case O_NOFORWARD: o->no_forward = 1; break;
		case O_QUOTABOUNCE: o->quota_bounce = 1; break;
		case O_LOCKWAIT:
			o->lock_wait = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o->lock_wait < 0 || o->lock_wait > 3600)
				diex(EX_USAGE, "--lock-wait %s: expected 0..3600 seconds", optarg);
			break;
		case O_MAXSIZE: {
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v == 0 || v > MD_SIZE_MAX)
				diex(EX_USAGE, "--max-size %s: expected 1..%zu bytes", optarg, MD_SIZE_MAX);
			o->max_size = v;
			break;
		}
		case 'v': o->verbose = 1; break;
		case 'h': usage(stdout); exit(EX_OK);
		case 'V': print_version(); exit(EX_OK);
		default: usage(stderr); exit(EX_USAGE);
		}
	}
}

int main(int argc, char **argv)
{
	struct md_opts o = { .tmpl = MAILBOX_DEFAULT, .lock_wait = MBOX_LOCK_SECS,
	    .max_size = MD_SIZE_MAX };
	struct md_msg m;
	char relay[PATH_MAX];
	int rc;

	parse(argc, argv, &o);
	if (o.direct != NULL && optind < argc) {
		warnx_("-m takes no USER operands");
		usage(stderr);
		return EX_USAGE;
	}
	o.folder = getenv("EXTENSION");     /* Postfix: the address extension */
	o.relay_cmd = beside_me("smtp-send", relay, sizeof relay);
	umask(077);
	/* A file size limit gives EFBIG, which we handle (and cut back). */
	signal(SIGXFSZ, SIG_IGN);
	if ((rc = md_read(STDIN_FILENO, o.max_size, &m)) != EX_OK)
		return rc;
	rc = md_run(&o, &m, argv + optind, argc - optind);
	md_msg_free(&m);
	return rc;
}
