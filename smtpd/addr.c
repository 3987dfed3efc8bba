/* addr.c — RFC 5321 4.1.2 paths, local domains, CIDR networks.
 *
 * A path is checked strictly (dot-string or quoted-string local part,
 * LDH domain or address literal), with UTF-8 allowed where RFC 6531 allows
 * it; a source route "@a,@b:" is accepted and dropped (RFC 5321 4.1.2,
 * C.).  "<postmaster>" without a domain is accepted for RCPT (4.5.1). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "smtpd.h"

int has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int is_atext(unsigned char c, int utf8)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) || (utf8 && c >= 0x80);
}

/* Local part [p, end): NULL or a reason. */
static const char *check_local(const char *p, const char *end, int utf8)
{
	if (p == end)
		return "empty local part";
	if (*p == '"') {
		/* qtextSMTP is %d32-126 but '"' and '\\' (RFC 6531 adds UTF-8);
		 * quoted-pairSMTP is '\\' then %d32-126: no TAB, no CR, no ESC,
		 * which would reach Return-Path: and the log raw. */
		for (p++; p < end - 1; p++) {
			unsigned char c = (unsigned char)*p;

			if (c == '\\' && p + 1 < end - 1) {
				c = (unsigned char)*++p;
				if (c < ' ' || c > '~')
					return "bad quoted local part";
			} else if (c == '"' || c == '\\' || c < ' ' || c == 0x7f ||
			    (c >= 0x80 && !utf8)) {
				return "bad quoted local part";
			}
		}
		return (end - p == 1 && *p == '"') ? NULL : "bad quoted local part";
	}
	for (const char *q = p; q < end; q++) {
		if (*q == '.') {
			if (q == p || q + 1 == end || q[1] == '.')
				return "bad dots in local part";
		} else if (!is_atext((unsigned char)*q, utf8)) {
			return "bad character in local part";
		}
	}
	return NULL;
}

/* Domain [p, end): LDH labels (UTF-8 too when utf8) or "[literal]". */
static const char *check_domain(const char *p, const char *end, int utf8)
{
	size_t label = 0;

	if (p == end)
		return "empty domain";
	if (*p == '[') {
		if (end[-1] != ']' || end - p < 3)
			return "bad address literal";
		for (const char *q = p + 1; q < end - 1; q++)
			if (*q < '!' || *q > '~' || *q == '[' || *q == ']' || *q == '\\')
				return "bad address literal";
		return NULL;
	}
	if (end - p > 255)
		return "domain too long";
	for (const char *q = p; q < end; q++) {
		unsigned char c = (unsigned char)*q;

		if (c == '.') {
			if (label == 0 || q[-1] == '-')
				return "bad domain";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0) || (c >= 0x80 && utf8)) {
			if (++label > 63)
				return "domain label too long";
		} else {
			return "bad character in domain";
		}
	}
	return (label == 0 || end[-1] == '-') ? "bad domain" : NULL;
}

/* The closing '>' of the path starting at p (after '<'), quote-aware. */
static char *path_end(char *p)
{
	int quoted = 0;

	for (; *p; p++) {
		if (quoted && *p == '\\' && p[1])
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (*p == '>' && !quoted)
			return p;
	}
	return NULL;
}

const char *parse_path(char **pp, char *out, size_t cap, int utf8, int null_ok)
{
	char *p = *pp, *end, *at;
	const char *why;

	if (*p != '<' || (end = path_end(p + 1)) == NULL)
		return "address must be in <...>";
	*pp = end + 1;
	while (**pp == ' ')
		(*pp)++;
	p++;
	if ((size_t)(end - p) + 2 > SMTP_PATH_MAX || (size_t)(end - p) >= cap)
		return "path too long";
	if (p == end) {
		if (!null_ok)
			return "null address not allowed here";
		out[0] = '\0';
		return NULL;
	}
	if (*p == '@') {                /* source route: "@a,@b:" */
		char *colon = memchr(p, ':', (size_t)(end - p));

		if (colon == NULL)
			return "bad source route";
		p = colon + 1;
	}
	/* The last '@' outside quotes splits local part and domain. */
	at = NULL;
	for (char *q = p, quoted = 0; q < end; q++) {
		if (quoted && *q == '\\')
			q++;
		else if (*q == '"')
			quoted = !quoted;
		else if (*q == '@' && !quoted)
			at = q;
	}
	if (at == NULL) {
		if (null_ok || (size_t)(end - p) != 10 || strncasecmp(p, "postmaster", 10) != 0)
			return "address needs a domain";
	} else if ((why = check_local(p, at, utf8)) != NULL ||
	    (why = check_domain(at + 1, end, utf8)) != NULL) {
		return why;
	}
	/* A quoted local part that needs no quotes ("bob"@d) is the same
	 * mailbox as bob@d (RFC 5321 4.1.2, RFC 5322 3.4.1): store it bare. */
	if (at != NULL && at - p >= 3 && *p == '"' && at[-1] == '"' &&
	    check_local(p + 1, at - 1, utf8) == NULL) {
		size_t ln = (size_t)(at - p) - 2;

		memcpy(out, p + 1, ln);
		memcpy(out + ln, at, (size_t)(end - at));
		out[ln + (size_t)(end - at)] = '\0';
		return NULL;
	}
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return NULL;
}

const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

int domain_is_local(const struct config *cfg, const char *domain)
{
	if (cfg->ndomains == 0)
		return strcasecmp(domain, cfg->hostname) == 0 || strcasecmp(domain, "localhost") == 0;
	for (size_t i = 0; i < cfg->ndomains; i++)
		if (strcasecmp(domain, cfg->domains[i]) == 0)
			return 1;
	return 0;
}

int cidr_parse(const char *text, struct cidr *c)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	int max;

	if (n >= sizeof host)
		return -1;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(c, 0, sizeof *c);
	if (inet_pton(AF_INET, host, c->addr) == 1)
		c->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, host, c->addr) == 1)
		c->family = AF_INET6, max = 128;
	else
		return -1;
	c->bits = max;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || b < 0 || b > max)
			return -1;
		c->bits = (int)b;
	}
	return 0;
}

static int prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));

	return (a[whole] & mask) == (b[whole] & mask);
}

int cidr_match(const struct cidr *c, size_t n, const char *addr)
{
	unsigned char a4[4], a6[16];
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	int v4 = inet_pton(AF_INET, addr, a4) == 1, v6 = !v4 && inet_pton(AF_INET6, addr, a6) == 1;

	if (v6 && memcmp(a6, mapped, 12) == 0) {   /* ::ffff:a.b.c.d is IPv4 */
		memcpy(a4, a6 + 12, 4);
		v4 = 1, v6 = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (c[i].family == AF_INET && v4 && prefix_eq(c[i].addr, a4, c[i].bits))
			return 1;
		if (c[i].family == AF_INET6 && v6 && prefix_eq(c[i].addr, a6, c[i].bits))
			return 1;
	}
	return 0;
}
