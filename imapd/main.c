/* imapd — IMAP4rev1 server (RFC 3501 and extensions) on Maildir++:
 * options, then one session in inetd mode or a forking listener (-l). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <syslog.h>
#include <unistd.h>

#include "err.h"
#include "imapd.h"
#include "limits.h"
#include "mailbox.h"
#include "privsep.h"
#include "server.h"
#include "tls.h"

const char *const progname = "imapd";

enum { O_TLS = 256, O_PLAIN, O_CERT, O_KEY, O_USERS, O_MAILBOX, O_HOST, O_RUNAS, O_DELAY,
	O_SYSLOG };
enum { O_PERCLIENT = 300 };
enum { O_SUBMIT = 310 };
enum { O_QUOTA = 320 };
enum { O_HCACHE = 330 };

static const struct option opts[] = {
	{ "listen",         required_argument, NULL, 'l' },
	{ "hostname",       required_argument, NULL, O_HOST },
	{ "users",          required_argument, NULL, O_USERS },
	{ "mailbox",        required_argument, NULL, O_MAILBOX },
	{ "cert",           required_argument, NULL, O_CERT },
	{ "key",            required_argument, NULL, O_KEY },
	{ "tls",            no_argument,       NULL, O_TLS },
	{ "plaintext-auth", optional_argument, NULL, O_PLAIN },
	{ "user",           required_argument, NULL, O_RUNAS },
	{ "auth-delay",     required_argument, NULL, O_DELAY },
	{ "syslog",         no_argument,       NULL, O_SYSLOG },
	{ "max-per-client", required_argument, NULL, O_PERCLIENT },
	{ "submit-user",    required_argument, NULL, O_SUBMIT },
	{ "quota",          required_argument, NULL, O_QUOTA },
	{ "header-cache",   required_argument, NULL, O_HCACHE },
	{ "verbose",        no_argument,       NULL, 'v' },
	{ "help",           no_argument,       NULL, 'h' },
	{ "version",        no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: imapd [-v] [-l [ADDR:]PORT]... [--users FILE] [--mailbox TEMPLATE]\n"
	    "             [--cert FILE --key FILE [--tls]] [--plaintext-auth[=WHEN]]\n"
	    "             [--hostname NAME]\n"
	    "IMAP4rev1 server on Maildir++: one session on stdin/stdout (inetd mode),\n"
	    "or listening with -l.\n\n"
	    "  -l, --listen [ADDR:]PORT  listen and fork a session per connection (default 127.0.0.1)\n"
	    "      --users FILE          passwd-file (user:{SCHEME}secret:uid:gid:gecos:home:shell)\n"
	    "                            default: the system accounts\n"
	    "      --mailbox TEMPLATE    maildir:PATH with %%u %%n %%d %%h (default %s)\n"
	    "      --cert FILE, --key FILE  certificate and key: enables STARTTLS\n"
	    "      --tls                 TLS from the first byte (imaps, port 993)\n"
	    "      --plaintext-auth[=WHEN]  passwords without TLS: never, loopback (the\n"
	    "                            default: 127/8, ::1, a pipe) or always (the bare option)\n"
	    "      --hostname NAME       name in the greeting (default: the host name)\n"
	    "      --user NAME           as root: the login process's account (default nobody)\n"
	    "      --auth-delay SECS     pause after a failed login (default %d)\n"
	    "      --max-per-client N    sessions at once from one address with -l (default %d)\n"
	    "      --syslog              log logins and logouts to syslog (mail facility)\n"
	    "      --submit-user NAME    the submission server's login: may fetch submit+ URLAUTH URLs\n"
	    "      --quota BYTES[,MSGS]  quota where the Maildir's maildirsize sets none (K M G)\n"
	    "                            and the user has no passwd-file extra field\n"
	    "                            userdb_quota_rule=*:storage=N[KMG]:messages=N\n"
	    "      --header-cache BYTES  header fields kept for repeated searches and sorts\n"
	    "                            (K M G; default 64M, 0: none)\n"
	    "  -v, --verbose             protocol transcript on stderr, passwords masked\n"
	    "  -h, --help                show this help\n"
	    "  -V, --version             show the version\n", MAILBOX_DEFAULT, AUTH_FAIL_DELAY,
	    SERVER_PER_CLIENT_MAX);
}

struct opts {
	struct imapd_opts cfg;
	char *listen[SERVER_LISTEN_MAX];
	int   nlisten;
	const char *cert, *key;
	char  host[256];
	int   per_client;
};

/* "64M" and the like into *n; -1 if malformed or past 1 TiB. */
static int parse_bytes(const char *s, size_t *n)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end != '\0' || v > (1ull << 40) >> shift)
		return -1;
	*n = (size_t)(v << shift);
	return 0;
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;
	char *end;

	while ((c = getopt_long(argc, argv, "l:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (o->nlisten == SERVER_LISTEN_MAX)
				diex(EX_USAGE, "at most %d -l options", SERVER_LISTEN_MAX);
			o->listen[o->nlisten++] = optarg;
			break;
		case O_HOST:    o->cfg.hostname = optarg; break;
		case O_USERS:   o->cfg.users = optarg; break;
		case O_MAILBOX: o->cfg.mailbox = optarg; break;
		case O_CERT:    o->cert = optarg; break;
		case O_KEY:     o->key = optarg; break;
		case O_TLS:     o->cfg.implicit_tls = 1; break;
		case O_PLAIN:
			if ((o->cfg.plaintext_auth = server_plain_auth_arg(optarg)) < 0)
				diex(EX_USAGE, "--plaintext-auth=%s: expected never, loopback or always",
				    optarg);
			break;
		case O_RUNAS:   o->cfg.runas = optarg; break;
		case O_SYSLOG:  o->cfg.use_syslog = 1; break;
		case O_SUBMIT:
			if (!auth_name_ok(optarg))
				diex(EX_USAGE, "--submit-user %s: not a user name", optarg);
			o->cfg.submit_user = optarg;
			break;
		case O_QUOTA:
			if (quota_parse_option(optarg, &o->cfg.quota) < 0)
				diex(EX_USAGE, "--quota %s: expected BYTES[K|M|G][,MESSAGES]", optarg);
			break;
		case O_HCACHE:
			if (parse_bytes(optarg, &o->cfg.header_cache) < 0)
				diex(EX_USAGE, "--header-cache %s: expected BYTES[K|M|G]", optarg);
			break;
		case 'v':       o->cfg.verbose = 1; break;
		case O_PERCLIENT: {
			long v = strtol(optarg, &end, 10);

			if (*optarg < '0' || *optarg > '9' || *end != '\0' || v <= 0 ||
			    v > SERVER_CHILDREN_MAX)
				diex(EX_USAGE, "--max-per-client %s: expected 1..%d", optarg,
				    SERVER_CHILDREN_MAX);
			o->per_client = (int)v;
			break;
		}
		case O_DELAY:
			o->cfg.auth_delay = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || o->cfg.auth_delay < 0 || o->cfg.auth_delay > 60)
				diex(EX_USAGE, "--auth-delay: expected 0 to 60 seconds");
			break;
		case 'h':
			usage(stdout);
			exit(EX_OK);
		case 'V':
			print_version();
			exit(EX_OK);
		default:
			usage(stderr);
			exit(EX_USAGE);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(EX_USAGE);
	}
	if ((o->cert == NULL) != (o->key == NULL))
		diex(EX_USAGE, "--cert and --key go together");
	if (o->cfg.implicit_tls && o->cert == NULL)
		diex(EX_USAGE, "--tls needs --cert and --key");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct peer peer;
	char err[512];

	server_inetd_stderr("* BYE imapd: service not available, see the mail log\r\n");
	memset(&o, 0, sizeof o);
	o.cfg.mailbox = MAILBOX_DEFAULT;
	o.cfg.auth_delay = AUTH_FAIL_DELAY;
	o.cfg.header_cache = IMAP_HCACHE_MAX;
	parse(argc, argv, &o);
	if (o.cfg.hostname == NULL) {
		if (gethostname(o.host, sizeof o.host - 1) < 0 || o.host[0] == '\0')
			strcpy(o.host, "localhost");
		o.cfg.hostname = o.host;
	}
	/* Read the key while we may still be root, before any client byte. */
	if (o.cert && (o.cfg.ctx = tls_server_ctx(o.cert, o.key, err, sizeof err)) == NULL)
		diex(EX_CONFIG, "%s", err);
	if (o.cfg.use_syslog)
		openlog("imapd", LOG_PID, LOG_MAIL);
	if (o.cfg.verbose && geteuid() != 0)
		warnx_("privilege separation: off (not started as root: nothing to separate)");
	else if (o.cfg.verbose)
		warnx_("privilege separation: before login as %s (all ids), after login as the "
		    "mail owner", o.cfg.runas ? o.cfg.runas : PRIVSEP_USER);
	int rc;

	if (o.nlisten > 0) {
		struct server_limits lim = { o.per_client,
		    "* BYE Too many connections from your address\r\n", o.cfg.verbose };

		if (o.cfg.verbose)
			warnx_("limits: login within %d s, then idle %d s", LOGIN_SECS, IMAP_IDLE_SECS);
		rc = server_listen_limits(o.listen, o.nlisten, imapd_session, &o.cfg, 1, NULL, &lim);
	} else {
		server_peer(STDIN_FILENO, &peer);
		rc = imapd_session(STDIN_FILENO, STDOUT_FILENO, &peer, &o.cfg);
	}
	/* o is gone once main returns: free the context before (no leak report) */
	if (o.cfg.ctx)
		SSL_CTX_free(o.cfg.ctx);
	return rc;
}
