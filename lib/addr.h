/* addr.h — RFC 5322 3.4 address lists (From, To, Cc, ...), leniently.
 *
 * The parser takes an unfolded or folded field value and makes a flat list
 * in the order of the field, the shape IMAP's ENVELOPE wants (RFC 3501
 * 7.4.2): a group "Friends: a@x, b@y;" is an ADDR_GROUP entry (its name in
 * name), the mailboxes, then an ADDR_GROUP_END entry.  smtp-send -t takes
 * the ADDR_MAILBOX entries and skips the group markers.
 *
 * Comments are dropped, quoted strings unquoted in display names and kept
 * quoted in local parts (so local@domain is still a valid address), obsolete
 * routes ("<@a,@b:u@d>") kept apart, 8-bit bytes taken as UTF-8 (RFC 6532).
 * Display names are left RFC 2047-encoded, as IMAP sends them; decode them
 * with rfc2047_decode for a person. */
#ifndef ML_ADDR_H
#define ML_ADDR_H

#include <stddef.h>

#include "buf.h"

#define ADDR_MAX 10000          /* entries in one list; the rest is dropped */

enum addr_kind { ADDR_MAILBOX, ADDR_GROUP, ADDR_GROUP_END };

struct addr {
	enum addr_kind kind;
	char *name;     /* display name (group name for ADDR_GROUP), or NULL */
	char *route;    /* obs-route "@a,@b" without the ':', or NULL */
	char *local;    /* local part, or NULL for group markers */
	char *domain;   /* domain (a domain literal keeps its brackets), or NULL
	                 * when the address had none ("root", "undisclosed") */
};

struct addr_list {
	struct addr *v;
	size_t n, cap;
};

/* Parse in[0..n) and append its addresses to *l (zero it first).  Return
 * the number of syntax errors met (0: the list is RFC 5322-clean); whatever
 * could be made of a broken list is still appended. */
int addr_parse(const char *in, size_t n, struct addr_list *l);

/* Free every string of *l and the array; *l is zeroed. */
void addr_list_free(struct addr_list *l);

/* Append "local@domain" (just "local" without a domain) to out. */
void addr_spec(const struct addr *a, struct buf *out);

/* The number of ADDR_MAILBOX entries of *l. */
size_t addr_count(const struct addr_list *l);

#endif
