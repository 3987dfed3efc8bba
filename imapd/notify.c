/* notify.c — NOTIFY (RFC 5465): which events of which mailboxes the client
 * wants told without asking.
 *
 * The other mailboxes are watched by polling, at the points where
 * untagged responses may go (before each tagged reply, and each second of
 * IDLE): each watched mailbox's STATUS numbers (MESSAGES, UIDNEXT,
 * UIDVALIDITY, HIGHESTMODSEQ), the list of names and the subscriptions are
 * compared with what the previous poll saw, and a difference becomes a
 * "* STATUS" or "* LIST" response (RFC 5465 5.2 to 5.5).  A rename is
 * seen as one name gone and one new: it is told as a deletion
 * (\NonExistent) and a creation, without OLDNAME.
 *
 * The selected mailbox keeps its own channel (send_updates); the events of
 * the SELECTED filter decide what of it is told unasked: MessageNew's
 * fetch-att makes a FETCH of each new message follow its EXISTS; without
 * FlagChange no FETCH of flags changed elsewhere, without MessageExpunge no
 * EXPUNGE during IDLE (they wait for the next command that may carry them).
 *
 * How much is polled is bounded by IMAP_NOTIFY_MAX mailboxes; past it the
 * client gets "* OK [NOTIFICATIONOVERFLOW]" and notifications stop, as the
 * RFC allows (5.8). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "imapd.h"
#include "limits.h"

#define NOTIFY_FILTERS_MAX 16   /* filters in one NOTIFY SET: RFC 5465 has 7 kinds */

enum { F_INBOXES, F_PERSONAL, F_SUBSCRIBED, F_SUBTREE, F_MAILBOXES };

/* the events that are told by a STATUS of the mailbox */
#define EV_STATUS (NEV_NEW | NEV_EXPUNGE | NEV_FLAG)

struct filter {
	int     kind;
	int     events;         /* NEV_* */
	char  **names;          /* F_SUBTREE, F_MAILBOXES */
	size_t  nnames;
};

struct watched {
	char   *name;
	int     events;
	int     have;           /* st holds a STATUS of it */
	struct store_status st;
};

struct notify {
	int     sel_events;     /* the SELECTED filter's events (0: none) */
	struct fetch *sel_fetch; /* MessageNew's fetch-att, NULL: none */
	struct filter f[NOTIFY_FILTERS_MAX];
	size_t  nf;
	struct watched *w;      /* the mailboxes as the last poll saw them, sorted */
	size_t  nw;
	char  **subs;           /* the subscriptions then, when an event needs them */
	size_t  nsubs;
	int     want_subs;
};

static const struct { const char *name; int ev; } events[] = {
	{ "MessageNew", NEV_NEW }, { "MessageExpunge", NEV_EXPUNGE },
	{ "FlagChange", NEV_FLAG }, { "MailboxName", NEV_NAME },
	{ "SubscriptionChange", NEV_SUBS },
	/* known but not kept by imapd: refused with BADEVENT (RFC 5465 6) */
	{ "AnnotationChange", -1 }, { "MailboxMetadataChange", -1 },
	{ "ServerMetadataChange", -1 },
};

#define BADEVENT "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName " \
	"SubscriptionChange)] Event not supported"

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	fetch_compiled_free(n->sel_fetch);
	for (size_t i = 0; i < n->nf; i++)
		free_names(n->f[i].names, n->f[i].nnames);
	for (size_t i = 0; i < n->nw; i++)
		free(n->w[i].name);
	free(n->w);
	free_names(n->subs, n->nsubs);
	free(n);
}

void notify_clear(struct session *s)
{
	notify_free(s->notify);
	s->notify = NULL;
}

int notify_selected(const struct session *s, int ev)
{
	return s->notify == NULL || (s->notify->sel_events & ev) != 0;
}

/* ---- matching names to filters ---- */

static int in_list(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

static int filter_has(const struct filter *f, const char *name, char **subs, size_t nsubs)
{
	switch (f->kind) {
	case F_INBOXES:
		return strcmp(name, "INBOX") == 0;     /* mail is delivered to INBOX only */
	case F_PERSONAL:
		return 1;
	case F_SUBSCRIBED:
		return in_list(subs, nsubs, name);
	case F_SUBTREE:
		for (size_t i = 0; i < f->nnames; i++) {
			size_t k = strlen(f->names[i]);

			if (strncmp(name, f->names[i], k) == 0 && (name[k] == '\0' || name[k] == '.'))
				return 1;
		}
		return 0;
	default:
		return in_list(f->names, f->nnames, name);
	}
}

static int events_of(const struct notify *n, const char *name, char **subs, size_t nsubs)
{
	int ev = 0;

	for (size_t i = 0; i < n->nf; i++)
		if (filter_has(&n->f[i], name, subs, nsubs))
			ev |= n->f[i].events;
	return ev;
}

/* ---- responses ---- */

static void send_list(struct session *s, const char *attrs, const char *name)
{
	struct buf b = { 0 };

	buf_printf(&b, "* LIST (%s) \".\" ", attrs);
	imap_string(&b, name, strlen(name));
	buf_adds(&b, "\r\n");
	conn_write(&s->conn, b.p, b.len);
	buf_free(&b);
}

/* "* STATUS name (...)" with the items the events need (RFC 5465 5.2-5.4,
 * as imaptest checks them). */
static void send_status(struct session *s, const struct watched *w)
{
	struct buf b = { 0 };
	const char *sep = "";

	buf_adds(&b, "* STATUS ");
	imap_string(&b, w->name, strlen(w->name));
	buf_adds(&b, " (");
	if (w->events & (NEV_NEW | NEV_EXPUNGE)) {
		buf_printf(&b, "MESSAGES %u", w->st.messages);
		sep = " ";
	}
	if (w->events & NEV_NEW) {
		buf_printf(&b, " UIDNEXT %u", w->st.uidnext);
		sep = " ";
	}
	if (w->events & (NEV_NEW | NEV_FLAG))
		buf_printf(&b, "%sUIDVALIDITY %u", sep, w->st.uidvalidity);
	if (w->events & NEV_FLAG)
		buf_printf(&b, " HIGHESTMODSEQ %" PRIu64, w->st.highestmodseq);
	buf_adds(&b, ")\r\n");
	conn_write(&s->conn, b.p, b.len);
	buf_free(&b);
}

/* Whether the change from old to now is one of the events asked. */
static int status_changed(int ev, const struct store_status *old, const struct store_status *now)
{
	if (old->uidvalidity != now->uidvalidity)
		return 1;
	if ((ev & NEV_NEW) && old->uidnext != now->uidnext)
		return 1;
	if ((ev & (NEV_NEW | NEV_EXPUNGE)) && old->messages != now->messages)
		return 1;
	return (ev & NEV_FLAG) && old->highestmodseq != now->highestmodseq;
}

/* ---- polling ---- */

static const struct watched *find_watched(const struct notify *n, const char *name)
{
	for (size_t i = 0; i < n->nw; i++)
		if (strcmp(n->w[i].name, name) == 0)
			return &n->w[i];
	return NULL;
}

static int is_selected(const struct session *s, const char *path)
{
	return s->state == ST_SELECTED && strcmp(s->sel.path, path) == 0;
}

/* The mailboxes that match a filter now, with their STATUS when an event
 * needs it, into *out; -1 past IMAP_NOTIFY_MAX. */
static int scan(struct session *s, char **subs, size_t nsubs, struct watched **out, size_t *nout)
{
	struct notify *n = s->notify;
	size_t nnames, k = 0, polled = 0;
	char **names = folders_names(s->root, &nnames);
	struct watched *w = xcalloc(nnames ? nnames : 1, sizeof *w);
	int rc = 0;

	for (size_t i = 0; i < nnames; i++) {
		char path[STORE_PATH_MAX];
		int ev = events_of(n, names[i], subs, nsubs);

		if (ev == 0)
			continue;
		w[k].name = names[i];
		names[i] = NULL;
		w[k].events = ev;
		if ((ev & EV_STATUS) && store_path(s->root, w[k].name, path, sizeof path) == 0 &&
		    !is_selected(s, path)) {
			if (++polled > IMAP_NOTIFY_MAX) {
				rc = -1;
				k++;
				break;
			}
			w[k].have = store_status(path, &w[k].st, NULL, 0, NULL) == 0;
		}
		k++;
	}
	free_names(names, nnames);
	*out = w;
	*nout = k;
	return rc;
}

/* Compare with the last poll and tell the differences (first: the initial
 * STATUS when status is set, nothing else). */
static int poll_once(struct session *s, int first, int status)
{
	struct notify *n = s->notify;
	struct watched *w;
	size_t nw, nsubs = 0;
	char **subs = n->want_subs ? folders_subscribed(s->root, &nsubs) : NULL;

	if (scan(s, subs, nsubs, &w, &nw) < 0) {
		for (size_t i = 0; i < nw; i++)
			free(w[i].name);
		free(w);
		free_names(subs, nsubs);
		return -1;
	}
	for (size_t i = 0; i < nw; i++) {
		const struct watched *old = first ? NULL : find_watched(n, w[i].name);

		if (first) {
			if (status && w[i].have)
				send_status(s, &w[i]);
		} else if (old == NULL) {
			if (w[i].events & NEV_NAME)
				send_list(s, in_list(subs, nsubs, w[i].name) ? "\\Subscribed" : "",
				    w[i].name);
			if (w[i].have && (w[i].events & EV_STATUS))
				send_status(s, &w[i]);
		} else if (w[i].have && old->have && status_changed(w[i].events, &old->st, &w[i].st)) {
			send_status(s, &w[i]);
		}
	}
	for (size_t i = 0; !first && i < n->nw; i++) {
		int gone = 1;

		for (size_t j = 0; j < nw && gone; j++)
			gone = strcmp(w[j].name, n->w[i].name) != 0;
		if (gone && (n->w[i].events & NEV_NAME))
			send_list(s, "\\NonExistent", n->w[i].name);
	}
	/* subscriptions added or removed (RFC 5465 5.5) */
	for (size_t i = 0; !first && i < nsubs; i++)
		if (!in_list(n->subs, n->nsubs, subs[i]) &&
		    (events_of(n, subs[i], subs, nsubs) & NEV_SUBS))
			send_list(s, "\\Subscribed", subs[i]);
	for (size_t i = 0; !first && i < n->nsubs; i++)
		if (!in_list(subs, nsubs, n->subs[i]) &&
		    (events_of(n, n->subs[i], n->subs, n->nsubs) & NEV_SUBS))
			send_list(s, "", n->subs[i]);
	for (size_t i = 0; i < n->nw; i++)
		free(n->w[i].name);
	free(n->w);
	n->w = w;
	n->nw = nw;
	free_names(n->subs, n->nsubs);
	n->subs = subs;
	n->nsubs = nsubs;
	return 0;
}

static void overflow(struct session *s)
{
	notify_clear(s);
	untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many mailboxes to watch, notifications stopped");
}

void notify_poll(struct session *s)
{
	if (s->notify == NULL || s->notify->nf == 0 || s->state == ST_LOGOUT)
		return;
	if (poll_once(s, 0, 0) < 0)
		overflow(s);
}

uint32_t notify_fetch_mark(struct session *s)
{
	if (s->notify == NULL || s->notify->sel_fetch == NULL || !(s->notify->sel_events & NEV_NEW))
		return 0;
	store_load(&s->sel);
	return s->sel.n ? s->sel.m[s->sel.n - 1].uid : 0;
}

void notify_fetch_new(struct session *s, uint32_t mark)
{
	size_t i = s->sel.n;

	if (s->notify == NULL || s->notify->sel_fetch == NULL || !(s->notify->sel_events & NEV_NEW))
		return;
	while (i > 0 && s->sel.m[i - 1].uid > mark)
		i--;
	fetch_send_new(s, s->notify->sel_fetch, i);
}

/* ---- the command ---- */

/* The events list a of a filter into *ev (and MessageNew's fetch-att into
 * *fe, for the SELECTED filter); -1 (reply sent) if refused. */
static int parse_events(struct session *s, const char *tag, const struct imap_arg *a,
    struct fetch **fe, int *ev)
{
	*ev = 0;
	if (arg_is(a, "NONE"))
		return 0;
	if (a->type != ARG_LIST || a->nkids == 0) {
		reply(s, tag, "BAD NOTIFY needs a list of events or NONE");
		return -1;
	}
	for (size_t i = 0; i < a->nkids; i++) {
		const struct imap_arg *e = &a->kids[i];
		size_t k;

		for (k = 0; k < sizeof events / sizeof *events; k++)
			if (arg_is(e, events[k].name))
				break;
		if (k == sizeof events / sizeof *events || events[k].ev < 0) {
			reply(s, tag, BADEVENT);
			return -1;
		}
		*ev |= events[k].ev;
		/* MessageNew's fetch-att, for the selected mailbox only (RFC 5465 5.2) */
		if (events[k].ev == NEV_NEW && i + 1 < a->nkids && a->kids[i + 1].type == ARG_LIST) {
			if (fe == NULL) {
				reply(s, tag, "BAD A fetch-att is only for the selected mailbox");
				return -1;
			}
			fetch_compiled_free(*fe);
			if ((*fe = fetch_compile(&a->kids[++i])) == NULL) {
				reply(s, tag, "BAD Invalid fetch-att after MessageNew");
				return -1;
			}
		}
	}
	return 0;
}

/* A mailbox or a list of mailboxes (one-or-more-mailbox) into f; -1 (reply sent). */
static int parse_mailboxes(struct session *s, const char *tag, const struct imap_arg *a,
    struct filter *f)
{
	const struct imap_arg *v = a->type == ARG_LIST ? a->kids : a;
	size_t n = a->type == ARG_LIST ? a->nkids : 1;

	if (n == 0) {
		reply(s, tag, "BAD NOTIFY needs mailbox names");
		return -1;
	}
	f->names = xcalloc(n, sizeof *f->names);
	for (size_t i = 0; i < n; i++) {
		char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];

		if (mailbox_arg(s, tag, &v[i], name, path) < 0)
			return -1;
		f->names[f->nnames++] = xstrdup(name);
	}
	return 0;
}

/* The filters of "NOTIFY SET [STATUS] (filter events)..." from a[0..na) into n. */
static int parse_set(struct session *s, const char *tag, const struct imap_arg *a, size_t na,
    struct notify *n)
{
	int have_sel = 0;

	if (na == 0) {
		reply(s, tag, "BAD NOTIFY SET needs event groups");
		return -1;
	}
	for (size_t i = 0; i < na; i++) {
		const struct imap_arg *g = &a[i];
		const struct imap_arg *fa;
		size_t want;
		int ev;

		if (g->type != ARG_LIST || g->nkids < 2 || g->kids[0].type != ARG_ATOM) {
			reply(s, tag, "BAD NOTIFY needs (filter events) groups");
			return -1;
		}
		fa = &g->kids[0];
		if (arg_is(fa, "SELECTED") || arg_is(fa, "SELECTED-DELAYED")) {
			if (g->nkids != 2 || have_sel++) {
				reply(s, tag, "BAD NOTIFY: one SELECTED filter, with its events");
				return -1;
			}
			if (parse_events(s, tag, &g->kids[1], &n->sel_fetch, &ev) < 0)
				return -1;
			/* SELECTED-DELAYED: expunges wait for a command that may
			 * carry them, never in the middle of IDLE (RFC 5465 5.1) */
			n->sel_events = arg_is(fa, "SELECTED") ? ev : ev & ~NEV_EXPUNGE;
			continue;
		}
		if (n->nf == NOTIFY_FILTERS_MAX) {
			reply(s, tag, "BAD NOTIFY: too many filters");
			return -1;
		}
		struct filter *f = &n->f[n->nf++];

		f->kind = arg_is(fa, "INBOXES") ? F_INBOXES : arg_is(fa, "PERSONAL") ? F_PERSONAL :
		    arg_is(fa, "SUBSCRIBED") ? F_SUBSCRIBED : arg_is(fa, "SUBTREE") ? F_SUBTREE :
		    arg_is(fa, "MAILBOXES") ? F_MAILBOXES : -1;
		want = f->kind == F_SUBTREE || f->kind == F_MAILBOXES ? 3 : 2;
		if (f->kind < 0 || g->nkids != want) {
			reply(s, tag, "BAD NOTIFY: unknown filter or wrong arguments");
			return -1;
		}
		if (want == 3 && parse_mailboxes(s, tag, &g->kids[1], f) < 0)
			return -1;
		if (parse_events(s, tag, &g->kids[want - 1], NULL, &f->events) < 0)
			return -1;
		if (f->kind == F_SUBSCRIBED || (f->events & (NEV_SUBS | NEV_NAME)))
			n->want_subs = 1;
	}
	return 0;
}

void cmd_notify(struct session *s, struct imap_cmd *c)
{
	struct notify *n;
	int status = 0;
	size_t first = 1;

	if (c->nargs == 1 && arg_is(&c->args[0], "NONE")) {
		notify_clear(s);
		s->notify = xcalloc(1, sizeof *s->notify);     /* nothing unasked */
		reply(s, c->tag, "OK NOTIFY completed.");
		return;
	}
	if (c->nargs < 1 || !arg_is(&c->args[0], "SET")) {
		reply(s, c->tag, "BAD NOTIFY needs SET or NONE");
		return;
	}
	if (c->nargs > 1 && arg_is(&c->args[1], "STATUS")) {
		status = 1;
		first = 2;
	}
	n = xcalloc(1, sizeof *n);
	if (parse_set(s, c->tag, c->args + first, c->nargs - first, n) < 0) {
		notify_free(n);
		return;
	}
	notify_clear(s);
	s->notify = n;
	if (poll_once(s, 1, status) < 0)
		overflow(s);
	reply(s, c->tag, "OK NOTIFY completed.");
}
