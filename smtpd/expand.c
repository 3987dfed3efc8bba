/* expand.c — smtpd's side of --aliases (lib/aliases.c has the table).
 *
 * At RCPT the table decides the answer: an alias is accepted (it comes
 * before the users, as in Postfix's local(8)), a loop or too deep a nesting
 * is refused for good, an unreadable table or :include: file is a
 * temporary failure.  Local members are delivered by the MDA, which
 * expands the same table with the ids the members need (lib/deliver_alias.c).
 * Members in other domains are queued here, once the alias's local
 * delivery succeeded, so a retry after a temporary local failure does not
 * queue them twice; a list's copies go out with owner-NAME as sender. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aliases.h"
#include "err.h"
#include "smtpd.h"

int alias_domain_local(const void *ctx, const char *domain)
{
	return domain_is_local(ctx, domain);
}

/* Load the table and expand addr: ALIAS_OK, ALIAS_NONE, or an error (err). */
static int expand(const struct session *s, const char *addr, struct aliases *a,
    struct alias_set *set, char *name, size_t ncap, char *err, size_t cap)
{
	memset(set, 0, sizeof *set);
	if (aliases_load(s->cfg->aliases, a, err, cap) < 0)
		return ALIAS_INCLUDE;
	if (!alias_name(a, addr, name, ncap))
		return ALIAS_NONE;
	return alias_expand(a, name, alias_domain_local, s->cfg, set, err, cap);
}

int rcpt_alias(struct session *s, const char *addr)
{
	struct aliases a;
	struct alias_set set;
	char err[SMTP_REPLY_MAX - 64], name[256];
	int rc = expand(s, addr, &a, &set, name, sizeof name, err, sizeof err);

	aliases_free(&a);
	alias_set_free(&set);
	if (rc == ALIAS_OK)
		return 1;
	if (rc == ALIAS_NONE)
		return 0;
	log_line(s, "alias <%s>: %s", addr, err);
	if (rc == ALIAS_INCLUDE)
		reply(s, 451, "4.3.0 <%s>: Temporary alias lookup failure", addr);
	else
		reply(s, 550, "5.4.6 <%s>: %s", addr, rc == ALIAS_LOOP ? "Alias loop" :
		    "Alias expansion failed");
	return -1;
}

/* Queue the remote members of set whose list owner is owner (NULL: none)
 * as one message; 1 if queued, 0 if none, -1 on a queue error. */
static int queue_owner(struct session *s, const struct alias_set *set, const char *owner,
    const char *dom, const struct buf *m, const char *addr)
{
	struct queue_env e;
	char sender[600], qid[QUEUE_ID_MAX];
	int any = 0, rc = 0;

	snprintf(sender, sizeof sender, "%s", s->from);
	if (owner != NULL && strlen(owner) + (dom ? strlen(dom) : 0) <= SMTP_PATH_MAX)
		snprintf(sender, sizeof sender, "%s%s", owner, dom ? dom : "");
	queue_env_init(&e, sender, time(NULL));
	queue_local_args(s->cfg, &e);
	for (size_t i = 0; i < set->n; i++) {
		const struct alias_target *t = &set->v[i];

		if (t->kind == AK_REMOTE && (t->owner == owner ||
		    (t->owner && owner && strcmp(t->owner, owner) == 0)) &&
		    queue_env_add(&e, t->text) == 0)
			any = 1;
	}
	if (any && (s->cfg->queue == NULL || queue_init(s->cfg->queue) < 0 ||
	    queue_enqueue(s->cfg->queue, &e, m->p, m->len, qid) < 0))
		rc = -1;
	else if (any)
		log_line(s, "alias <%s>: members in other domains queued as %s, from=<%s>", addr,
		    qid, sender);
	queue_env_free(&e);
	return rc < 0 ? -1 : any;
}

/* Queue one alias's remote members, one message per list owner; 1 if
 * queued, -1 on a queue error. */
static int relay_members(struct session *s, const char *addr, const struct buf *m)
{
	struct aliases a;
	struct alias_set set;
	char err[256], name[256];
	const char *dom = strchr(addr, '@');
	int any = 0, rc;

	if (expand(s, addr, &a, &set, name, sizeof name, err, sizeof err) != ALIAS_OK) {
		aliases_free(&a);
		return 0;
	}
	for (size_t i = 0; i < set.n && any >= 0; i++) {
		const char *o = set.v[i].owner;
		int seen = 0;

		if (set.v[i].kind != AK_REMOTE)
			continue;
		for (size_t j = 0; j < i && !seen; j++)      /* this owner done already */
			seen = set.v[j].kind == AK_REMOTE && (set.v[j].owner == o ||
			    (o && set.v[j].owner && strcmp(set.v[j].owner, o) == 0));
		if (!seen && (rc = queue_owner(s, &set, o, dom, m, addr)) != 0)
			any = rc < 0 ? -1 : 1;
	}
	alias_set_free(&set);
	aliases_free(&a);
	return any;
}

int alias_relay(struct session *s, const struct buf *m)
{
	int queued = 0;

	for (size_t i = 0; i < s->nrcpt; i++) {
		struct rcpt *r = &s->rcpt[i];
		int rc;

		struct buf h = { 0 };

		if (!r->alias || r->code != 250)
			continue;
		rc = relay_members(s, r->addr, list_copy(s, r->addr, m, &h) ? &h : m);
		buf_free(&h);
		if (rc < 0) {
			r->code = 451;
			snprintf(r->reply, sizeof r->reply, "4.3.0 <%s>: cannot queue the alias's "
			    "members in other domains%s", r->addr, s->cfg->queue ? "" : " (no --queue)");
		}
		queued |= rc > 0;
	}
	return queued;
}

int alias_is_list(const struct session *s, const char *addr)
{
	struct aliases a;
	struct alias_set set;
	char name[256], err[256];
	int n = 0;

	if (expand(s, addr, &a, &set, name, sizeof name, err, sizeof err) == ALIAS_OK)
		n = set.n > 1;
	aliases_free(&a);
	alias_set_free(&set);
	return n;
}

/* RFC 2919 2: a list-label is a dot-atom-text; our alias names are
 * atoms already (aliases(5) names), but a name from a hostile table could
 * hold anything: a field gets only the characters it may. */
static int list_label_ok(const char *name)
{
	if (*name == '\0' || *name == '.')
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~.", *p) != NULL) || (p[0] == '.' && p[1] == '.') ||
		    (p[0] == '.' && p[1] == '\0'))
			return 0;
	return 1;
}

int list_copy(const struct session *s, const char *addr, const struct buf *m, struct buf *out)
{
	struct aliases a;
	char name[256], owner[300], err[256];
	const char *dom = strrchr(addr, '@'), *cut;
	struct buf h = { 0 };
	int is_list;

	if (!s->cfg->list_headers || dom == NULL || aliases_load(s->cfg->aliases, &a, err, sizeof err) < 0)
		return 0;
	dom++;
	is_list = alias_name(&a, addr, name, sizeof name) &&
	    alias_owner(&a, name, owner, sizeof owner) && list_label_ok(name);
	aliases_free(&a);
	/* a list of lists: the first list's fields stay (RFC 2919 8) */
	if (!is_list || header_has(m->p ? m->p : "", m->len, "List-Id") ||
	    strpbrk(dom, " \t\r\n<>\"") != NULL)
		return 0;
	buf_printf(&h, "List-Id: <%s.%s>\n", name, dom);
	buf_printf(&h, "List-Post: <mailto:%s@%s>\n", name, dom);
	buf_printf(&h, "List-Help: <mailto:%s@%s?subject=help>\n", owner, dom);
	buf_printf(&h, "List-Owner: <mailto:%s@%s>\n", owner, dom);
	/* after our Received: line (folded: it ends at an LF before no tab) */
	cut = m->p;
	while (cut != NULL && (cut = strchr(cut, '\n')) != NULL && cut[1] == '\t')
		cut++;
	size_t at = cut ? (size_t)(cut - m->p) + 1 : 0;

	buf_add(out, m->p, at);
	buf_add(out, h.p, h.len);
	buf_add(out, m->p + at, m->len - at);
	buf_free(&h);
	return 1;
}

void expn_reply(struct session *s, const char *arg)
{
	struct aliases a;
	struct alias_set set;
	char addr[SMTP_PATH_MAX + 1], err[256], name[256];
	size_t n = strlen(arg);
	int rc;

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>')
		arg++, n -= 2;
	if (n == 0 || n >= sizeof addr) {
		reply(s, 501, "5.5.4 Syntax: EXPN list");
		return;
	}
	memcpy(addr, arg, n);
	addr[n] = '\0';
	rc = expand(s, addr, &a, &set, name, sizeof name, err, sizeof err);
	if (rc == ALIAS_NONE)
		reply(s, 550, "5.1.1 <%s>: not a mailing list", addr);
	else if (rc != ALIAS_OK)
		reply(s, rc == ALIAS_INCLUDE ? 451 : 550, "%s <%s>: cannot expand",
		    rc == ALIAS_INCLUDE ? "4.3.0" : "5.4.6", addr);
	/* A local member is shown in the list's own domain (EXPN staff@lab.test
	 * gives alice@lab.test), else the first local domain: an address this
	 * server takes (RFC 5321 3.5: fully qualified mailboxes), not the host
	 * name, which may be no local domain at all. */
	const char *dom = strchr(addr, '@') ? strrchr(addr, '@') + 1 :
	    s->cfg->ndomains > 0 ? s->cfg->domains[0] : s->cfg->hostname;

	for (size_t i = 0; rc == ALIAS_OK && i < set.n; i++) {
		const struct alias_target *t = &set.v[i];
		const char *at = t->kind == AK_LOCAL && !strchr(t->text, '@') ? "@" : "";

		char line[SMTP_REPLY_MAX];

		snprintf(line, sizeof line, "%s%s%s%s", t->kind == AK_PIPE ? "|" : "", t->text, at,
		    *at ? dom : "");
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < ' ')
				*p = ' ';
		conn_printf(&s->conn, "250%c2.1.5 <%s>\r\n", i + 1 == set.n ? ' ' : '-', line);
	}
	if (rc == ALIAS_OK && set.n == 0)
		reply(s, 550, "5.1.1 <%s>: empty list", addr);
	alias_set_free(&set);
	aliases_free(&a);
}
