/* dns.c — a small stub resolver for mail routing (see dns.h).
 *
 * Design note.  We do not call res_nquery(): it cannot aim at a server on a
 * port other than 53 portably, it hides the RCODE behind h_errno (SERVFAIL
 * and a timeout both become TRY_AGAIN), and it would let us print nothing
 * of the exchange for -v.  So each query is built here (RFC 1035 4.1),
 * sent over UDP from a fresh socket connected to the server (so the kernel
 * drops datagrams from anyone else and picks a random source port), and an
 * answer is only taken if its id, QR bit and question match ours, against
 * off-path spoofing.  A truncated answer is asked again over TCP (RFC 7766).
 * SERVFAIL, REFUSED, NOTIMP and FORMERR move on to the next server, as
 * glibc's res_send does; when every try failed the lookup is temporary.
 * Parsing uses libresolv's ns_initparse()/ns_parserr(), which bound every
 * name and record by the message. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"
#include "err.h"

#define DNS_SERVERS_MAX  MAXNS   /* resolv.conf keeps at most 3 (resolv.conf(5)) */
#define DNS_HDR          12      /* RFC 1035 4.1.1 */
#define DNS_ERR_MAX      256

struct dns {
	struct sockaddr_storage srv[DNS_SERVERS_MAX];
	socklen_t srvlen[DNS_SERVERS_MAX];
	int nsrv;
	int timeout_ms;
	int tries;
	int route_ms;
	FILE *trace;
	char err[DNS_ERR_MAX];
};

/* ---------------------------------------------------------------- names */

int dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	/* A trailing dot names the root; an escaped one ("a\.") does not. */
	if (la > 1 && a[la - 1] == '.' && a[la - 2] != '\\')
		la--;
	if (lb > 1 && b[lb - 1] == '.' && b[lb - 2] != '\\')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void seterr(struct dns *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seterr(struct dns *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof d->err, fmt, ap);
	va_end(ap);
}

const char *dns_error(const struct dns *d)
{
	return d->err;
}

/* "addr#port" as dig prints a server. */
static void sockaddr_text(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof a);
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof a);
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, cap, "%s#%u", a, port);
}

/* ---------------------------------------------------------- server spec */

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static int host_sockaddr(const char *host, unsigned port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res;

	memset(ss, 0, sizeof *ss);
	/* A name for the server itself is looked up by the system, as dig @name does. */
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		return -1;
	return 0;
}

int dns_parse_server(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
    char *err, size_t errlen)
{
	char host[DNS_NAME_MAX];
	const char *colon, *portp = NULL;
	unsigned port = DNS_PORT;
	size_t hl;

	if (spec[0] == '[') {                   /* [V6] or [V6]:PORT */
		const char *rb = strchr(spec, ']');
		if (!rb || (rb[1] && rb[1] != ':'))
			goto bad;
		hl = (size_t)(rb - spec - 1);
		if (hl == 0 || hl >= sizeof host)
			goto bad;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (rb[1] == ':')
			portp = rb + 2;
	} else if ((colon = strchr(spec, ':')) && strchr(colon + 1, ':')) {
		hl = strlen(spec);              /* bare IPv6 literal: no port */
		if (hl >= sizeof host)
			goto bad;
		memcpy(host, spec, hl + 1);
	} else {
		hl = colon ? (size_t)(colon - spec) : strlen(spec);
		if (hl == 0 || hl >= sizeof host)
			goto bad;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (colon)
			portp = colon + 1;
	}
	if (portp && parse_port(portp, &port) < 0) {
		snprintf(err, errlen, "%s: bad port", spec);
		return -1;
	}
	if (host_sockaddr(host, port, ss, len) < 0) {
		snprintf(err, errlen, "%s: cannot resolve server address", spec);
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s: bad server, want HOST[:PORT] or [IPV6]:PORT", spec);
	return -1;
}

/* ------------------------------------------------------------ open/close */

/* Take the name servers, timeout and attempts of /etc/resolv.conf from
 * glibc's parser, so options and RES_OPTIONS behave as for every program. */
static int load_resolv_conf(struct dns *d, char *err, size_t errlen)
{
	struct __res_state st;

	memset(&st, 0, sizeof st);
	if (res_ninit(&st) < 0) {
		snprintf(err, errlen, "cannot read /etc/resolv.conf");
		return -1;
	}
	for (int i = 0; i < st.nscount && d->nsrv < DNS_SERVERS_MAX; i++) {
		struct sockaddr_storage *ss = &d->srv[d->nsrv];
		memset(ss, 0, sizeof *ss);
		if (st.nsaddr_list[i].sin_family == AF_INET) {
			memcpy(ss, &st.nsaddr_list[i], sizeof st.nsaddr_list[i]);
			d->srvlen[d->nsrv++] = sizeof(struct sockaddr_in);
		} else if (st._u._ext.nsaddrs[i] &&
		    st._u._ext.nsaddrs[i]->sin6_family == AF_INET6) {
			memcpy(ss, st._u._ext.nsaddrs[i], sizeof(struct sockaddr_in6));
			d->srvlen[d->nsrv++] = sizeof(struct sockaddr_in6);
		}
	}
	if (!d->timeout_ms)
		d->timeout_ms = st.retrans > 0 ? st.retrans * 1000 : DNS_TIMEOUT_MS;
	if (!d->tries)
		d->tries = st.retry > 0 ? st.retry : DNS_TRIES;
	res_nclose(&st);
	if (d->nsrv == 0) {     /* resolv.conf(5): no nameserver line means the local host */
		struct sockaddr_in *s4 = (struct sockaddr_in *)&d->srv[0];
		memset(s4, 0, sizeof *s4);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(DNS_PORT);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		d->srvlen[0] = sizeof *s4;
		d->nsrv = 1;
	}
	return 0;
}

struct dns *dns_open(const struct dns_opts *o, char *err, size_t errlen)
{
	struct dns *d = xcalloc(1, sizeof *d);
	static const struct dns_opts defaults;

	if (!o)
		o = &defaults;
	d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
	d->tries = o->tries > 0 ? o->tries : 0;
	d->trace = o->trace;
	d->route_ms = o->route_ms > 0 ? o->route_ms : DNS_ROUTE_MS;
	if (o->server) {
		if (dns_parse_server(o->server, &d->srv[0], &d->srvlen[0], err, errlen) < 0) {
			free(d);
			return NULL;
		}
		d->nsrv = 1;
		if (!d->timeout_ms)
			d->timeout_ms = DNS_TIMEOUT_MS;
		if (!d->tries)
			d->tries = DNS_TRIES;
	} else if (load_resolv_conf(d, err, errlen) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void dns_close(struct dns *d)
{
	free(d);
}

/* -------------------------------------------------------------- queries */

static unsigned rand16(void)
{
	uint16_t v = 0;

	if (getrandom(&v, sizeof v, 0) != sizeof v)
		v = (uint16_t)(time(NULL) ^ getpid());
	return v;
}

/* Build a standard recursive query for name/type IN into q.  Returns its
 * length, or -1 if the name is not a valid domain name. */
static int mkquery(const char *name, int type, unsigned id, unsigned char *q, size_t cap)
{
	unsigned char *p;
	int n;

	if (cap < DNS_HDR + 4)
		return -1;
	memset(q, 0, DNS_HDR);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01;                        /* RD: ask the server to recurse */
	q[5] = 1;                           /* QDCOUNT */
	if (!*name)
		return -1;
	n = dn_comp(name, q + DNS_HDR, (int)(cap - DNS_HDR - 4), NULL, NULL);
	if (n < 0)
		return -1;
	p = q + DNS_HDR + n;
	NS_PUT16(type, p);
	NS_PUT16(ns_c_in, p);
	return DNS_HDR + n + 4;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline.  1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

/* Is ans (n bytes) the answer to query q (qn bytes)?  Same id, QR set,
 * same opcode and the very same question (RFC 5452 4.1), names compared
 * without case. */
static int answer_matches(const unsigned char *q, size_t qn, const unsigned char *ans, size_t n)
{
	char qname[NS_MAXDNAME], aname[NS_MAXDNAME];
	int ql, al;

	if (n < DNS_HDR || ans[0] != q[0] || ans[1] != q[1] || !(ans[2] & 0x80))
		return 0;
	if ((ans[2] & 0x78) != (q[2] & 0x78) || ans[4] != 0 || ans[5] != 1)
		return 0;
	ql = dn_expand(q, q + qn, q + DNS_HDR, qname, sizeof qname);
	al = dn_expand(ans, ans + n, ans + DNS_HDR, aname, sizeof aname);
	if (ql < 0 || al < 0 || (size_t)(DNS_HDR + al + 4) > n)
		return 0;
	return strcasecmp(qname, aname) == 0 &&
	    memcmp(q + DNS_HDR + ql, ans + DNS_HDR + al, 4) == 0;
}

/* One exchange over UDP.  Returns the answer length, 0 on timeout, -1 on
 * a network error (errno set). */
static int try_udp(const struct sockaddr_storage *ss, socklen_t sl, const unsigned char *q,
    size_t qn, unsigned char *ans, size_t cap, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int fd, r = 0;

	if ((fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0 || send(fd, q, qn, 0) < 0) {
		r = -1;
		goto out;
	}
	for (;;) {
		ssize_t n;
		if ((r = wait_fd(fd, POLLIN, deadline)) <= 0)
			break;
		n = recv(fd, ans, cap, 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			r = -1;         /* ECONNREFUSED: nothing listens there */
			break;
		}
		if (answer_matches(q, qn, ans, (size_t)n)) {
			r = (int)n;
			break;
		}
		/* Not ours (late, spoofed or garbage): keep waiting. */
	}
out:
	{
		int e = errno;
		close(fd);
		errno = e;
	}
	return r;
}

/* Read or write exactly n bytes on a non-blocking socket before deadline. */
static int io_full(int fd, int writing, unsigned char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ssize_t k;
		int w = wait_fd(fd, writing ? POLLOUT : POLLIN, deadline);
		if (w <= 0) {
			if (w == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		k = writing ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = ECONNRESET;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* One exchange over TCP, each message after a 2-byte length (RFC 1035
 * 4.2.2).  Returns the answer length, 0 on timeout, -1 on error. */
static int try_tcp(const struct sockaddr_storage *ss, socklen_t sl, const unsigned char *q,
    size_t qn, unsigned char *ans, size_t cap, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	unsigned char len[2] = { (unsigned char)(qn >> 8), (unsigned char)qn };
	unsigned char *qq = (unsigned char *)q;
	int fd, r = -1, soerr = 0;
	socklen_t el = sizeof soerr;
	size_t n;

	if ((fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0 && errno != EINPROGRESS)
		goto out;
	if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0)
		goto out;
	r = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 || soerr) {
		errno = soerr ? soerr : errno;
		goto out;
	}
	if (io_full(fd, 1, len, 2, deadline) < 0 || io_full(fd, 1, qq, qn, deadline) < 0 ||
	    io_full(fd, 0, len, 2, deadline) < 0)
		goto tmo;
	n = (size_t)len[0] << 8 | len[1];
	if (n > cap) {
		errno = EMSGSIZE;
		goto out;
	}
	if (io_full(fd, 0, ans, n, deadline) < 0)
		goto tmo;
	r = answer_matches(q, qn, ans, n) ? (int)n : -1;
	if (r < 0)
		errno = EPROTO;
	goto out;
tmo:
	r = errno == ETIMEDOUT ? 0 : -1;
out:
	{
		int e = errno;
		close(fd);
		errno = e;
	}
	return r;
}

/* ---------------------------------------------------------------- trace */

static const struct { int type; const char *name; } rrtypes[] = {
	{ ns_t_a, "A" }, { ns_t_ns, "NS" }, { ns_t_cname, "CNAME" }, { ns_t_soa, "SOA" },
	{ ns_t_ptr, "PTR" }, { ns_t_mx, "MX" }, { ns_t_txt, "TXT" }, { ns_t_aaaa, "AAAA" },
	{ ns_t_srv, "SRV" }, { ns_t_opt, "OPT" }, { ns_t_any, "ANY" },
};

static const char *const rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
};

static const char *type_name(int type, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof rrtypes / sizeof rrtypes[0]; i++)
		if (rrtypes[i].type == type)
			return rrtypes[i].name;
	snprintf(buf, cap, "TYPE%d", type);     /* RFC 3597 5 */
	return buf;
}

static const char *rcode_name(int rcode, char *buf, size_t cap)
{
	if (rcode >= 0 && (size_t)rcode < sizeof rcodes / sizeof rcodes[0])
		return rcodes[rcode];
	snprintf(buf, cap, "RCODE%d", rcode);
	return buf;
}

/* name with the trailing dot dig prints ("." for the root). */
static const char *fqdn(const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);

	if (n == 0 || strcmp(name, ".") == 0)
		return ".";
	snprintf(buf, cap, "%s%s", name, name[n - 1] == '.' && (n < 2 || name[n - 2] != '\\') ?
	    "" : ".");
	return buf;
}

static int uncompress(const ns_msg *m, const unsigned char *p, char *name, size_t cap)
{
	char tmp[NS_MAXDNAME];

	if (p >= ns_msg_end(*m) ||
	    ns_name_uncompress(ns_msg_base(*m), ns_msg_end(*m), p, tmp, sizeof tmp) < 0)
		return -1;
	fqdn(tmp, name, cap);
	if (strcmp(tmp, "") == 0 || strcmp(tmp, ".") == 0)
		snprintf(name, cap, ".");
	return 0;
}

/* TXT data as dig prints it: each character-string quoted, '"' and '\\'
 * escaped, other bytes outside printable ASCII as \\DDD. */
static int txt_quoted(const unsigned char *rd, const unsigned char *end, struct buf *b)
{
	for (const unsigned char *p = rd; p < end; p += 1 + *p) {
		if ((size_t)(end - p) < 1u + *p)
			return -1;
		buf_adds(b, p == rd ? "\"" : " \"");
		for (unsigned i = 1; i <= *p; i++) {
			if (p[i] < 0x20 || p[i] > 0x7e)
				buf_printf(b, "\\%03u", p[i]);
			else if (p[i] == '"' || p[i] == '\\')
				buf_printf(b, "\\%c", p[i]);
			else
				buf_addc(b, p[i]);
		}
		buf_addc(b, '"');
	}
	return 0;
}

/* SOA: MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 3.3.13). */
static int soa_text(const ns_msg *m, const unsigned char *rd, const unsigned char *end,
    struct buf *b)
{
	char n1[NS_MAXDNAME + 1], n2[NS_MAXDNAME + 1];
	const unsigned char *p;
	int k1, k2;

	if ((k1 = dn_skipname(rd, end)) < 0 || (k2 = dn_skipname(rd + k1, end)) < 0 ||
	    end - (rd + k1 + k2) != 20)
		return -1;
	if (uncompress(m, rd, n1, sizeof n1) < 0 || uncompress(m, rd + k1, n2, sizeof n2) < 0)
		return -1;
	p = rd + k1 + k2;
	buf_printf(b, "%s %s %lu %lu %lu %lu %lu", n1, n2, (unsigned long)ns_get32(p),
	    (unsigned long)ns_get32(p + 4), (unsigned long)ns_get32(p + 8),
	    (unsigned long)ns_get32(p + 12), (unsigned long)ns_get32(p + 16));
	return 0;
}

/* The data of a record in zone-file form, as dig prints it (RFC 1035 5.1;
 * unknown types as RFC 3597 5 "\\# len hex").  Returns -1 if malformed. */
static int rdata_text(const ns_msg *m, const ns_rr *rr, struct buf *b)
{
	const unsigned char *rd = ns_rr_rdata(*rr), *end = rd + ns_rr_rdlen(*rr);
	size_t rl = ns_rr_rdlen(*rr);
	char n1[NS_MAXDNAME + 1], a[INET6_ADDRSTRLEN];
	int fam = ns_rr_type(*rr) == ns_t_a ? AF_INET : AF_INET6;

	switch (ns_rr_type(*rr)) {
	case ns_t_a:
	case ns_t_aaaa:
		if (rl != (fam == AF_INET ? 4u : 16u) || !inet_ntop(fam, rd, a, sizeof a))
			return -1;
		buf_adds(b, a);
		return 0;
	case ns_t_ns:
	case ns_t_cname:
	case ns_t_ptr:
		if (uncompress(m, rd, n1, sizeof n1) < 0)
			return -1;
		buf_adds(b, n1);
		return 0;
	case ns_t_mx:
		if (rl < 3 || uncompress(m, rd + 2, n1, sizeof n1) < 0)
			return -1;
		buf_printf(b, "%u %s", ns_get16(rd), n1);
		return 0;
	case ns_t_txt:
		return txt_quoted(rd, end, b);
	case ns_t_soa:
		return soa_text(m, rd, end, b);
	default:
		buf_printf(b, "\\# %zu%s", rl, rl ? " " : "");
		for (size_t i = 0; i < rl; i++)
			buf_printf(b, "%02X", rd[i]);
		return 0;
	}
}

static void trace_section(FILE *f, ns_msg *m, ns_sect s, const char *title)
{
	ns_rr rr;
	char tb[16], nb[NS_MAXDNAME + 1];
	int n = ns_msg_count(*m, s);

	if (n == 0)
		return;
	fprintf(f, "\n;; %s SECTION:\n", title);
	for (int i = 0; i < n; i++) {
		struct buf b = { 0 };
		if (ns_parserr(m, s, i, &rr) < 0) {
			fprintf(f, ";; (malformed record)\n");
			return;
		}
		if (s == ns_s_qd) {
			fprintf(f, ";%s\t\t\tIN\t%s\n", fqdn(ns_rr_name(rr), nb, sizeof nb),
			    type_name(ns_rr_type(rr), tb, sizeof tb));
			continue;
		}
		if (ns_rr_type(rr) == ns_t_opt) {       /* EDNS0 pseudo-record, RFC 6891 */
			fprintf(f, "; OPT: udp=%u\n", ns_rr_class(rr));
			continue;
		}
		fprintf(f, "%s\t\t%lu\tIN\t%s\t", fqdn(ns_rr_name(rr), nb, sizeof nb),
		    (unsigned long)ns_rr_ttl(rr), type_name(ns_rr_type(rr), tb, sizeof tb));
		if (rdata_text(m, &rr, &b) < 0)
			fprintf(f, "; (malformed data)\n");
		else
			fprintf(f, "%s\n", b.p);
		buf_free(&b);
	}
}

/* Print a query or an answer the way dig does, so a student reads the
 * message itself. */
static void trace_msg(FILE *f, const char *what, const unsigned char *msg, size_t n,
    const char *server, const char *proto)
{
	static const struct { ns_flag flag; const char *name; } flags[] = {
		{ ns_f_qr, "qr" }, { ns_f_aa, "aa" }, { ns_f_tc, "tc" }, { ns_f_rd, "rd" },
		{ ns_f_ra, "ra" }, { ns_f_ad, "ad" }, { ns_f_cd, "cd" },
	};
	ns_msg m;
	char rb[16];

	if (server)
		fprintf(f, "\n;; %s %s %s (%s), %zu bytes\n", what,
		    strcmp(what, "QUERY") == 0 ? "to" : "from", server, proto, n);
	else
		fprintf(f, "\n;; %s, %zu bytes\n", what, n);
	if (ns_initparse(msg, (int)n, &m) < 0) {
		fprintf(f, ";; malformed message\n");
		return;
	}
	fprintf(f, ";; ->>HEADER<<- opcode: %s, status: %s, id: %u\n",
	    ns_msg_getflag(m, ns_f_opcode) == 0 ? "QUERY" : "OTHER",
	    rcode_name(ns_msg_getflag(m, ns_f_rcode), rb, sizeof rb), ns_msg_id(m));
	fprintf(f, ";; flags:");
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		if (ns_msg_getflag(m, flags[i].flag))
			fprintf(f, " %s", flags[i].name);
	fprintf(f, "; QUERY: %d, ANSWER: %d, AUTHORITY: %d, ADDITIONAL: %d\n",
	    ns_msg_count(m, ns_s_qd), ns_msg_count(m, ns_s_an), ns_msg_count(m, ns_s_ns),
	    ns_msg_count(m, ns_s_ar));
	trace_section(f, &m, ns_s_qd, "QUESTION");
	trace_section(f, &m, ns_s_an, "ANSWER");
	trace_section(f, &m, ns_s_ns, "AUTHORITY");
	trace_section(f, &m, ns_s_ar, "ADDITIONAL");
	fflush(f);
}

void dns_print_msg(FILE *f, const unsigned char *msg, size_t len)
{
	trace_msg(f, "MESSAGE", msg, len, NULL, NULL);
}

/* ------------------------------------------------------------- exchange */

/* The RCODEs after which another server may do better (glibc res_send). */
static int rcode_next_server(int rcode)
{
	return rcode == ns_r_servfail || rcode == ns_r_refused || rcode == ns_r_notimpl ||
	    rcode == ns_r_formerr;
}

/* One try at server i: UDP, then TCP if truncated.  Returns the answer
 * length, or 0 after setting d->err. */
static int try_server(struct dns *d, int i, const unsigned char *q, size_t qn,
    unsigned char *ans, size_t cap)
{
	char srv[INET6_ADDRSTRLEN + 8];
	const char *proto = "UDP";
	int n;

	sockaddr_text(&d->srv[i], srv, sizeof srv);
	if (d->trace)
		trace_msg(d->trace, "QUERY", q, qn, srv, proto);
	n = try_udp(&d->srv[i], d->srvlen[i], q, qn, ans, cap, d->timeout_ms);
	if (n > 0 && (ans[2] & 0x02)) {         /* TC: ask again over TCP */
		if (d->trace)
			fprintf(d->trace, ";; truncated, retrying in TCP mode\n");
		proto = "TCP";
		n = try_tcp(&d->srv[i], d->srvlen[i], q, qn, ans, cap, d->timeout_ms);
	}
	if (n == 0) {
		seterr(d, "timed out after %d ms waiting for %s (%s)", d->timeout_ms, srv, proto);
		if (d->trace)
			fprintf(d->trace, ";; %s\n", d->err);
		return 0;
	}
	if (n < 0) {
		seterr(d, "%s (%s): %s", srv, proto, strerror(errno));
		if (d->trace)
			fprintf(d->trace, ";; %s\n", d->err);
		return 0;
	}
	if (d->trace)
		trace_msg(d->trace, "ANSWER", ans, (size_t)n, srv, proto);
	return n;
}

/* Ask name/type of the servers in turn, d->tries rounds.  Returns the
 * length of a usable answer in ans (NOERROR or NXDOMAIN), or 0 with
 * d->err saying why not. */
static int transact(struct dns *d, const char *name, int type, unsigned char *ans, size_t cap)
{
	unsigned char q[DNS_UDP_MAX];
	int qn = mkquery(name, type, rand16(), q, sizeof q);
	char rb[16], srv[INET6_ADDRSTRLEN + 8];

	if (qn < 0) {
		seterr(d, "%s: not a valid domain name", name);
		return 0;
	}
	for (int t = 0; t < d->tries; t++) {
		for (int i = 0; i < d->nsrv; i++) {
			int n = try_server(d, i, q, (size_t)qn, ans, cap), rcode;
			if (n == 0)
				continue;
			rcode = ans[3] & 0x0f;
			if (!rcode_next_server(rcode))
				return n;
			sockaddr_text(&d->srv[i], srv, sizeof srv);
			seterr(d, "%s from %s", rcode_name(rcode, rb, sizeof rb), srv);
			/* A lone server's SERVFAIL or REFUSED is its answer for
			 * now: asking it again at once will not change it. */
			if (d->nsrv == 1)
				return 0;
		}
	}
	return 0;
}

/* -------------------------------------------------------------- parsing */

static void answer_add(struct dns_answer *a, char *text)
{
	a->text = xrealloc(a->text, (a->n + 1) * sizeof *a->text);
	a->text[a->n++] = text;
}

void dns_answer_free(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->text[i]);
	free(a->text);
	free(a->name);
	memset(a, 0, sizeof *a);
}

/* TXT character-strings (RFC 1035 3.3.14) joined, bytes outside printable
 * ASCII written \DDD as in a zone file, so hostile text stays one line. */
static char *txt_text(const unsigned char *p, size_t n)
{
	struct buf b = { 0 };
	size_t i = 0;

	buf_adds(&b, "");
	while (i < n) {
		size_t l = p[i++];
		if (l > n - i) {
			buf_free(&b);
			return NULL;
		}
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];
			if (c < 0x20 || c > 0x7e || c == '\\')
				buf_printf(&b, "\\%03u", c);
			else
				buf_addc(&b, c);
		}
		i += l;
	}
	return buf_take(&b);
}

/* The presentation text of one record's data for dns_answer, or NULL if
 * the record is malformed. */
static char *rr_text(const ns_msg *m, const ns_rr *rr)
{
	const unsigned char *rd = ns_rr_rdata(*rr);
	size_t rl = ns_rr_rdlen(*rr);
	char name[NS_MAXDNAME], a[INET6_ADDRSTRLEN];
	char *out;

	switch (ns_rr_type(*rr)) {
	case ns_t_a:
	case ns_t_aaaa: {
		int fam = ns_rr_type(*rr) == ns_t_a ? AF_INET : AF_INET6;
		if (rl != (fam == AF_INET ? 4u : 16u) || !inet_ntop(fam, rd, a, sizeof a))
			return NULL;
		return xstrdup(a);
	}
	case ns_t_mx:
		if (rl < 3 || ns_name_uncompress(ns_msg_base(*m), ns_msg_end(*m), rd + 2, name,
		    sizeof name) < 0)
			return NULL;
		out = xmalloc(strlen(name) + 8);
		sprintf(out, "%u %s", ns_get16(rd), name);
		return out;
	case ns_t_cname:
	case ns_t_ptr:
	case ns_t_ns:
		if (ns_name_uncompress(ns_msg_base(*m), ns_msg_end(*m), rd, name, sizeof name) < 0)
			return NULL;
		return xstrdup(name);
	case ns_t_txt:
		return txt_text(rd, rl);
	default: {
		struct buf b = { 0 };
		if (rdata_text(m, rr, &b) < 0) {
			buf_free(&b);
			return NULL;
		}
		return buf_take(&b);
	}
	}
}

/* Follow the CNAME chain from qname through the answer section; the name
 * where it ends goes to buf.  Returns the number of hops, or -1 on a
 * malformed record. */
static int follow_cnames(ns_msg *m, const char *qname, char *buf, size_t cap)
{
	int hops = 0, moved = 1, n = ns_msg_count(*m, ns_s_an);
	ns_rr rr;

	snprintf(buf, cap, "%s", qname);
	while (moved && hops < DNS_CNAME_MAX) {
		moved = 0;
		for (int i = 0; i < n; i++) {
			char target[NS_MAXDNAME];
			if (ns_parserr(m, ns_s_an, i, &rr) < 0)
				return -1;
			if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in ||
			    !dns_name_eq(ns_rr_name(rr), buf))
				continue;
			if (ns_name_uncompress(ns_msg_base(*m), ns_msg_end(*m), ns_rr_rdata(rr),
			    target, sizeof target) < 0)
				return -1;
			snprintf(buf, cap, "%s", target);
			hops++;
			moved = 1;
			break;
		}
	}
	return hops;
}

enum dns_status dns_parse_answer(const unsigned char *msg, size_t len, const char *qname,
    int qtype, struct dns_answer *out, int *rcode, int *cname_end)
{
	char end[NS_MAXDNAME];
	ns_msg m;
	ns_rr rr;
	int hops, n;

	memset(out, 0, sizeof *out);
	*rcode = -1;
	*cname_end = 0;
	if (len > DNS_MSG_MAX || ns_initparse(msg, (int)len, &m) < 0)
		return DNS_TEMPFAIL;
	*rcode = ns_msg_getflag(m, ns_f_rcode);
	if ((hops = follow_cnames(&m, qname, end, sizeof end)) < 0)
		return DNS_TEMPFAIL;
	out->name = xstrdup(end);
	out->hops = hops;
	if (*rcode == ns_r_nxdomain)    /* RFC 6604 3: about the chain's last name */
		return DNS_NXDOMAIN;
	if (*rcode != ns_r_noerror)
		return DNS_TEMPFAIL;
	n = ns_msg_count(m, ns_s_an);
	for (int i = 0; i < n && out->n < DNS_ANSWER_MAX; i++) {
		char *t;
		if (ns_parserr(&m, ns_s_an, i, &rr) < 0) {
			dns_answer_free(out);
			return DNS_TEMPFAIL;
		}
		if ((int)ns_rr_type(rr) != qtype || ns_rr_class(rr) != ns_c_in ||
		    !dns_name_eq(ns_rr_name(rr), end))
			continue;
		if ((t = rr_text(&m, &rr)) == NULL) {
			dns_answer_free(out);
			out->hops = hops;
			return DNS_TEMPFAIL;
		}
		answer_add(out, t);
	}
	if (out->n > 0)
		return DNS_OK;
	*cname_end = hops > 0;
	return DNS_NODATA;
}

/* ------------------------------------------------------------- lookups */

/* Ask name/type and parse, asking again at the end of a CNAME chain the
 * server did not follow itself (a non-recursive or out-of-zone answer). */
static enum dns_status resolve(struct dns *d, const char *name, int type, struct dns_answer *out)
{
	unsigned char *ans = xmalloc(DNS_MSG_MAX);
	char cur[NS_MAXDNAME];
	enum dns_status st = DNS_TEMPFAIL;

	memset(out, 0, sizeof *out);
	snprintf(cur, sizeof cur, "%s", name);
	d->err[0] = '\0';
	if (mkquery(name, type, 0, ans, DNS_UDP_MAX) < 0) {
		seterr(d, "%s: not a valid domain name", name);
		out->name = xstrdup(name);
		free(ans);
		return DNS_BADNAME;
	}
	/* Each new query starts where a chain of at least one CNAME ended,
	 * so the hop count grows and the loop ends. */
	for (int total = 0;;) {
		int n = transact(d, cur, type, ans, DNS_MSG_MAX), rcode, cend;
		if (n == 0) {
			st = DNS_TEMPFAIL;
			break;
		}
		st = dns_parse_answer(ans, (size_t)n, cur, type, out, &rcode, &cend);
		if (st == DNS_TEMPFAIL && !d->err[0])
			seterr(d, "malformed answer for %s", cur);
		if ((total += out->hops) > DNS_CNAME_MAX) {
			seterr(d, "%s: CNAME chain longer than %d", name, DNS_CNAME_MAX);
			dns_answer_free(out);
			st = DNS_TEMPFAIL;
			break;
		}
		if (st != DNS_NODATA || !cend)
			break;
		snprintf(cur, sizeof cur, "%s", out->name);
		dns_answer_free(out);
	}
	free(ans);
	if (st == DNS_NXDOMAIN)
		seterr(d, "%s: NXDOMAIN", out->name ? out->name : name);
	else if (st == DNS_NODATA)
		d->err[0] = '\0';
	if (!out->name)
		out->name = xstrdup(cur);
	return st;
}

enum dns_status dns_query(struct dns *d, const char *name, int type, struct dns_answer *out)
{
	return resolve(d, name, type, out);
}

/* Undo txt_text's \DDD escapes in place; -1 if a NUL byte comes out. */
static int txt_unescape(char *s)
{
	char *w = s;

	for (const char *r = s; *r; r++) {
		if (r[0] == '\\' && isdigit((unsigned char)r[1]) && isdigit((unsigned char)r[2]) &&
		    isdigit((unsigned char)r[3])) {
			int v = (r[1] - '0') * 100 + (r[2] - '0') * 10 + (r[3] - '0');
			if (v == 0 || v > 255)
				return -1;
			*w++ = (char)v;
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
	return 0;
}

enum dns_status dns_txt(struct dns *d, const char *name, struct dns_answer *out)
{
	enum dns_status st = resolve(d, name, ns_t_txt, out);
	size_t k = 0;

	for (size_t i = 0; i < out->n; i++) {
		if (txt_unescape(out->text[i]) < 0)
			free(out->text[i]);
		else
			out->text[k++] = out->text[i];
	}
	out->n = k;
	if (st == DNS_OK && k == 0)
		st = DNS_NODATA;
	return st;
}

static void addrs_add(struct dns_addrs *a, const char *text)
{
	struct dns_addr *x;

	if (a->n >= DNS_ADDR_MAX)
		return;
	a->v = xrealloc(a->v, (a->n + 1) * sizeof *a->v);
	x = &a->v[a->n];
	memset(x, 0, sizeof *x);
	if (inet_pton(AF_INET, text, &x->a.v4) == 1)
		x->family = AF_INET;
	else if (inet_pton(AF_INET6, text, &x->a.v6) == 1)
		x->family = AF_INET6;
	else
		return;
	snprintf(x->text, sizeof x->text, "%s", text);
	a->n++;
}

void dns_addrs_free(struct dns_addrs *a)
{
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

enum dns_status dns_host_addrs(struct dns *d, const char *host, struct dns_addrs *out)
{
	static const int types[] = { ns_t_a, ns_t_aaaa };
	enum dns_status st[2] = { DNS_NODATA, DNS_NODATA };
	char err[DNS_ERR_MAX] = "";

	memset(out, 0, sizeof *out);
	for (int t = 0; t < 2; t++) {
		struct dns_answer a;
		st[t] = resolve(d, host, types[t], &a);
		for (size_t i = 0; i < a.n; i++)
			addrs_add(out, a.text[i]);
		dns_answer_free(&a);
		if (st[t] == DNS_TEMPFAIL)
			snprintf(err, sizeof err, "%s", d->err);
		if (st[t] == DNS_NXDOMAIN || st[t] == DNS_BADNAME)   /* no AAAA either */
			break;
	}
	if (out->n > 0) {
		d->err[0] = '\0';
		return DNS_OK;
	}
	if (st[0] == DNS_TEMPFAIL || st[1] == DNS_TEMPFAIL) {
		snprintf(d->err, sizeof d->err, "%s", err);
		return DNS_TEMPFAIL;
	}
	return st[0] == DNS_NXDOMAIN || st[0] == DNS_BADNAME ? st[0] : DNS_NODATA;
}

void dns_addr_sockaddr(const struct dns_addr *a, unsigned port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = a->a.v6;
		*len = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr = a->a.v4;
		*len = sizeof *s4;
	}
}

/* ------------------------------------------------------------ MX rules */

static unsigned rand_below(unsigned n)
{
	uint32_t v, lim = UINT32_MAX - UINT32_MAX % n;

	do {
		if (getrandom(&v, sizeof v, 0) != sizeof v)
			v = (uint32_t)rand();
	} while (v >= lim);
	return v % n;
}

void dns_mx_order(struct dns_mx *v, size_t n, int shuffle)
{
	/* Insertion sort: stable, and n is small (DNS_MX_MAX). */
	for (size_t i = 1; i < n; i++) {
		struct dns_mx x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1].pref > x.pref; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	if (!shuffle)
		return;
	/* RFC 5321 5.1: hosts of equal preference are tried in random order,
	 * to spread the load; Fisher-Yates within each run. */
	for (size_t s = 0, e; s < n; s = e) {
		for (e = s + 1; e < n && v[e].pref == v[s].pref; e++)
			;
		for (size_t i = e - 1; i > s; i--) {
			size_t j = s + rand_below((unsigned)(i - s + 1));
			struct dns_mx t = v[i];
			v[i] = v[j];
			v[j] = t;
		}
	}
}

static void mx_free(struct dns_mx *x)
{
	free(x->host);
	dns_addrs_free(&x->addrs);
}

size_t dns_mx_dedup(struct dns_mx *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j = 0;

		while (j < k && !dns_name_eq(v[j].host, v[i].host))
			j++;
		if (j < k)
			mx_free(&v[i]);
		else
			v[k++] = v[i];
	}
	return k;
}

/* Is item (a host name, or an IPv4/IPv6 address) one of x's names or
 * addresses? */
static int self_item_match(const struct dns_mx *x, const char *item, size_t len)
{
	char tok[DNS_NAME_MAX];
	unsigned char ip[16];
	int fam = 0;

	if (len == 0 || len >= sizeof tok)
		return 0;
	memcpy(tok, item, len);
	tok[len] = '\0';
	if (inet_pton(AF_INET, tok, ip) == 1)
		fam = AF_INET;
	else if (inet_pton(AF_INET6, tok, ip) == 1)
		fam = AF_INET6;
	if (!fam)
		return dns_name_eq(x->host, tok);
	for (size_t k = 0; k < x->addrs.n; k++) {
		const struct dns_addr *a = &x->addrs.v[k];
		if (a->family == fam &&
		    memcmp(&a->a, ip, fam == AF_INET ? 4u : 16u) == 0)
			return 1;
	}
	return 0;
}

static int self_match(const struct dns_mx *x, const char *self)
{
	for (const char *p = self; *p; ) {
		size_t n = strcspn(p, ",");
		if (self_item_match(x, p, n))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

/* Does the --self list hold an address (then MX hosts' addresses must be
 * known before matching)? */
static int self_has_address(const char *self)
{
	for (const char *p = self; *p; ) {
		size_t n = strcspn(p, ",");
		char tok[INET6_ADDRSTRLEN];
		unsigned char ip[16];
		if (n < sizeof tok) {
			memcpy(tok, p, n);
			tok[n] = '\0';
			if (inet_pton(AF_INET, tok, ip) == 1 || inet_pton(AF_INET6, tok, ip) == 1)
				return 1;
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

void dns_mx_drop_self(struct dns_mxlist *l, const char *self)
{
	size_t keep = 0;

	l->self_found = 0;
	/* RFC 5321 5.1: the relay looks for "any of the names or addresses
	 * by which it might be known" in the sorted list... */
	for (size_t i = 0; i < l->n; i++)
		if (self_match(&l->v[i], self) && (!l->self_found || l->v[i].pref < l->self_pref)) {
			l->self_found = 1;
			l->self_pref = l->v[i].pref;
		}
	if (!l->self_found)
		return;
	/* ...and discards that preference level and every higher-numbered
	 * one, or the mail would loop back to it. */
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].pref < l->self_pref)
			l->v[keep++] = l->v[i];
		else
			mx_free(&l->v[i]);
	}
	l->self_dropped = l->n - keep;
	l->n = keep;
}

void dns_mxlist_free(struct dns_mxlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		mx_free(&l->v[i]);
	free(l->v);
	free(l->domain);
	memset(l, 0, sizeof *l);
}

static void mx_add(struct dns_mxlist *l, unsigned pref, const char *host)
{
	struct dns_mx *x;
	size_t hl = strlen(host);

	l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	x = &l->v[l->n++];
	memset(x, 0, sizeof *x);
	x->pref = pref;
	if (hl > 1 && host[hl - 1] == '.' && host[hl - 2] != '\\')
		hl--;
	x->host = xstrndup(host, hl);
	x->astatus = DNS_NODATA;
}

/* MX records from the answer text "PREF HOST"; a null MX (RFC 7505: the
 * root as host) is reported if it is the only record, and never kept as a
 * host to try if other records come with it. */
static enum dns_status mx_from_answer(struct dns_mxlist *l, const struct dns_answer *a)
{
	size_t nulls = 0;

	for (size_t i = 0; i < a->n; i++) {
		char *sp;
		unsigned long pref = strtoul(a->text[i], &sp, 10);
		if (*sp != ' ')
			continue;
		if (strcmp(sp + 1, ".") == 0) {
			nulls++;
			continue;
		}
		mx_add(l, (unsigned)pref, sp + 1);
	}
	return l->n == 0 && nulls > 0 ? DNS_NULLMX : DNS_OK;
}

/* RFC 5321 5.1: no MX records, so the domain's own address record is an
 * implicit MX of preference 0; no address either is an error.  The
 * addresses are kept: they were needed anyway. */
static enum dns_status implicit_mx(struct dns *d, struct dns_mxlist *l)
{
	struct dns_addrs a;
	enum dns_status st = dns_host_addrs(d, l->domain, &a);

	if (st != DNS_OK) {
		dns_addrs_free(&a);
		return st == DNS_TEMPFAIL ? DNS_TEMPFAIL : DNS_NODATA;
	}
	mx_add(l, 0, l->domain);
	l->v[0].implicit = 1;
	l->implicit = 1;
	l->v[0].astatus = DNS_OK;
	l->v[0].addrs = a;
	return DNS_OK;
}

/* Every host's addresses, through our server.  A hostile domain with 100
 * MX hosts whose names all time out would hold us for hours, so the
 * lookups share one time budget; hosts left over count as temporary. */
static void mx_fetch_addrs(struct dns *d, struct dns_mxlist *l)
{
	long long deadline = now_ms() + d->route_ms;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].implicit)
			continue;
		if (now_ms() >= deadline) {
			l->v[i].astatus = DNS_TEMPFAIL;
			continue;
		}
		l->v[i].astatus = dns_host_addrs(d, l->v[i].host, &l->v[i].addrs);
	}
}

/* The list is unusable when no host has an address (RFC 5321 5.1: "MUST
 * be reported as an error"); temporary if a lookup failed for now. */
static enum dns_status mx_usable(struct dns *d, const struct dns_mxlist *l)
{
	const char *temp = NULL;

	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].astatus == DNS_OK)
			return DNS_OK;
		if (l->v[i].astatus == DNS_TEMPFAIL)
			temp = l->v[i].host;
	}
	if (temp) {
		seterr(d, "no MX host has an address; lookup of %s failed for now", temp);
		return DNS_TEMPFAIL;
	}
	seterr(d, "no MX host has an address");
	return DNS_NODATA;
}

enum dns_status dns_mx(struct dns *d, const char *domain, const struct dns_route *r,
    struct dns_mxlist *out)
{
	static const struct dns_route defaults;
	struct dns_answer a;
	enum dns_status st;

	if (!r)
		r = &defaults;
	memset(out, 0, sizeof *out);
	st = resolve(d, domain, ns_t_mx, &a);
	out->domain = xstrdup(a.name);
	if (st == DNS_OK)
		st = mx_from_answer(out, &a);
	else if (st == DNS_NODATA)
		st = implicit_mx(d, out);
	dns_answer_free(&a);
	if (st != DNS_OK)
		return st;
	dns_mx_order(out->v, out->n, !r->no_shuffle);
	out->n = dns_mx_dedup(out->v, out->n);
	while (out->n > DNS_MX_MAX)     /* hostile or silly: keep the best ones */
		mx_free(&out->v[--out->n]);
	if (r->want_addrs || (r->self && self_has_address(r->self)))
		mx_fetch_addrs(d, out);
	if (r->self) {
		dns_mx_drop_self(out, r->self);
		if (out->n == 0) {
			seterr(d, "%s is the best MX for %s: mail would loop", r->self, domain);
			return DNS_LOOP;
		}
	}
	return r->want_addrs ? mx_usable(d, out) : DNS_OK;
}

/* -------------------------------------------------------------- DNSBL */

int dns_bl_name(const char *ip, const char *zone, char *buf, size_t cap)
{
	unsigned char a[16];
	struct buf b = { 0 };
	int rc = -1;

	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, ip, a) == 1) {
		buf_printf(&b, "%u.%u.%u.%u.", a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, ip, a) == 1 && memcmp(a, v4mapped, 12) == 0) {
		/* ::ffff:192.0.2.1, an IPv4 client on a dual-stack socket */
		buf_printf(&b, "%u.%u.%u.%u.", a[15], a[14], a[13], a[12]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const char hex[] = "0123456789abcdef";
		for (int i = 15; i >= 0; i--)   /* RFC 5782 2.4: nibbles, reversed */
			buf_printf(&b, "%c.%c.", hex[a[i] & 15], hex[a[i] >> 4]);
	} else {
		return -1;
	}
	buf_adds(&b, zone);
	if (b.len < cap) {
		memcpy(buf, b.p, b.len + 1);
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------- status */

int dns_exit_code(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return 0;
	case DNS_LOOP:
		return EX_CONFIG;
	case DNS_TEMPFAIL:
		return EX_TEMPFAIL;
	default:
		return EX_NOHOST;
	}
}

const char *dns_strstatus(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "found";
	case DNS_NXDOMAIN:
		return "no such domain";
	case DNS_NODATA:
		return "no MX and no address record";
	case DNS_NULLMX:
		return "does not accept mail (null MX, RFC 7505)";
	case DNS_LOOP:
		return "mail would loop back to this host";
	case DNS_BADNAME:
		return "not a valid domain name";
	default:
		return "temporary DNS failure";
	}
}
