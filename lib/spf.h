/* spf.h — Sender Policy Framework (RFC 7208): may this IP address send
 * mail for this domain?
 *
 * check_host() as RFC 7208 4 defines it: the domain's "v=spf1" TXT record,
 * its mechanisms left to right (all, include, a, mx, ptr, ip4, ip6,
 * exists), the redirect and exp modifiers, macros (7), the limits of 4.6.4
 * (10 terms that query DNS, 2 void lookups, 10 MX or PTR names).  All DNS
 * queries go through one lib/dns handle (the lab's --dns server).
 *
 * Ownership: nothing to free; results are copied into struct spf_out. */
#ifndef ML_SPF_H
#define ML_SPF_H

#include <stdio.h>
#include <time.h>

#include "authres.h"
#include "buf.h"
#include "dns.h"

#define SPF_LOOKUPS_MAX   10      /* RFC 7208 4.6.4: terms that cause DNS queries */
#define SPF_VOIDS_MAX     2       /* RFC 7208 4.6.4: void lookups allowed */
#define SPF_NAMES_MAX     10      /* RFC 7208 4.6.4: MX hosts, PTR names looked at */
#define SPF_DOMAIN_MAX    253     /* RFC 7208 7.3: expanded domain-spec is cut to this */
#define SPF_MACRO_PARTS   128     /* labels a macro transformer may split a value into */
#define SPF_EXP_MAX       512     /* explanation text we keep */
#define SPF_TERM_MAX      512     /* the mechanism we report */

struct spf_opts {
	struct dns *dns;
	FILE *trace;            /* -v: each step; NULL: quiet */
	const char *receiver;   /* %{r}: our domain name; NULL: "unknown" */
	time_t now;             /* %{t}; 0: time(NULL) */
};

struct spf_out {
	enum ar_result res;     /* pass fail softfail neutral none temperror permerror */
	char identity[16];      /* "mailfrom" or "helo" */
	char domain[SPF_DOMAIN_MAX + 2];        /* the domain checked */
	char mechanism[SPF_TERM_MAX];           /* the term that decided, or "" */
	char why[256];          /* for none/temperror/permerror: what went wrong */
	char exp[SPF_EXP_MAX];  /* fail: the domain's explanation (exp=), or "" */
	int lookups, voids;     /* what the evaluation cost */
};

/* Check ip (text, IPv4 or IPv6) for the MAIL FROM sender (NULL or "":
 * the HELO identity, postmaster@helo, RFC 7208 2.3/2.4).  Fills *out and
 * returns out->res. */
enum ar_result spf_check(const struct spf_opts *o, const char *ip, const char *sender,
    const char *helo, struct spf_out *out);

/* Append a Received-SPF field (RFC 7208 9.1), folded, without line end. */
void spf_received(const struct spf_out *r, const char *ip, const char *sender,
    const char *helo, const char *receiver, struct buf *b);

/* --- pure pieces, for unit tests and the fuzzer --- */

/* Check the syntax of a whole SPF record (4.6): 0, or -1 with a static
 * reason in *why. */
int spf_record_syntax(const char *rec, const char **why);

#endif
