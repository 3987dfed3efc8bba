/* mailauth.h — the mailauth program's entry points, one per command
 * (main.c only parses the command line). */
#ifndef MAILAUTH_H
#define MAILAUTH_H

#include <stdio.h>

struct mailauth_opts {
	const char *dns;        /* --dns SERVER[:PORT]; NULL: /etc/resolv.conf */
	int verbose;            /* -v: every DNS query and step on stderr */
	const char *domain;     /* -d */
	const char *selector;   /* -s */
	const char *keyfile;    /* -k */
	const char *alg;        /* -a rsa-sha256 | ed25519-sha256 */
	const char *canon;      /* -c header/body */
	const char *headers;    /* -H colon-separated names */
	const char *identity;   /* -i */
	long expire;            /* -x seconds */
	long long timestamp;    /* --timestamp (0: now) */
	long long body_len;     /* -l; -1: none */
	int bits;               /* keygen -b */
	int data_only;          /* keygen --data */
	const char *ip;         /* --ip */
	const char *helo;       /* --helo */
	const char *sender;     /* --sender */
	const char *authserv;   /* --authserv-id; NULL: the host name */
	int add;                /* verify --add */
	const char *psl;        /* --psl FILE: Public Suffix List */
	int sample;             /* --dmarc-sample N (tests): the pct draw; -1 random */
	const char *file;       /* message file; NULL: stdin */
	char **files;           /* verify: every FILE argument */
	int nfiles;
};

/* Each runs one command with output on out and returns an exit code
 * (sysexits). */
int mailauth_sign(const struct mailauth_opts *o, FILE *out);
int mailauth_verify(const struct mailauth_opts *o, FILE *out);
int mailauth_keygen(const struct mailauth_opts *o, FILE *out);
int mailauth_spf(const struct mailauth_opts *o, FILE *out);
int mailauth_seal(const struct mailauth_opts *o, FILE *out);

#endif
