/* smtpd — SMTP, ESMTP and LMTP server (inetd mode or -l listening).
 * This file only parses options; the work starts in smtpd_run(). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "smtpd.h"

const char *const progname = "smtpd";

enum {
	O_HOSTNAME = 256, O_USERS, O_MAILBOX, O_CERT, O_KEY, O_TLS, O_PLAINAUTH, O_SYSLOG,
	O_DOMAINS, O_RELAYFROM, O_QUEUE, O_MDA, O_LMTP, O_SUBMISSION, O_MAXSIZE, O_MAXRCPT,
	O_TIMEOUT, O_DATATIMEOUT, O_USER, O_DNSBL, O_DNS, O_GREYLIST, O_GREYDELAY, O_FILTER,
	O_SMTPSEND, O_MAXUSE, O_MAXHOPS, O_AUTHRES, O_AUTHRESPOL, O_DKIMSIGN,
	O_ALIASES, O_EXPN, O_NOFORWARD, O_LISTHDRS, O_QUOTABOUNCE
};
enum { O_PERCLIENT = 300 };

static const struct option opts[] = {
	{ "help",           no_argument,       NULL, 'h' },
	{ "version",        no_argument,       NULL, 'V' },
	{ "verbose",        no_argument,       NULL, 'v' },
	{ "listen",         required_argument, NULL, 'l' },
	{ "hostname",       required_argument, NULL, O_HOSTNAME },
	{ "users",          required_argument, NULL, O_USERS },
	{ "mailbox",        required_argument, NULL, O_MAILBOX },
	{ "cert",           required_argument, NULL, O_CERT },
	{ "key",            required_argument, NULL, O_KEY },
	{ "tls",            no_argument,       NULL, O_TLS },
	{ "plaintext-auth", optional_argument, NULL, O_PLAINAUTH },
	{ "syslog",         no_argument,       NULL, O_SYSLOG },
	{ "domains",        required_argument, NULL, O_DOMAINS },
	{ "relay-from",     required_argument, NULL, O_RELAYFROM },
	{ "queue",          required_argument, NULL, O_QUEUE },
	{ "mda",            required_argument, NULL, O_MDA },
	{ "lmtp",           no_argument,       NULL, O_LMTP },
	{ "submission",     no_argument,       NULL, O_SUBMISSION },
	{ "max-size",       required_argument, NULL, O_MAXSIZE },
	{ "max-rcpt",       required_argument, NULL, O_MAXRCPT },
	{ "timeout",        required_argument, NULL, O_TIMEOUT },
	{ "data-timeout",   required_argument, NULL, O_DATATIMEOUT },
	{ "user",           required_argument, NULL, O_USER },
	{ "dnsbl",          required_argument, NULL, O_DNSBL },
	{ "dns",            required_argument, NULL, O_DNS },
	{ "greylist",       required_argument, NULL, O_GREYLIST },
	{ "greylist-delay", required_argument, NULL, O_GREYDELAY },
	{ "filter",         required_argument, NULL, O_FILTER },
	{ "smtp-send",      required_argument, NULL, O_SMTPSEND },
	{ "max-use",        required_argument, NULL, O_MAXUSE },
	{ "max-hops",       required_argument, NULL, O_MAXHOPS },
	{ "max-per-client", required_argument, NULL, O_PERCLIENT },
	{ "authres",        no_argument,       NULL, O_AUTHRES },
	{ "authres-policy", no_argument,       NULL, O_AUTHRESPOL },
	{ "dkim-sign",      required_argument, NULL, O_DKIMSIGN },
	{ "aliases",        required_argument, NULL, O_ALIASES },
	{ "expn",           no_argument,       NULL, O_EXPN },
	{ "no-forward",     no_argument,       NULL, O_NOFORWARD },
	{ "list-headers",   no_argument,       NULL, O_LISTHDRS },
	{ "quota-bounce",   no_argument,       NULL, O_QUOTABOUNCE },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: smtpd [-v] [-l [ADDR:]PORT]... [--hostname NAME] [--domains LIST]\n"
	    "             [--users FILE] [--mailbox TEMPLATE] [--mda CMD] [--queue DIR]\n"
	    "             [--relay-from CIDR,...] [--cert FILE --key FILE] [--tls]\n"
	    "             [--plaintext-auth[=never|loopback|always]] [--lmtp] [--submission] [--max-size N]\n"
	    "             [--max-rcpt N] [--timeout SECS] [--data-timeout SECS] [--user NAME]\n"
	    "             [--dnsbl ZONE] [--dns SERVER[:PORT]] [--greylist DIR]\n"
	    "             [--greylist-delay SECS] [--filter CMD] [--smtp-send CMD] [--syslog]\n"
	    "             [--max-use N] [--max-hops N] [--max-per-client N]\n"
	    "             [--authres] [--authres-policy]\n"
	    "             [--dkim-sign DOMAIN:SELECTOR:KEYFILE]\n"
	    "             [--aliases FILE] [--expn] [--no-forward] [--list-headers]\n"
	    "             [--quota-bounce]\n"
	    "Receive mail over SMTP (RFC 5321) or LMTP (RFC 2033) on stdin/stdout (inetd\n"
	    "mode) or on the -l addresses, deliver local domains (in-process, as maildeliver\n"
	    "does, or with --mda CMD) and queue the rest for smtp-send --queue.  See smtpd(8).\n");
}

static long long num_arg(const char *opt, const char *s, long long min, long long max)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		warnx_("%s: bad number: %s", opt, s);
		usage(stderr);
		exit(EX_USAGE);
	}
	return v;
}

static void add_domains(struct config *c, char *list)
{
	for (char *t = strtok(list, ", "); t; t = strtok(NULL, ", ")) {
		if (c->ndomains == SMTPD_DOMAINS_MAX)
			diex(EX_USAGE, "--domains: more than %d domains", SMTPD_DOMAINS_MAX);
		c->domains[c->ndomains++] = t;
	}
}

static void add_nets(struct config *c, char *list)
{
	for (char *t = strtok(list, ", "); t; t = strtok(NULL, ", ")) {
		if (c->nnets == SMTPD_NETS_MAX)
			diex(EX_USAGE, "--relay-from: more than %d networks", SMTPD_NETS_MAX);
		if (cidr_parse(t, &c->nets[c->nnets++]) < 0)
			diex(EX_USAGE, "--relay-from: bad network: %s", t);
	}
}

/* The program beside our own binary (smtp-send), or "". */
static const char *beside_me(const char *name, char *buf, size_t cap)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);

	if (n <= 0)
		return "";
	self[n] = '\0';
	snprintf(buf, cap, "%s/%s", dirname(self), name);
	return access(buf, X_OK) == 0 ? buf : "";
}

/* --mda CMD [ARGS]: CMD is looked up in PATH once, now, as a shell would,
 * so that "--mda maildeliver" works; a command that cannot be run stops
 * smtpd at start rather than turning every delivery into a bounce.  The
 * result is "/full/path ARGS" in buf (the words are split at delivery). */
static const char *resolve_mda(const char *mda, char *buf, size_t cap)
{
	size_t n = strcspn(mda, " \t");
	const char *path = getenv("PATH");
	char try[PATH_MAX];

	if (n == 0)
		return mda;     /* "" means: deliver nothing (tests); see deliver.c */
	if (memchr(mda, '/', n) != NULL) {
		snprintf(try, sizeof try, "%.*s", (int)n, mda);
		if (access(try, X_OK) < 0)
			die(EX_CONFIG, "--mda %s", try);
		return mda;
	}
	for (const char *d = path && *path ? path : "/usr/local/bin:/usr/bin:/bin"; ; ) {
		size_t dl = strcspn(d, ":");
		struct stat st;

		if ((size_t)snprintf(try, sizeof try, "%.*s/%.*s", (int)dl, dl ? d : ".", (int)n, mda) <
		    sizeof try && stat(try, &st) == 0 && S_ISREG(st.st_mode) && access(try, X_OK) == 0) {
			if ((size_t)snprintf(buf, cap, "%s%s", try, mda + n) >= cap)
				diex(EX_CONFIG, "--mda %s: too long", mda);
			return buf;
		}
		if (d[dl] == '\0')
			break;
		d += dl + 1;
	}
	diex(EX_CONFIG, "--mda %.*s: no such command in PATH (give its full path, such as "
	    "$(command -v %.*s))", (int)n, mda, (int)n, mda);
	return NULL;
}

/* Who writes the queue and greylist files: the session's user, which is
 * --user (default mail) when started as root, else ourselves. */
struct writer {
	uid_t uid;
	gid_t gid;
	char  name[64];
	int   root;                     /* we are root: we can fix ownership */
};

static void find_writer(const struct config *c, struct writer *w)
{
	const char *name = c->runas != NULL && *c->runas ? c->runas : "mail";
	struct passwd *pw;

	w->root = geteuid() == 0;
	if (!w->root) {
		w->uid = geteuid();
		w->gid = getegid();
		pw = getpwuid(w->uid);
		snprintf(w->name, sizeof w->name, "%s", pw ? pw->pw_name : "you");
		return;
	}
	if ((pw = getpwnam(name)) == NULL || pw->pw_uid == 0)
		diex(EX_CONFIG, "user %s: %s (the user the protocol runs as: see --user)", name,
		    pw ? "is root" : "no such user");
	w->uid = pw->pw_uid;
	w->gid = pw->pw_gid;
	snprintf(w->name, sizeof w->name, "%s", pw->pw_name);
}

/* May w create files in the directory st describes?  As root we decide
 * from the mode bits, the way the kernel will for w's ids (its one group). */
static int writable_by(const struct stat *st, const struct writer *w, const char *dir)
{
	if (!w->root)
		return access(dir, W_OK | X_OK) == 0;
	if (st->st_uid == w->uid)
		return (st->st_mode & (S_IWUSR | S_IXUSR)) == (S_IWUSR | S_IXUSR);
	if (st->st_gid == w->gid)
		return (st->st_mode & (S_IWGRP | S_IXGRP)) == (S_IWGRP | S_IXGRP);
	return (st->st_mode & (S_IWOTH | S_IXOTH)) == (S_IWOTH | S_IXOTH);
}

/* As root: can w reach dir at all?  A directory owned by w is no use
 * under a parent w may not search (root's home is 0700).  Found by trying
 * as w, in a child; the first parent w cannot search goes into blocked
 * (cap bytes).  1 if dir is reachable, 0 if not, -1 if we cannot tell. */
static int reachable_by(const struct writer *w, const char *dir, char *blocked, size_t cap)
{
	int fd[2], st;
	pid_t pid;
	ssize_t n;

	if (pipe(fd) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		char path[PATH_MAX];

		close(fd[0]);
		if (setgroups(1, &w->gid) < 0 || setresgid(w->gid, w->gid, w->gid) < 0 ||
		    setresuid(w->uid, w->uid, w->uid) < 0)
			_exit(2);
		snprintf(path, sizeof path, "%s", dir);
		if (path[0] != '/' && access(".", X_OK) < 0) {     /* a relative path starts here */
			n = write(fd[1], ".", 1);
			_exit(n < 0 ? 2 : 1);
		}
		for (char *p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
			*p = '\0';
			if (access(path, X_OK) < 0) {
				n = write(fd[1], path, strlen(path));
				_exit(n < 0 ? 2 : 1);
			}
			*p = '/';
		}
		_exit(access(path, X_OK) == 0 ? 0 : 1);
	}
	close(fd[1]);
	n = read(fd[0], blocked, cap - 1);
	blocked[n > 0 ? n : 0] = '\0';
	close(fd[0]);
	if (strcmp(blocked, ".") == 0 && getcwd(blocked, cap) == NULL)
		snprintf(blocked, cap, "the current directory");
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 2)
		return -1;
	return WEXITSTATUS(st) == 0;
}

/* A --queue or --greylist directory the sessions will write: made if
 * missing (as root, owned by the writer), else it must be a directory
 * the writer may write.  Otherwise smtpd refuses to start, saying how to
 * fix it: running without greylisting or a queue would hide the mistake. */
static void usable_dir(const char *what, const char *dir, const struct writer *w)
{
	struct stat st;
	struct group *gr;
	struct passwd *pw;

	if (stat(dir, &st) < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) < 0)
			die(EX_CANTCREAT, "%s dir %s: cannot create it", what, dir);
		if (w->root && chown(dir, w->uid, w->gid) < 0)
			die(EX_CANTCREAT, "%s dir %s: cannot give it to %s", what, dir, w->name);
		return;
	}
	if (stat(dir, &st) < 0)
		die(EX_CONFIG, "%s dir %s", what, dir);
	if (!S_ISDIR(st.st_mode))
		diex(EX_CONFIG, "%s dir %s: not a directory", what, dir);
	if (writable_by(&st, w, dir)) {
		char blocked[PATH_MAX];

		if (!w->root || reachable_by(w, dir, blocked, sizeof blocked) != 0)
			return;
		diex(EX_CONFIG, "%s dir %s: uid %lu (%s), the user smtpd runs as (--user), cannot "
		    "reach it: %s is not searchable; fix: chmod o+x %s, or use a directory outside "
		    "it", what, dir, (unsigned long)w->uid, w->name, blocked[0] ? blocked : dir,
		    blocked[0] ? blocked : dir);
	}
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	if (w->root)
		diex(EX_CONFIG, "%s dir %s: not writable by uid %lu (%s), the user smtpd runs as "
		    "(--user): owner %s:%s, mode %04o; fix: chown -R %s: %s "
		    "(or make it with: maillab-user dir %s)", what, dir, (unsigned long)w->uid,
		    w->name, pw ? pw->pw_name : "?", gr ? gr->gr_name : "?",
		    (unsigned)(st.st_mode & 07777), w->name, dir, dir);
	diex(EX_CONFIG, "%s dir %s: not writable by uid %lu (%s): owner %s:%s, mode %04o; "
	    "fix: chmod u+rwx %s if it is yours, or give smtpd a directory of your own",
	    what, dir, (unsigned long)w->uid, w->name, pw ? pw->pw_name : "?",
	    gr ? gr->gr_name : "?", (unsigned)(st.st_mode & 07777), dir);
}

static void check_dirs(const struct config *c)
{
	struct writer w;
	char sub[PATH_MAX];
	static const char *const qsub[] = { "tmp", "msg", "env" };

	if (c->queue == NULL && c->greylist == NULL)
		return;
	find_writer(c, &w);
	if (c->greylist != NULL)
		usable_dir("greylist", c->greylist, &w);
	if (c->queue == NULL)
		return;
	usable_dir("queue", c->queue, &w);
	for (size_t i = 0; i < sizeof qsub / sizeof qsub[0]; i++) {
		struct stat st;

		snprintf(sub, sizeof sub, "%s/%s", c->queue, qsub[i]);
		if (stat(sub, &st) == 0)        /* queue_init makes missing ones */
			usable_dir("queue", sub, &w);
	}
}

static void option(struct config *c, int o, char *arg)
{
	switch (o) {
	case 'v': c->verbose = 1; break;
	case 'l':
		if (c->nlisten == SERVER_LISTEN_MAX)
			diex(EX_USAGE, "at most %d -l options", SERVER_LISTEN_MAX);
		c->listen[c->nlisten++] = arg;
		break;
	case O_HOSTNAME: snprintf(c->hostname, sizeof c->hostname, "%s", arg); break;
	case O_USERS: c->users = arg; break;
	case O_MAILBOX: c->mailbox = arg; break;
	case O_CERT: c->cert = arg; break;
	case O_KEY: c->key = arg; break;
	case O_TLS: c->tls = 1; break;
	case O_PLAINAUTH:
		if ((c->plaintext_auth = server_plain_auth_arg(arg)) < 0)
			diex(EX_USAGE, "--plaintext-auth=%s: expected never, loopback or always", arg);
		break;
	case O_SYSLOG: c->syslog = 1; break;
	case O_DOMAINS: add_domains(c, arg); break;
	case O_RELAYFROM: add_nets(c, arg); break;
	case O_QUEUE: c->queue = arg; break;
	case O_MDA: c->mda = arg; break;
	case O_LMTP: c->lmtp = 1; break;
	case O_SUBMISSION: c->submission = 1; break;
	case O_MAXSIZE: c->max_size = num_arg("--max-size", arg, 1, 1LL << 40); break;
	case O_MAXRCPT: c->max_rcpt = (int)num_arg("--max-rcpt", arg, 1, 100000); break;
	case O_TIMEOUT: c->cmd_timeout = (int)num_arg("--timeout", arg, 1, 86400); break;
	case O_DATATIMEOUT: c->data_timeout = (int)num_arg("--data-timeout", arg, 1, 86400); break;
	case O_USER: c->runas = arg; break;
	case O_DNSBL:
		if (c->ndnsbl == SMTPD_DNSBL_MAX)
			diex(EX_USAGE, "at most %d --dnsbl zones", SMTPD_DNSBL_MAX);
		c->dnsbl[c->ndnsbl++] = arg;
		break;
	case O_DNS: c->dns_server = arg; break;
	case O_GREYLIST: c->greylist = arg; break;
	case O_GREYDELAY: c->greylist_delay = (int)num_arg("--greylist-delay", arg, 0, 86400 * 30); break;
	case O_FILTER: c->filter = arg; break;
	case O_SMTPSEND: c->smtp_send = arg; break;
	case O_MAXUSE: c->max_use = (int)num_arg("--max-use", arg, 1, SERVER_REUSE_MAX); break;
	case O_MAXHOPS: c->max_hops = (int)num_arg("--max-hops", arg, 1, SMTPD_HOPS_CAP); break;
	case O_PERCLIENT:
		c->per_client = (int)num_arg("--max-per-client", arg, 1, SERVER_CHILDREN_MAX);
		break;
	case O_AUTHRES: authres_option(c, "authres", arg); break;
	case O_AUTHRESPOL: authres_option(c, "authres-policy", arg); break;
	case O_DKIMSIGN: authres_option(c, "dkim-sign", arg); break;
	case O_ALIASES: c->aliases = arg; break;
	case O_EXPN: c->expn = 1; break;
	case O_NOFORWARD: c->no_forward = 1; break;
	case O_LISTHDRS: c->list_headers = 1; break;
	case O_QUOTABOUNCE: c->quota_bounce = 1; break;
	default: usage(stderr); exit(EX_USAGE);
	}
}

int main(int argc, char **argv)
{
	static struct config cfg;
	static char send[PATH_MAX], mda[PATH_MAX + 1024];
	int o;

	server_inetd_stderr("421 4.3.0 smtpd: service not available, see the mail log\r\n");
	cfg.max_size = SMTPD_SIZE_DEFAULT;
	cfg.max_rcpt = SMTP_RCPT_MAX;
	cfg.greylist_delay = SMTPD_GREYLIST_DELAY;
	cfg.max_use = SMTPD_MAX_USE;
	cfg.max_hops = SMTPD_MAX_HOPS;
	cfg.worker_chan = -1;
	while ((o = getopt_long(argc, argv, "hVvl:", opts, NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			return 0;
		}
		if (o == 'V') {
			print_version();
			return 0;
		}
		option(&cfg, o, optarg);
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if ((cfg.cert == NULL) != (cfg.key == NULL) || (cfg.tls && cfg.cert == NULL))
		diex(EX_USAGE, "--cert and --key go together, and --tls needs them");
	if (cfg.cmd_timeout == 0)
		cfg.cmd_timeout = SMTP_CMD_SECS;
	if (cfg.data_timeout == 0)
		cfg.data_timeout = cfg.cmd_timeout < SMTP_DATA_SECS ? cfg.cmd_timeout : SMTP_DATA_SECS;
	check_dirs(&cfg);
	if (cfg.mda != NULL)
		cfg.mda = resolve_mda(cfg.mda, mda, sizeof mda);
	if (cfg.smtp_send == NULL)
		cfg.smtp_send = beside_me("smtp-send", send, sizeof send);
	if (cfg.hostname[0] == '\0' && gethostname(cfg.hostname, sizeof cfg.hostname - 1) < 0)
		snprintf(cfg.hostname, sizeof cfg.hostname, "localhost");
	return smtpd_run(&cfg);
}
