/* mailauth — SPF, DKIM, DMARC and ARC from the command line: sign, verify,
 * keygen.  main only parses options; mailauth.c does the work. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/crypto.h>

#include "err.h"
#include "mailauth.h"

const char *const progname = "mailauth";

#define BITS_MAX   16384        /* keygen: what OpenSSL makes in reasonable time */
#define EXPIRE_MAX (10L * 365 * 86400)

enum { O_DNS = 256, O_TIMESTAMP, O_DATA, O_IP, O_HELO, O_SENDER, O_AUTHSERV, O_ADD, O_PSL, O_SAMPLE };

static const struct option opts[] = {
	{ "dns",         required_argument, NULL, O_DNS },
	{ "verbose",     no_argument,       NULL, 'v' },
	{ "domain",      required_argument, NULL, 'd' },
	{ "selector",    required_argument, NULL, 's' },
	{ "key",         required_argument, NULL, 'k' },
	{ "algorithm",   required_argument, NULL, 'a' },
	{ "canon",       required_argument, NULL, 'c' },
	{ "headers",     required_argument, NULL, 'H' },
	{ "identity",    required_argument, NULL, 'i' },
	{ "expire",      required_argument, NULL, 'x' },
	{ "body-length", required_argument, NULL, 'l' },
	{ "timestamp",   required_argument, NULL, O_TIMESTAMP },
	{ "bits",        required_argument, NULL, 'b' },
	{ "data",        no_argument,       NULL, O_DATA },
	{ "ip",          required_argument, NULL, O_IP },
	{ "helo",        required_argument, NULL, O_HELO },
	{ "sender",      required_argument, NULL, O_SENDER },
	{ "authserv-id", required_argument, NULL, O_AUTHSERV },
	{ "add",         no_argument,       NULL, O_ADD },
	{ "psl",         required_argument, NULL, O_PSL },
	{ "dmarc-sample", required_argument, NULL, O_SAMPLE },
	{ "help",        no_argument,       NULL, 'h' },
	{ "version",     no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(FILE *f)
{
	fprintf(f,
	    "usage: mailauth spf --ip IP --sender ADDR [--helo NAME]\n"
	    "       mailauth sign -d DOMAIN -s SELECTOR -k KEYFILE [-a ALG] [-c H/B] [-H NAMES] [FILE]\n"
	    "       mailauth verify [--ip IP --helo NAME --sender ADDR] [--add] [FILE...]\n"
	    "       mailauth seal -d DOMAIN -s SELECTOR -k KEYFILE [--ip IP --sender ADDR] [FILE]\n"
	    "       mailauth keygen -k KEYFILE [-a ALG] [-b BITS] [-d DOMAIN] [-s SELECTOR] [--data]\n"
	    "Sign and check mail: SPF (RFC 7208), DKIM (RFC 6376, RFC 8463), DMARC (RFC 7489),\nARC (RFC 8617).\n\n"
	    "  -d, --domain=DOMAIN       signing domain (d=)\n"
	    "  -s, --selector=SELECTOR   key selector (s=): the key is at SELECTOR._domainkey.DOMAIN\n"
	    "  -k, --key=KEYFILE         private key, PEM (keygen writes one)\n"
	    "  -a, --algorithm=ALG       rsa-sha256 or ed25519-sha256 (default: the key's)\n"
	    "  -c, --canon=H/B           simple or relaxed, header/body (default relaxed/relaxed)\n"
	    "  -H, --headers=A:B:C       header fields to sign (default: From, To, Subject... present)\n"
	    "  -i, --identity=ID         agent or user identifier (i=)\n"
	    "  -x, --expire=SECS         signature expires SECS after signing (x=)\n"
	    "  -l, --body-length=N       sign only the first N canonical body bytes (l=; unsafe)\n"
	    "      --timestamp=T         signing time t= (seconds since 1970; default now)\n"
	    "  -b, --bits=N              keygen: RSA key size (default 2048)\n"
	    "      --data                keygen: print only the TXT record's data\n"
	    "      --ip=IP               spf, verify: the SMTP client's address\n"
	    "      --sender=ADDR         spf, verify: the MAIL FROM address (empty: null sender)\n"
	    "      --helo=NAME           spf, verify: the HELO/EHLO name\n"
	    "      --authserv-id=NAME    verify: name in Authentication-Results (default host name)\n"
	    "      --add                 verify: write the message with the field prepended\n"
	    "      --psl=FILE            verify: Public Suffix List for DMARC (default Debian's)\n"
	    "      --dmarc-sample=N      verify: draw N (0-99) for DMARC pct=, not a random one\n"
	    "      --dns=SERVER[:PORT]   ask this DNS server, not resolv.conf's\n"
	    "  -v, --verbose             show every DNS query and each step on stderr\n"
	    "  -h, --help                show this help\n"
	    "  -V, --version             show the version\n\n"
	    "Exit: 0 done (verify: whatever the verdict), 64 usage, 65 bad message,\n"
	    "66 cannot read input, 73 cannot write key file, 75 temporary failure.\n");
}

static long long num(const char *s, long long min, long long max, const char *what)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || *end || v < min || v > max)
		diex(EX_USAGE, "%s %s: want a number from %lld to %lld", what, s, min, max);
	return v;
}

static void parse(struct mailauth_opts *o, int argc, char **argv, int verify)
{
	int c;

	while ((c = getopt_long(argc, argv, "vd:s:k:a:c:H:i:x:l:b:hV", opts, NULL)) != -1) {
		switch (c) {
		case O_DNS: o->dns = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'k': o->keyfile = optarg; break;
		case 'a': o->alg = optarg; break;
		case 'c': o->canon = optarg; break;
		case 'H': o->headers = optarg; break;
		case 'i': o->identity = optarg; break;
		case 'x': o->expire = (long)num(optarg, 1, EXPIRE_MAX, "--expire"); break;
		case 'l': o->body_len = num(optarg, 0, 1LL << 40, "--body-length"); break;
		case O_TIMESTAMP: o->timestamp = num(optarg, 1, 1LL << 40, "--timestamp"); break;
		case 'b': o->bits = (int)num(optarg, 512, BITS_MAX, "--bits"); break;
		case O_DATA: o->data_only = 1; break;
		case O_IP: o->ip = optarg; break;
		case O_HELO: o->helo = optarg; break;
		case O_SENDER: o->sender = optarg; break;
		case O_AUTHSERV: o->authserv = optarg; break;
		case O_ADD: o->add = 1; break;
		case O_PSL: o->psl = optarg; break;
		case O_SAMPLE: o->sample = (int)num(optarg, 0, 99, "--dmarc-sample"); break;
		case 'h': usage(stdout); exit(0);
		case 'V': print_version(); exit(0);
		default: usage(stderr); exit(EX_USAGE);
		}
	}
	o->files = argv + optind;
	o->nfiles = argc - optind;
	if (optind < argc)
		o->file = argv[optind];
	if (o->nfiles > 1 && !verify) {
		usage(stderr);
		exit(EX_USAGE);
	}
}

int main(int argc, char **argv)
{
	struct mailauth_opts o = { .body_len = -1, .sample = -1 };
	const char *cmd = argc > 1 ? argv[1] : "";

	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		print_version();
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	parse(&o, argc - 1, argv + 1, strcmp(cmd, "verify") == 0);
	/* verify uses OpenSSL for hashes and public keys only, which nothing
	 * in openssl.cnf changes; reading it was a sixth of what one
	 * `mailauth verify` of one message executed */
	if (strcmp(cmd, "verify") == 0)
		OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	if (strcmp(cmd, "sign") == 0)
		return mailauth_sign(&o, stdout);
	if (strcmp(cmd, "verify") == 0)
		return mailauth_verify(&o, stdout);
	if (strcmp(cmd, "keygen") == 0)
		return mailauth_keygen(&o, stdout);
	if (strcmp(cmd, "spf") == 0)
		return mailauth_spf(&o, stdout);
	if (strcmp(cmd, "seal") == 0)
		return mailauth_seal(&o, stdout);
	warnx_("%s: unknown command (spf, sign, verify, seal, keygen)", cmd);
	usage(stderr);
	return EX_USAGE;
}
