/* smtpd — SMTP, ESMTP and LMTP server (inetd mode or -l listening).
 * This file only parses options; the work starts in smtpd_run(). */
#include <getopt.h>
#include <libgen.h>
#include <linux/limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "err.h"
#include "smtpd.h"

const char *const progname = "smtpd";

enum {
	O_HOSTNAME = 256, O_USERS, O_MAILBOX, O_CERT, O_KEY, O_TLS, O_PLAINAUTH, O_SYSLOG,
	O_DOMAINS, O_RELAYFROM, O_QUEUE, O_MDA, O_LMTP, O_SUBMISSION, O_MAXSIZE, O_MAXRCPT,
	O_TIMEOUT, O_DATATIMEOUT, O_USER, O_DNSBL, O_DNS, O_GREYLIST, O_GREYDELAY, O_FILTER,
	O_SMTPSEND, O_MAXUSE,
	O_ALIASES, O_EXPN, O_NOFORWARD
};

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
	{ "plaintext-auth", no_argument,       NULL, O_PLAINAUTH },
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
	{ "aliases",        required_argument, NULL, O_ALIASES },
	{ "expn",           no_argument,       NULL, O_EXPN },
	{ "no-forward",     no_argument,       NULL, O_NOFORWARD },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: smtpd [-v] [-l [ADDR:]PORT]... [--hostname NAME] [--domains LIST]\n"
	    "             [--users FILE] [--mailbox TEMPLATE] [--mda CMD] [--queue DIR]\n"
	    "             [--relay-from CIDR,...] [--cert FILE --key FILE] [--tls]\n"
	    "             [--plaintext-auth] [--lmtp] [--submission] [--max-size N]\n"
	    "             [--max-rcpt N] [--timeout SECS] [--data-timeout SECS] [--user NAME]\n"
	    "             [--dnsbl ZONE] [--dns SERVER[:PORT]] [--greylist DIR]\n"
	    "             [--greylist-delay SECS] [--filter CMD] [--smtp-send CMD] [--syslog]\n"
	    "             [--max-use N] [--aliases FILE] [--expn] [--no-forward]\n"
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
	case O_PLAINAUTH: c->plaintext_auth = 1; break;
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
	case O_ALIASES: c->aliases = arg; break;
	case O_EXPN: c->expn = 1; break;
	case O_NOFORWARD: c->no_forward = 1; break;
	default: usage(stderr); exit(EX_USAGE);
	}
}

int main(int argc, char **argv)
{
	static struct config cfg;
	static char send[PATH_MAX];
	int o;

	cfg.max_size = SMTPD_SIZE_DEFAULT;
	cfg.max_rcpt = SMTP_RCPT_MAX;
	cfg.greylist_delay = SMTPD_GREYLIST_DELAY;
	cfg.max_use = SMTPD_MAX_USE;
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
	if (cfg.smtp_send == NULL)
		cfg.smtp_send = beside_me("smtp-send", send, sizeof send);
	if (cfg.hostname[0] == '\0' && gethostname(cfg.hostname, sizeof cfg.hostname - 1) < 0)
		snprintf(cfg.hostname, sizeof cfg.hostname, "localhost");
	return smtpd_run(&cfg);
}
