/* dmarc.h — Domain-based Message Authentication, Reporting and
 * Conformance (RFC 7489): does a message's From domain align with a
 * domain that SPF or DKIM authenticated, and what does its owner ask a
 * receiver to do when it does not?
 *
 * The organizational domain (RFC 7489 3.2) comes from the Public Suffix
 * List: Debian's publicsuffix package file, or another given file; without
 * one, the last two labels of a name (a wrong answer for example.co.uk,
 * said so in mailauth(1)).
 *
 * Ownership: nothing to free; results are copied into struct dmarc_out. */
#ifndef ML_DMARC_H
#define ML_DMARC_H

#include <stddef.h>
#include <stdio.h>

#include "authres.h"
#include "dkim.h"
#include "dns.h"

#define DMARC_PSL_FILE   "/usr/share/publicsuffix/public_suffix_list.dat"
#define DMARC_LABELS_MAX 128      /* labels in a domain name (255 bytes / 2) */

struct dmarc_psl;

/* The Public Suffix List read only when an organizational domain is really
 * needed: most mail has its DMARC record at the From domain itself and is
 * signed by that very domain, and equal names align in both modes; reading
 * the list cost a third of what one `mailauth verify` process spent on one
 * message.  Zero it (path NULL: DMARC_PSL_FILE); free with
 * dmarc_psl_free(z.list). */
struct dmarc_psl_lazy {
	const char *path;
	int tried;              /* the list was read (or found unreadable) */
	struct dmarc_psl *list;
};

struct dmarc_opts {
	struct dns *dns;
	FILE *trace;
	const struct dmarc_psl *psl_data;   /* the Public Suffix List (dmarc_psl_load); NULL: none */
	struct dmarc_psl_lazy *psl_lazy;    /* or the list read on first need (psl_data NULL) */
	int sample;             /* pct draw 0..99; -1: random */
	dkim_txt_fn txt;        /* TXT lookups (a cache); NULL: dns_txt on dns */
	void *txt_ctx;
};

struct dmarc_out {
	enum ar_result res;     /* none pass fail temperror permerror */
	char from[256];         /* header.from */
	char record_at[300];    /* where the policy was found */
	char p[12], sp[12];     /* the record's p= and sp= ("" if none) */
	char policy[12];        /* the one that applies: none quarantine reject */
	char disposition[12];   /* what to do after pct: none quarantine reject */
	int pct;
	char adkim, aspf;       /* 'r' or 's' */
	int dkim_aligned, spf_aligned;
	char why[160];
};

/* Check msg[0..n) (its From field) against the DKIM results and the SPF
 * result for spf_domain (the MAIL FROM domain, or the HELO name for the
 * null sender).  Fills *out and returns out->res. */
enum ar_result dmarc_check(const struct dmarc_opts *o, const char *msg, size_t n,
    const struct dkim_result *dkim, size_t ndkim, enum ar_result spf, const char *spf_domain,
    struct dmarc_out *out);

/* The organizational domain of domain into out (cap bytes), by the Public
 * Suffix List file psl (NULL: DMARC_PSL_FILE; unreadable: the last two
 * labels).  Returns out. */
const char *dmarc_org_domain(const char *psl, const char *domain, char *out, size_t cap);
/* The list, read once: path NULL is DMARC_PSL_FILE; NULL if unreadable.
 * Free with dmarc_psl_free (NULL is fine). */
struct dmarc_psl;
struct dmarc_psl *dmarc_psl_load(const char *path);
void dmarc_psl_free(struct dmarc_psl *l);
/* The list of z, read now if it was not yet; NULL if unreadable. */
const struct dmarc_psl *dmarc_psl_need(struct dmarc_psl_lazy *z);
/* dmarc_org_domain with the list loaded (NULL: the last two labels). */
const char *dmarc_org_domain_in(const struct dmarc_psl *list, const char *domain, char *out,
    size_t cap);

#endif
