/* policy.c — who may relay, DNSBL (RFC 5782) and greylisting.
 *
 * Trusted clients (authenticated, or in --relay-from) skip the DNSBL and
 * greylist checks, as Postfix's permit_mynetworks and
 * permit_sasl_authenticated before reject_rbl_client do.  DNS failures
 * let mail through (fail open): a broken blocklist must not stop mail.
 *
 * Greylisting (lab 7): the triplet (client network, sender, recipient) is
 * hashed (SHA-256) to a file name in --greylist DIR.  The file holds the
 * UNIX time it was first seen; its mtime is when it was last seen.  A
 * triplet younger than --greylist-delay gets 451 4.7.1; one not seen for
 * SMTPD_GREYLIST_MAXAGE starts over.  The client network is the /24 of an
 * IPv4 address or the /64 of an IPv6 one, since big senders retry from
 * another host of the same pool. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>
#include <openssl/evp.h>

#include "dns.h"
#include "err.h"
#include "smtpd.h"

static int trusted(const struct session *s)
{
	return s->authuser[0] != '\0' ||
	    (s->peer.addr[0] && cidr_match(s->cfg->nets, s->cfg->nnets, s->peer.addr));
}

int relay_allowed(const struct session *s)
{
	return trusted(s);
}

/* Look the client up in every zone once per session. */
static void dnsbl_lookup(struct session *s)
{
	const struct config *c = s->cfg;
	struct dns_opts o = { .server = c->dns_server };
	char err[256], qname[DNS_NAME_MAX];
	struct dns *d = dns_open(&o, err, sizeof err);

	s->dnsbl_done = 1;
	if (d == NULL) {
		log_line(s, "warning: DNSBL: %s", err);
		return;
	}
	for (size_t i = 0; i < c->ndnsbl && !s->dnsbl_listed; i++) {
		struct dns_answer a = { 0 }, t = { 0 };

		if (dns_bl_name(s->peer.addr, c->dnsbl[i], qname, sizeof qname) < 0)
			continue;
		if (dns_query(d, qname, ns_t_a, &a) == DNS_OK && a.n > 0) {
			s->dnsbl_listed = 1;
			dns_query(d, qname, ns_t_txt, &t);
			snprintf(s->dnsbl_reason, sizeof s->dnsbl_reason,
			    "5.7.1 Service unavailable; Client host [%s] blocked using %s%s%s",
			    s->peer.addr, c->dnsbl[i], t.n > 0 ? "; " : "", t.n > 0 ? t.text[0] : "");
			/* The TXT text goes into our reply: keep it printable. */
			for (char *p = s->dnsbl_reason; *p; p++)
				if ((unsigned char)*p < ' ' || *p == 0x7f)
					*p = ' ';
		}
		dns_answer_free(&a);
		dns_answer_free(&t);
	}
	dns_close(d);
}

int dnsbl_check(struct session *s, char *why, size_t cap)
{
	if (s->cfg->ndnsbl == 0 || s->peer.addr[0] == '\0' || trusted(s))
		return 0;
	if (!s->dnsbl_done)
		dnsbl_lookup(s);
	if (!s->dnsbl_listed)
		return 0;
	snprintf(why, cap, "%s", s->dnsbl_reason);
	return 554;
}

/* The client's network as text: "192.0.2" or "2001:db8:0:1". */
static void client_net(const char *addr, char *out, size_t cap)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		snprintf(out, cap, "%u.%u.%u", a[0], a[1], a[2]);
	else if (inet_pton(AF_INET6, addr, a) == 1)
		snprintf(out, cap, "%x:%x:%x:%x", a[0] << 8 | a[1], a[2] << 8 | a[3],
		    a[4] << 8 | a[5], a[6] << 8 | a[7]);
	else
		snprintf(out, cap, "%s", addr[0] ? addr : "stdin");
}

static void triplet_file(const struct session *s, const char *rcpt, char *path, size_t cap)
{
	char net[64], hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct buf b = { 0 };

	client_net(s->peer.addr, net, sizeof net);
	buf_printf(&b, "%s%c%s%c", net, 0, s->from, 0);
	for (const char *p = rcpt; *p; p++)     /* recipients are case-insensitive in practice */
		buf_addc(&b, *p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	EVP_Digest(b.p, b.len, md, &mdlen, EVP_sha256(), NULL);
	buf_free(&b);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(path, cap, "%s/%s", s->cfg->greylist, hex);
}

/* Record the triplet as first seen now. */
static int triplet_new(const char *path, time_t now)
{
	char tmp[4200], text[32];
	int fd, n = snprintf(text, sizeof text, "%lld\n", (long long)now);

	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (write(fd, text, (size_t)n) != n || close(fd) < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int greylist_check(struct session *s, const char *rcpt)
{
	char path[4096], text[32];
	time_t now = time(NULL);
	long long first;
	struct stat st;
	ssize_t n;
	int fd;

	if (s->cfg->greylist == NULL || trusted(s))
		return 0;
	mkdir(s->cfg->greylist, 0700);
	triplet_file(s, rcpt, path, sizeof path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
	    (n = read(fd, text, sizeof text - 1)) <= 0 || now - st.st_mtime > SMTPD_GREYLIST_MAXAGE) {
		if (fd >= 0)
			close(fd);
		if (triplet_new(path, now) < 0) {
			int e = errno;

			/* Fail open, but never silently: the administrator
			 * must learn that greylisting is off. */
			log_line(s, "warning: greylist %s: %s", s->cfg->greylist, strerror(e));
			if (!s->cfg->verbose)
				warnx_("warning: greylist %s: %s", s->cfg->greylist, strerror(e));
			return -1;
		}
		return 451;
	}
	close(fd);
	text[n] = '\0';
	first = strtoll(text, NULL, 10);
	if (now - first < s->cfg->greylist_delay)
		return 451;
	utime(path, NULL);      /* last seen: keeps a regular correspondent known */
	return 0;
}
