/* Unit tests of lib/dns.c: the pure routing rules (ordering, shuffling,
 * loop avoidance, null MX), server specs, DNSBL names, the answer parser on
 * hand-built messages (every prefix of each, as a stream cut anywhere), and
 * the exchange itself against an in-process fake server that sends a
 * spoofed answer first and a truncated one that must be asked over TCP. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <check.h>
#include <resolv.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "err.h"

const char *const progname = "test_dns";

/* ------------------------------------------------------ message builder */

struct msg {
	unsigned char b[4096];
	size_t n;
};

static void put16(struct msg *m, unsigned v)
{
	m->b[m->n++] = (unsigned char)(v >> 8);
	m->b[m->n++] = (unsigned char)v;
}

static void put32(struct msg *m, unsigned long v)
{
	put16(m, (unsigned)(v >> 16));
	put16(m, (unsigned)(v & 0xffff));
}

static void put_name(struct msg *m, const char *name)
{
	int k = dn_comp(name, m->b + m->n, (int)(sizeof m->b - m->n), NULL, NULL);

	ck_assert_int_gt(k, 0);
	m->n += (size_t)k;
}

/* Header with flags (QR|RD|RA and rcode) and counts, then the question. */
static void m_start(struct msg *m, unsigned id, unsigned flags, const char *qname, int qtype,
    unsigned an, unsigned ns, unsigned ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, 1);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
	put_name(m, qname);
	put16(m, (unsigned)qtype);
	put16(m, ns_c_in);
}

static void m_rr(struct msg *m, const char *owner, int type, const void *rd, size_t rl)
{
	put_name(m, owner);
	put16(m, (unsigned)type);
	put16(m, ns_c_in);
	put32(m, 300);
	put16(m, (unsigned)rl);
	memcpy(m->b + m->n, rd, rl);
	m->n += rl;
}

static void m_mx(struct msg *m, const char *owner, unsigned pref, const char *host)
{
	unsigned char rd[300];
	int k;

	rd[0] = (unsigned char)(pref >> 8);
	rd[1] = (unsigned char)pref;
	k = dn_comp(host, rd + 2, (int)sizeof rd - 2, NULL, NULL);
	ck_assert_int_gt(k, 0);
	m_rr(m, owner, ns_t_mx, rd, (size_t)k + 2);
}

static void m_cname(struct msg *m, const char *owner, const char *target)
{
	unsigned char rd[300];
	int k = dn_comp(target, rd, (int)sizeof rd, NULL, NULL);

	ck_assert_int_gt(k, 0);
	m_rr(m, owner, ns_t_cname, rd, (size_t)k);
}

static void m_a(struct msg *m, const char *owner, const char *ip)
{
	unsigned char a[4];

	ck_assert_int_eq(inet_pton(AF_INET, ip, a), 1);
	m_rr(m, owner, ns_t_a, a, 4);
}

#define F_OK_ANSWER 0x8180      /* QR RD RA, NOERROR */

/* ---------------------------------------------------------- pure rules */

START_TEST(names)
{
	ck_assert(dns_name_eq("Example.ORG", "example.org"));
	ck_assert(dns_name_eq("example.org.", "example.org"));
	ck_assert(dns_name_eq("example.org", "EXAMPLE.org."));
	ck_assert(!dns_name_eq("example.org", "example.com"));
	ck_assert(!dns_name_eq("example.org", "mx.example.org"));
	ck_assert(!dns_name_eq("a\\.", "a"));           /* escaped dot is a character */
	ck_assert(dns_name_eq(".", "."));
}
END_TEST

static unsigned port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port) :
	    ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

START_TEST(server_specs)
{
	static const struct { const char *spec; int family; unsigned port; } ok[] = {
		{ "127.0.0.1", AF_INET, 53 },
		{ "127.0.0.1:5353", AF_INET, 5353 },
		{ "[::1]:5353", AF_INET6, 5353 },
		{ "[::1]", AF_INET6, 53 },
		{ "::1", AF_INET6, 53 },
		{ "2001:db8::53", AF_INET6, 53 },
	};
	static const char *const bad[] = {
		"", ":53", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x",
		"127.0.0.1:53x", "[::1", "[::1]x", "[::1]:", "[]:53", "127.0.0.1:-1",
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ck_assert_msg(dns_parse_server(ok[i].spec, &ss, &len, err, sizeof err) == 0,
		    "%s: %s", ok[i].spec, err);
		ck_assert_int_eq(ss.ss_family, ok[i].family);
		ck_assert_uint_eq(port_of(&ss), ok[i].port);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(dns_parse_server(bad[i], &ss, &len, err, sizeof err) < 0,
		    "accepted %s", bad[i]);
}
END_TEST

static void set_list(struct dns_mxlist *l, const unsigned *prefs, const char *const *hosts,
    size_t n)
{
	memset(l, 0, sizeof *l);
	l->v = calloc(n, sizeof *l->v);
	for (size_t i = 0; i < n; i++) {
		l->v[i].pref = prefs[i];
		l->v[i].host = strdup(hosts[i]);
	}
	l->n = n;
	l->domain = strdup("example.org");
}

START_TEST(order_stable)
{
	static const unsigned prefs[] = { 30, 10, 20, 10, 0, 10 };
	static const char *const hosts[] = { "d", "a", "c", "b", "z", "e" };
	static const char *const want[] = { "z", "a", "b", "e", "c", "d" };
	struct dns_mxlist l;

	set_list(&l, prefs, hosts, 6);
	dns_mx_order(l.v, l.n, 0);
	for (size_t i = 0; i < 6; i++)
		ck_assert_str_eq(l.v[i].host, want[i]);
	dns_mxlist_free(&l);
	dns_mx_order(NULL, 0, 1);       /* empty list: nothing to do */
}
END_TEST

START_TEST(dedup_hosts)
{
	/* sorted already: a host listed again (any case, trailing dot) is
	 * tried once, at its best preference */
	static const unsigned prefs[] = { 5, 10, 10, 10, 20, 20 };
	static const char *const hosts[] = { "mx.a", "MX.A.", "b", "mx.a", "c", "b" };
	static const char *const want[] = { "mx.a", "b", "c" };
	struct dns_mxlist l;

	set_list(&l, prefs, hosts, 6);
	l.n = dns_mx_dedup(l.v, l.n);
	ck_assert_uint_eq(l.n, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_str_eq(l.v[i].host, want[i]);
	ck_assert_uint_eq(l.v[0].pref, 5);
	ck_assert_uint_eq(l.v[2].pref, 20);
	dns_mxlist_free(&l);
	ck_assert_uint_eq(dns_mx_dedup(NULL, 0), 0);
}
END_TEST

START_TEST(order_shuffle)
{
	static const unsigned prefs[] = { 20, 10, 10, 10, 5 };
	static const char *const hosts[] = { "last", "a", "b", "c", "first" };
	int seen[6] = { 0 }, kinds = 0;

	/* Over 300 runs all 6 orders of the three 10s appear (each has a
	 * chance (5/6)^300 of being missed), and the groups never mix. */
	for (int run = 0; run < 300; run++) {
		struct dns_mxlist l;
		int code;
		set_list(&l, prefs, hosts, 5);
		dns_mx_order(l.v, l.n, 1);
		ck_assert_str_eq(l.v[0].host, "first");
		ck_assert_str_eq(l.v[4].host, "last");
		code = (l.v[1].host[0] - 'a') * 9 + (l.v[2].host[0] - 'a') * 3 + (l.v[3].host[0] - 'a');
		switch (code) {
		case 5: seen[0] = 1; break;     /* a c b ... codes of the 6 permutations */
		case 7: seen[1] = 1; break;
		case 11: seen[2] = 1; break;
		case 15: seen[3] = 1; break;
		case 19: seen[4] = 1; break;
		case 21: seen[5] = 1; break;
		default: ck_abort_msg("not a permutation: code %d", code);
		}
		dns_mxlist_free(&l);
	}
	for (int i = 0; i < 6; i++)
		kinds += seen[i];
	ck_assert_int_eq(kinds, 6);
}
END_TEST

START_TEST(drop_self)
{
	static const unsigned prefs[] = { 10, 20, 20, 30 };
	static const char *const hosts[] = { "mx1.example.org", "mx2.example.org",
	    "mx3.example.org", "backup.example.net" };
	struct dns_mxlist l;

	set_list(&l, prefs, hosts, 4);
	dns_mx_drop_self(&l, "MX3.example.org.");
	ck_assert(l.self_found);
	ck_assert_uint_eq(l.self_pref, 20);
	ck_assert_uint_eq(l.self_dropped, 3);   /* equal preference goes too */
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.v[0].host, "mx1.example.org");
	dns_mxlist_free(&l);

	set_list(&l, prefs, hosts, 4);
	dns_mx_drop_self(&l, "elsewhere.example.org");
	ck_assert(!l.self_found);
	ck_assert_uint_eq(l.n, 4);
	dns_mxlist_free(&l);

	set_list(&l, prefs, hosts, 4);
	dns_mx_drop_self(&l, "mx1.example.org");
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.self_dropped, 4);
	dns_mxlist_free(&l);

	/* By address: "names or addresses by which it might be known". */
	set_list(&l, prefs, hosts, 4);
	l.v[2].addrs.v = calloc(1, sizeof *l.v[2].addrs.v);
	l.v[2].addrs.n = 1;
	l.v[2].addrs.v[0].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::25", &l.v[2].addrs.v[0].a.v6);
	dns_mx_drop_self(&l, "me.example.org,192.0.2.1,2001:DB8:0::25");
	ck_assert(l.self_found);
	ck_assert_uint_eq(l.self_pref, 20);
	ck_assert_uint_eq(l.n, 1);
	dns_mxlist_free(&l);
	set_list(&l, prefs, hosts, 4);
	dns_mx_drop_self(&l, "2001:db8::25,,x");        /* no addresses known: no match */
	ck_assert(!l.self_found);
	dns_mxlist_free(&l);

	/* Listed twice: the best (lowest) preference counts. */
	{
		static const unsigned p2[] = { 10, 20, 30 };
		static const char *const h2[] = { "a", "me", "me" };
		set_list(&l, p2, h2, 3);
		dns_mx_drop_self(&l, "me");
		ck_assert_uint_eq(l.self_pref, 20);
		ck_assert_uint_eq(l.n, 1);
		dns_mxlist_free(&l);
	}
}
END_TEST

START_TEST(bl_names)
{
	char b[256];

	ck_assert_int_eq(dns_bl_name("127.0.0.2", "zen.example", b, sizeof b), 0);
	ck_assert_str_eq(b, "2.0.0.127.zen.example");
	/* RFC 5782 2.4's example */
	ck_assert_int_eq(dns_bl_name("2001:db8:1:2:3:4:567:89ab", "ugly.example.com", b, sizeof b), 0);
	ck_assert_str_eq(b, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2."
	    "ugly.example.com");
	ck_assert_int_eq(dns_bl_name("::ffff:192.0.2.7", "bl.test", b, sizeof b), 0);
	ck_assert_str_eq(b, "7.2.0.192.bl.test");
	ck_assert_int_eq(dns_bl_name("not-an-ip", "zone", b, sizeof b), -1);
	ck_assert_int_eq(dns_bl_name("192.0.2.1", "zone", b, 10), -1);
	ck_assert_int_eq(dns_bl_name("192.0.2.1", "zone", b, 15), 0);   /* exactly fits */
	ck_assert_str_eq(b, "1.2.0.192.zone");
}
END_TEST

START_TEST(exit_codes)
{
	ck_assert_int_eq(dns_exit_code(DNS_OK), 0);
	ck_assert_int_eq(dns_exit_code(DNS_NXDOMAIN), EX_NOHOST);
	ck_assert_int_eq(dns_exit_code(DNS_NODATA), EX_NOHOST);
	ck_assert_int_eq(dns_exit_code(DNS_NULLMX), EX_NOHOST);
	ck_assert_int_eq(dns_exit_code(DNS_BADNAME), EX_NOHOST);
	ck_assert_int_eq(dns_exit_code(DNS_LOOP), EX_CONFIG);
	ck_assert_int_eq(dns_exit_code(DNS_TEMPFAIL), EX_TEMPFAIL);
	ck_assert(strstr(dns_strstatus(DNS_NULLMX), "7505"));
}
END_TEST

/* ---------------------------------------------------------- the parser */

/* Parse m as the answer to qname/qtype; every shorter prefix must fail
 * cleanly (a cut message is malformed, never half-read). */
static enum dns_status parse(const struct msg *m, const char *qname, int qtype,
    struct dns_answer *out, int *rcode, int *cend)
{
	for (size_t cut = 0; cut < m->n; cut++) {
		struct dns_answer a;
		int rc, ce;
		enum dns_status st = dns_parse_answer(m->b, cut, qname, qtype, &a, &rc, &ce);
		ck_assert_msg(st == DNS_TEMPFAIL || st == DNS_NODATA || st == DNS_OK,
		    "prefix %zu: status %d", cut, st);
		dns_answer_free(&a);
	}
	return dns_parse_answer(m->b, m->n, qname, qtype, out, rcode, cend);
}

START_TEST(parse_mx)
{
	struct msg m;
	struct dns_answer a;
	int rc, ce;

	m_start(&m, 1, F_OK_ANSWER, "example.org", ns_t_mx, 3, 0, 1);
	m_mx(&m, "example.org", 20, "mx2.example.org");
	m_mx(&m, "EXAMPLE.org", 10, "mx1.example.org");
	m_mx(&m, "other.org", 5, "evil.example");       /* not at our name: ignored */
	m_a(&m, "mx1.example.org", "192.0.2.1");
	ck_assert_int_eq(parse(&m, "example.org.", ns_t_mx, &a, &rc, &ce), DNS_OK);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(ce, 0);
	ck_assert_uint_eq(a.n, 2);
	ck_assert_str_eq(a.text[0], "20 mx2.example.org");
	ck_assert_str_eq(a.text[1], "10 mx1.example.org");
	dns_answer_free(&a);
}
END_TEST

START_TEST(parse_cname_chain)
{
	struct msg m;
	struct dns_answer a;
	int rc, ce;

	m_start(&m, 1, F_OK_ANSWER, "alias.org", ns_t_mx, 3, 0, 0);
	m_mx(&m, "real.org", 10, "mx.real.org");
	m_cname(&m, "mid.org", "real.org");             /* out of order on purpose */
	m_cname(&m, "alias.org", "mid.org");
	ck_assert_int_eq(parse(&m, "alias.org", ns_t_mx, &a, &rc, &ce), DNS_OK);
	ck_assert_str_eq(a.name, "real.org");
	ck_assert_int_eq(a.hops, 2);
	ck_assert_uint_eq(a.n, 1);
	ck_assert_str_eq(a.text[0], "10 mx.real.org");
	dns_answer_free(&a);

	/* A chain the server did not follow to the end: ask again there. */
	m_start(&m, 1, F_OK_ANSWER, "alias.org", ns_t_mx, 1, 0, 0);
	m_cname(&m, "alias.org", "elsewhere.net");
	ck_assert_int_eq(parse(&m, "alias.org", ns_t_mx, &a, &rc, &ce), DNS_NODATA);
	ck_assert_int_eq(ce, 1);
	ck_assert_str_eq(a.name, "elsewhere.net");
	dns_answer_free(&a);

	/* A loop stops after DNS_CNAME_MAX hops. */
	m_start(&m, 1, F_OK_ANSWER, "a.org", ns_t_mx, 2, 0, 0);
	m_cname(&m, "a.org", "b.org");
	m_cname(&m, "b.org", "a.org");
	ck_assert_int_eq(parse(&m, "a.org", ns_t_mx, &a, &rc, &ce), DNS_NODATA);
	dns_answer_free(&a);
}
END_TEST

START_TEST(parse_rcodes)
{
	struct msg m;
	struct dns_answer a;
	int rc, ce;

	m_start(&m, 1, 0x8183, "nx.org", ns_t_mx, 0, 0, 0);
	ck_assert_int_eq(parse(&m, "nx.org", ns_t_mx, &a, &rc, &ce), DNS_NXDOMAIN);
	ck_assert_int_eq(rc, 3);
	dns_answer_free(&a);
	m_start(&m, 1, 0x8182, "sf.org", ns_t_mx, 0, 0, 0);
	ck_assert_int_eq(parse(&m, "sf.org", ns_t_mx, &a, &rc, &ce), DNS_TEMPFAIL);
	ck_assert_int_eq(rc, 2);
	dns_answer_free(&a);
	m_start(&m, 1, F_OK_ANSWER, "nodata.org", ns_t_mx, 0, 0, 0);
	ck_assert_int_eq(parse(&m, "nodata.org", ns_t_mx, &a, &rc, &ce), DNS_NODATA);
	ck_assert_int_eq(ce, 0);
	dns_answer_free(&a);
}
END_TEST

START_TEST(parse_txt_and_null_mx)
{
	static const unsigned char txt[] = { 5, 'h', 'e', 'l', 'l', 'o', 4, 'a', '\n', 0, '\\' };
	static const unsigned char bad_txt[] = { 9, 'x' };
	static const unsigned char short_mx[] = { 0 };
	static const unsigned char null_mx[] = { 0, 0, 0 };
	struct msg m;
	struct dns_answer a;
	int rc, ce;

	m_start(&m, 1, F_OK_ANSWER, "2.0.0.127.bl.org", ns_t_txt, 1, 0, 0);
	m_rr(&m, "2.0.0.127.bl.org", ns_t_txt, txt, sizeof txt);
	ck_assert_int_eq(parse(&m, "2.0.0.127.bl.org", ns_t_txt, &a, &rc, &ce), DNS_OK);
	ck_assert_str_eq(a.text[0], "helloa\\010\\000\\092");
	dns_answer_free(&a);

	m_start(&m, 1, F_OK_ANSWER, "t.org", ns_t_txt, 1, 0, 0);
	m_rr(&m, "t.org", ns_t_txt, bad_txt, sizeof bad_txt);
	ck_assert_int_eq(parse(&m, "t.org", ns_t_txt, &a, &rc, &ce), DNS_TEMPFAIL);
	dns_answer_free(&a);

	m_start(&m, 1, F_OK_ANSWER, "m.org", ns_t_mx, 1, 0, 0);
	m_rr(&m, "m.org", ns_t_mx, short_mx, sizeof short_mx);
	ck_assert_int_eq(parse(&m, "m.org", ns_t_mx, &a, &rc, &ce), DNS_TEMPFAIL);
	dns_answer_free(&a);

	m_start(&m, 1, F_OK_ANSWER, "nomail.org", ns_t_mx, 1, 0, 0);
	m_rr(&m, "nomail.org", ns_t_mx, null_mx, sizeof null_mx);
	ck_assert_int_eq(parse(&m, "nomail.org", ns_t_mx, &a, &rc, &ce), DNS_OK);
	ck_assert_str_eq(a.text[0], "0 .");
	dns_answer_free(&a);
}
END_TEST

START_TEST(parse_garbage)
{
	unsigned char b[512];
	struct dns_answer a;
	int rc, ce;

	/* Compression pointers that loop, counts that lie, random bytes:
	 * a clean failure, never a crash (the fuzzer does the rest). */
	srand(1);
	for (int run = 0; run < 2000; run++) {
		size_t n = (size_t)(rand() % (int)sizeof b);
		for (size_t i = 0; i < n; i++)
			b[i] = (unsigned char)rand();
		if (n > 12 && run % 2) {
			b[4] = 0; b[5] = 1;     /* plausible counts */
			b[6] = 0; b[7] = (unsigned char)(run % 5);
		}
		(void)dns_parse_answer(b, n, "x.org", ns_t_mx, &a, &rc, &ce);
		dns_answer_free(&a);
	}
}
END_TEST

START_TEST(print_like_dig)
{
	static const unsigned char txt[] = { 3, 'a', '"', 'b', 2, 0x01, '\\' };
	static const unsigned char unknown[] = { 0xde, 0xad };
	unsigned char soa[300];
	struct msg m;
	char *out = NULL;
	size_t len = 0, k = 0;
	FILE *f = open_memstream(&out, &len);
	int n;

	n = dn_comp("ns.example.org", soa, 200, NULL, NULL);
	k = (size_t)n;
	n = dn_comp("hostmaster.example.org", soa + k, 200, NULL, NULL);
	k += (size_t)n;
	for (int i = 0; i < 20; i++)
		soa[k++] = (unsigned char)(i % 4 == 3 ? i : 0);   /* 3, 7, 11, 15, 19 */
	m_start(&m, 4242, 0x8583, "nx.example.org", ns_t_txt, 2, 1, 1);   /* aa, NXDOMAIN */
	m_rr(&m, "nx.example.org", ns_t_txt, txt, sizeof txt);
	m_rr(&m, "nx.example.org", 65280, unknown, sizeof unknown);
	m_rr(&m, "example.org", ns_t_soa, soa, k);
	m_a(&m, "ns.example.org", "192.0.2.53");
	dns_print_msg(f, m.b, m.n);
	dns_print_msg(f, m.b, 5);                       /* cut: said to be malformed */
	fclose(f);
	ck_assert_msg(strstr(out, "status: NXDOMAIN, id: 4242"), "%s", out);
	ck_assert(strstr(out, "flags: qr aa rd ra; QUERY: 1, ANSWER: 2, AUTHORITY: 1, ADDITIONAL: 1"));
	ck_assert(strstr(out, ";nx.example.org.\t\t\tIN\tTXT"));
	ck_assert(strstr(out, "IN\tTXT\t\"a\\\"b\" \"\\001\\\\\""));
	ck_assert(strstr(out, "IN\tTYPE65280\t\\# 2 DEAD"));
	ck_assert(strstr(out, ";; AUTHORITY SECTION:\nexample.org.\t\t300\tIN\tSOA\t"
	    "ns.example.org. hostmaster.example.org. 3 7 11 15 19"));
	ck_assert(strstr(out, ";; ADDITIONAL SECTION:\nns.example.org.\t\t300\tIN\tA\t192.0.2.53"));
	ck_assert(strstr(out, "malformed message"));
	free(out);
}
END_TEST

/* ------------------------------------------------- against a fake server */

/* Serve one MX query: a spoofed answer (wrong id) first, then the real
 * one truncated (TC), then the full answer over TCP. */
static void fake_server(int udp, int tcp)
{
	unsigned char q[512], len[2];
	struct sockaddr_storage peer;
	socklen_t pl = sizeof peer;
	ssize_t n = recvfrom(udp, q, sizeof q, 0, (struct sockaddr *)&peer, &pl);
	struct msg m;
	char qname[NS_MAXDNAME];
	unsigned id;
	int c;

	if (n < 12 || dn_expand(q, q + n, q + 12, qname, sizeof qname) < 0)
		_exit(1);
	id = (unsigned)q[0] << 8 | q[1];
	m_start(&m, id ^ 1, F_OK_ANSWER, qname, ns_t_mx, 1, 0, 0);
	m_mx(&m, qname, 1, "spoofed.evil");
	sendto(udp, m.b, m.n, 0, (struct sockaddr *)&peer, pl);
	m_start(&m, id, F_OK_ANSWER | 0x0200, qname, ns_t_mx, 0, 0, 0);
	sendto(udp, m.b, m.n, 0, (struct sockaddr *)&peer, pl);
	if ((c = accept(tcp, NULL, NULL)) < 0 || read(c, len, 2) != 2)
		_exit(1);
	n = read(c, q, (size_t)(len[0] << 8 | len[1]));
	if (n < 12)
		_exit(1);
	id = (unsigned)q[0] << 8 | q[1];
	m_start(&m, id, F_OK_ANSWER, qname, ns_t_mx, 2, 0, 0);
	m_mx(&m, qname, 10, "mx1.fake.test");
	m_mx(&m, qname, 20, "mx2.fake.test");
	len[0] = (unsigned char)(m.n >> 8);
	len[1] = (unsigned char)m.n;
	if (write(c, len, 2) != 2 || write(c, m.b, m.n) != (ssize_t)m.n)
		_exit(1);
	close(c);
	_exit(0);
}

START_TEST(exchange_spoof_and_tcp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int udp = socket(AF_INET, SOCK_DGRAM, 0), tcp = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char spec[64], err[256];
	struct dns_route r = { NULL, 1, 0 };
	struct dns_mxlist l;
	struct dns *d;
	pid_t pid;

	/* The UDP and TCP sockets must share a port: bind TCP first, then UDP to the same. */
	setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ck_assert_int_eq(bind(tcp, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(tcp, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(bind(udp, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(listen(tcp, 1), 0);
	if ((pid = fork()) == 0)
		fake_server(udp, tcp);
	close(udp);
	close(tcp);
	snprintf(spec, sizeof spec, "127.0.0.1:%u", ntohs(sa.sin_port));
	d = dns_open(&(struct dns_opts){ spec, 2000, 1, NULL, 0 }, err, sizeof err);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(dns_mx(d, "fake.test", &r, &l), DNS_OK);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].host, "mx1.fake.test");
	ck_assert_str_eq(l.v[1].host, "mx2.fake.test");
	dns_mxlist_free(&l);
	dns_close(d);
	kill(pid, SIGKILL);   /* not TERM: check's TERM handler, inherited, kills the group */
	waitpid(pid, NULL, 0);
}
END_TEST

/* Answer the MX query with three hosts, then never answer again. */
static void mx_then_silence(int udp)
{
	unsigned char q[512];
	struct sockaddr_storage peer;
	socklen_t pl = sizeof peer;
	ssize_t n = recvfrom(udp, q, sizeof q, 0, (struct sockaddr *)&peer, &pl);
	char qname[NS_MAXDNAME];
	struct msg m;

	if (n < 12 || dn_expand(q, q + n, q + 12, qname, sizeof qname) < 0)
		_exit(1);
	m_start(&m, (unsigned)q[0] << 8 | q[1], F_OK_ANSWER, qname, ns_t_mx, 3, 0, 0);
	m_mx(&m, qname, 10, "a.slow.test");
	m_mx(&m, qname, 20, "b.slow.test");
	m_mx(&m, qname, 30, "c.slow.test");
	sendto(udp, m.b, m.n, 0, (struct sockaddr *)&peer, pl);
	for (;;)
		(void)recv(udp, q, sizeof q, 0);
}

START_TEST(route_time_budget)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	char spec[64], err[256];
	struct dns_route r = { NULL, 1, 1 };
	struct dns_mxlist l;
	struct dns *d;
	struct timespec t0, t1;
	pid_t pid;

	ck_assert_int_eq(bind(udp, (struct sockaddr *)&sa, sizeof sa), 0);
	ck_assert_int_eq(getsockname(udp, (struct sockaddr *)&sa, &sl), 0);
	if ((pid = fork()) == 0)
		mx_then_silence(udp);
	close(udp);
	snprintf(spec, sizeof spec, "127.0.0.1:%u", ntohs(sa.sin_port));
	/* 150 ms per query, one try; 250 ms for all address lookups: the
	 * first host's A and AAAA use it up, the others are not asked. */
	d = dns_open(&(struct dns_opts){ spec, 150, 1, NULL, 250 }, err, sizeof err);
	ck_assert_ptr_nonnull(d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(dns_mx(d, "slow.test", &r, &l), DNS_TEMPFAIL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_eq(l.n, 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(l.v[i].astatus, DNS_TEMPFAIL);
	ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 700);
	dns_mxlist_free(&l);
	dns_close(d);
	kill(pid, SIGKILL);   /* not TERM: check's TERM handler, inherited, kills the group */
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(open_errors)
{
	char err[256];

	ck_assert_ptr_null(dns_open(&(struct dns_opts){ "[::1", 0, 0, NULL, 0 }, err, sizeof err));
	ck_assert(strstr(err, "[::1"));
	ck_assert_ptr_null(dns_open(&(struct dns_opts){ "1.2.3.4:0", 0, 0, NULL, 0 }, err, sizeof err));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, names);
	tcase_add_test(tc, server_specs);
	tcase_add_test(tc, order_stable);
	tcase_add_test(tc, order_shuffle);
	tcase_add_test(tc, drop_self);
	tcase_add_test(tc, bl_names);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, parse_mx);
	tcase_add_test(tc, parse_cname_chain);
	tcase_add_test(tc, parse_rcodes);
	tcase_add_test(tc, parse_txt_and_null_mx);
	tcase_add_test(tc, parse_garbage);
	tcase_add_test(tc, print_like_dig);
	tcase_add_test(tc, exchange_spoof_and_tcp);
	tcase_add_test(tc, route_time_budget);
	tcase_add_test(tc, open_errors);
	tcase_add_test(tc, dedup_hosts);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
