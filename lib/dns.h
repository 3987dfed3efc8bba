/* dns.h — DNS lookups for mail routing (RFC 5321 5.1, RFC 974, RFC 7505)
 * and for DNSBL checks (RFC 5782), all through one resolver handle.
 *
 * The handle talks to the name servers of /etc/resolv.conf, or to one given
 * SERVER[:PORT] (a lab's dnsmasq on a loopback high port): it builds each
 * query itself, sends it over UDP, retries over TCP when the answer is
 * truncated, and checks that an answer matches the query (id, question).
 * Every lookup a mail program makes, MX and then the A/AAAA of each MX
 * host, goes through the same server: never through getaddrinfo(), which
 * would ask the system's resolver instead of the lab's.
 *
 * Ownership: a struct dns is freed with dns_close(); results filled by a
 * lookup (struct dns_mxlist, struct dns_addrs, struct dns_answer) belong to
 * the caller and are freed with their *_free() function, also after a
 * failed lookup (they are then empty).  Nothing else needs freeing. */
#ifndef ML_DNS_H
#define ML_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

#define DNS_PORT          53
#define DNS_NAME_MAX      1025      /* NS_MAXDNAME: presentation form with escapes, plus NUL */
#define DNS_MSG_MAX       65535     /* RFC 1035 4.2.2: TCP length field */
#define DNS_UDP_MAX       512       /* RFC 1035 4.2.1: without EDNS0 an answer fits in 512 */
#define DNS_CNAME_MAX     8         /* CNAME hops we follow (RFC 1034 3.6.2 asks to stop loops) */
#define DNS_MX_MAX        100       /* most preferred MX hosts kept per domain; more is hostile */
#define DNS_ADDR_MAX      32        /* addresses kept per host */
#define DNS_ANSWER_MAX    1024      /* records kept from one answer (64 KB holds ~4000) */
#define DNS_TIMEOUT_MS    5000      /* per try, as glibc's RES_TIMEOUT */
#define DNS_TRIES         2         /* tries per server, as glibc's RES_DFLRETRY */
#define DNS_ROUTE_MS      60000     /* all address lookups of one dns_mx(); then give up for now */

/* The outcome of a lookup; dns_exit_code() maps it to sysexits. */
enum dns_status {
	DNS_OK = 0,     /* found */
	DNS_NXDOMAIN,   /* the name does not exist (RCODE 3): permanent */
	DNS_NODATA,     /* the name exists but has no such record; for MX: no MX and no address */
	DNS_NULLMX,     /* RFC 7505 null MX "0 .": the domain accepts no mail */
	DNS_LOOP,       /* --self: we are the best MX left, nowhere to relay to */
	DNS_BADNAME,    /* not a valid domain name (empty label, label > 63, name > 255) */
	DNS_TEMPFAIL    /* SERVFAIL, REFUSED, timeout, network error, malformed answer */
};

struct dns_opts {
	const char *server;     /* "HOST[:PORT]", "[V6]:PORT" or "V6" literal; NULL: /etc/resolv.conf */
	int timeout_ms;         /* wait per try; 0: resolv.conf's (-s: DNS_TIMEOUT_MS) */
	int tries;              /* tries per server; 0: resolv.conf's (-s: DNS_TRIES) */
	FILE *trace;            /* print every query and answer like dig (-v); NULL: quiet */
	int route_ms;           /* time for all address lookups of one dns_mx; 0: DNS_ROUTE_MS */
};

struct dns;                     /* opaque resolver handle */

struct dns_addr {
	int family;             /* AF_INET or AF_INET6 */
	union {
		struct in_addr  v4;
		struct in6_addr v6;
	} a;
	char text[46];          /* INET6_ADDRSTRLEN: the address printed */
};

struct dns_addrs {
	struct dns_addr *v;     /* IPv4 first, then IPv6, in the server's order */
	size_t n;
};

struct dns_mx {
	unsigned pref;          /* MX preference, 0 for an implicit MX */
	char *host;             /* target host, no trailing dot, lower case kept as sent */
	int implicit;           /* no MX: the domain itself (RFC 5321 5.1) */
	enum dns_status astatus;   /* of the address lookup (want_addrs) */
	struct dns_addrs addrs;    /* filled when want_addrs, when self holds an
	                            * address, and always for an implicit MX */
};

struct dns_mxlist {
	struct dns_mx *v;       /* in trying order */
	size_t n;
	char *domain;           /* the name MX records were found at, after CNAMEs */
	int implicit;           /* the list is one implicit MX */
	int self_found;         /* --self: our host is an MX of the domain */
	unsigned self_pref;     /* its preference */
	size_t self_dropped;    /* hosts dropped at or above that preference */
};

struct dns_route {
	const char *self;       /* our names and addresses, comma-separated, for loop
	                         * avoidance (RFC 5321 5.1), or NULL */
	int no_shuffle;         /* keep equal preferences in the server's order */
	int want_addrs;         /* resolve each host's A and AAAA through the same server */
};

struct dns_answer {
	char **text;            /* each record's data: "127.0.0.2", TXT strings joined, "10 mx.example." */
	size_t n;
	char *name;             /* where the records were found, after CNAMEs */
	int hops;               /* CNAMEs followed in the last answer parsed */
};

/* Open a resolver with o (NULL: all defaults).  Returns NULL on a bad
 * server spec or an unusable resolv.conf, with a message in err (errlen
 * bytes).  Free with dns_close(). */
struct dns *dns_open(const struct dns_opts *o, char *err, size_t errlen);
/* Free the handle; d may be NULL. */
void dns_close(struct dns *d);
/* Why the last lookup failed (server, rcode, timeout), for messages: a
 * string in the handle, valid until the next lookup; "" if none. */
const char *dns_error(const struct dns *d);

/* Resolve domain to the hosts an MTA tries, in order (RFC 5321 5.1):
 * MX records sorted by preference, equal ones shuffled unless
 * r->no_shuffle; CNAMEs followed; no MX but an address: the domain itself
 * at preference 0; null MX: DNS_NULLMX; r->self: drop hosts at or above
 * its preference (DNS_LOOP if none remains); with r->want_addrs each
 * host's addresses, and DNS_NODATA/DNS_TEMPFAIL if no host has one.
 * out is the caller's, freed with dns_mxlist_free(). */
enum dns_status dns_mx(struct dns *d, const char *domain, const struct dns_route *r,
    struct dns_mxlist *out);
void dns_mxlist_free(struct dns_mxlist *l);

/* The A and AAAA addresses of host, asked of the handle's server.
 * DNS_OK if at least one.  out is the caller's, freed with dns_addrs_free(). */
enum dns_status dns_host_addrs(struct dns *d, const char *host, struct dns_addrs *out);
void dns_addrs_free(struct dns_addrs *a);
/* Fill ss/len with address a and port, ready for connect(). */
void dns_addr_sockaddr(const struct dns_addr *a, unsigned port, struct sockaddr_storage *ss,
    socklen_t *len);

/* Records of type (ns_t_a, ns_t_txt, ...) at name, CNAMEs followed: the
 * generic query DNSBL checks use.  out is the caller's, freed with
 * dns_answer_free(). */
enum dns_status dns_query(struct dns *d, const char *name, int type, struct dns_answer *out);
void dns_answer_free(struct dns_answer *a);
/* TXT records at name (SPF, DKIM keys, DMARC policies): each record's
 * character-strings joined with nothing between them (RFC 7208 3.3, RFC
 * 6376 3.6.2.2), as raw bytes.  A record holding a NUL byte is dropped
 * (no policy language allows one).  out as dns_query's. */
enum dns_status dns_txt(struct dns *d, const char *name, struct dns_answer *out);

/* Write the DNSBL query name for address ip (text form, v4 or v6; an
 * IPv4-mapped ::ffff:a.b.c.d counts as IPv4) under zone into buf (cap
 * bytes): 2.0.0.127.zone, or 32 nibbles for IPv6 (RFC 5782 2.1, 2.4).
 * With zone "in-addr.arpa" / "ip6.arpa" it is the PTR name.  Returns 0,
 * or -1 for a bad address or a short buf. */
int dns_bl_name(const char *ip, const char *zone, char *buf, size_t cap);

/* sysexits code for a status: 0; EX_NOHOST (68) for NXDOMAIN, NODATA,
 * NULLMX, BADNAME; EX_CONFIG (78) for a loop; EX_TEMPFAIL (75). */
int dns_exit_code(enum dns_status s);
/* A short static English phrase for s ("no such domain", ...). */
const char *dns_strstatus(enum dns_status s);

/* --- pure pieces, exposed for unit tests and the fuzzer --- */

/* Parse "HOST[:PORT]", "[V6]:PORT", or a bare IPv6 literal (numeric
 * only) into ss/len.  Returns 0, or -1 with a message in err. */
int dns_parse_server(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
    char *err, size_t errlen);
/* Equal DNS names: ASCII case ignored, one trailing dot ignored. */
int dns_name_eq(const char *a, const char *b);
/* Sort v[0..n) by preference (stable); shuffle each run of equal
 * preferences when shuffle is set (RFC 5321 5.1). */
void dns_mx_order(struct dns_mx *v, size_t n, int shuffle);
/* Drop every host of sorted v[0..n) that an earlier entry already names
 * (dns_name_eq), freeing it: an MTA tries a host once, at its best
 * preference.  Returns the new count. */
size_t dns_mx_dedup(struct dns_mx *v, size_t n);
/* Loop avoidance: if one of self's comma-separated names or addresses
 * (addresses match hosts' addrs) is among l (sorted), drop every host whose
 * preference is >= its own and free them; l->n shrinks, l->self_* are set. */
void dns_mx_drop_self(struct dns_mxlist *l, const char *self);

/* Parse answer msg (len bytes) to a query for qname/qtype: follow the CNAME
 * chain inside the answer, collect the data of qtype records at its end
 * into out (MX as "PREF HOST", A/AAAA as text, TXT joined, others like
 * dig), out->hops the CNAMEs followed.  *rcode gets the RCODE;
 * *cname_end whether the chain ended at a name with no record in the
 * answer (the caller asks again there).
 * Returns DNS_OK, DNS_NXDOMAIN, DNS_NODATA or DNS_TEMPFAIL (malformed,
 * SERVFAIL, ...).  out is the caller's, freed with dns_answer_free(). */
enum dns_status dns_parse_answer(const unsigned char *msg, size_t len, const char *qname,
    int qtype, struct dns_answer *out, int *rcode, int *cname_end);

/* Print DNS message msg (len bytes) on f the way -v does (header, flags,
 * every section like dig); a malformed message is said to be so. */
void dns_print_msg(FILE *f, const unsigned char *msg, size_t len);

#endif
