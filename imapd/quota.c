/* quota.c — QUOTA (RFC 9208) on Maildir++ quotas.
 *
 * One quota root, "", holds the whole Maildir: STORAGE (in units of 1024
 * octets) and MESSAGE, from the maildirsize file (lib/quota.h) or from
 * --quota when that file sets no limit, or from the user's own quota rule
 * in the passwd-file, which wins over both.  Without any limit a mailbox has no
 * quota root at all (RFC 9208 4.3: "* QUOTAROOT INBOX" alone).  Quotas are
 * the administrator's: SETQUOTA is refused (no QUOTASET capability). */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "imapd.h"

#define QUOTA_UNIT 1024         /* RFC 9208 5.1: STORAGE counts units of 1024 octets */

/* The user's quota; 1 if a limit applies, 0 none, -1 unreadable.  The
 * user's own rule (passwd-file extra field) wins over maildirsize and
 * --quota, as a userdb quota_rule over the global one in Dovecot. */
static int user_quota(struct session *s, struct quota *q)
{
	const struct quota *def = &s->o->quota;

	if (s->user.has_quota)
		return quota_get_user(s->root, &s->user.quota, q);
	return quota_get(s->root, def->max_bytes || def->max_count ? def : NULL, q);
}

/* "* QUOTA "" (STORAGE used limit MESSAGE used limit)" */
static void send_quota(struct session *s, const struct quota *q)
{
	struct buf b = { 0 };
	uint64_t bytes = q->bytes > 0 ? (uint64_t)q->bytes : 0;
	uint64_t count = q->count > 0 ? (uint64_t)q->count : 0;

	buf_adds(&b, "QUOTA \"\" (");
	if (q->max_bytes)
		buf_printf(&b, "STORAGE %" PRIu64 " %" PRIu64, (bytes + QUOTA_UNIT - 1) / QUOTA_UNIT,
		    q->max_bytes / QUOTA_UNIT);
	if (q->max_count)
		buf_printf(&b, "%sMESSAGE %" PRIu64 " %" PRIu64, q->max_bytes ? " " : "", count,
		    q->max_count);
	buf_addc(&b, ')');
	untagged(s, "%s", b.p);
	buf_free(&b);
}

void cmd_getquotaroot(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];
	struct buf b = { 0 };
	struct quota q;
	int rc;

	if (c->nargs != 1) {
		reply(s, c->tag, "BAD GETQUOTAROOT needs a mailbox name");
		return;
	}
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	if (!store_exists(path)) {
		reply(s, c->tag, "NO [NONEXISTENT] Mailbox doesn't exist: %s", name);
		return;
	}
	if ((rc = user_quota(s, &q)) < 0) {
		reply(s, c->tag, "NO [SERVERBUG] Cannot read the quota: %s", strerror(errno));
		return;
	}
	buf_adds(&b, "QUOTAROOT ");
	imap_string(&b, name, strlen(name));
	if (rc == 1)
		buf_adds(&b, " \"\"");
	untagged(s, "%s", b.p);
	buf_free(&b);
	if (rc == 1)
		send_quota(s, &q);
	reply(s, c->tag, "OK Getquotaroot completed.");
}

void cmd_getquota(struct session *s, struct imap_cmd *c)
{
	struct quota q;
	int rc;

	if (c->nargs != 1 || !arg_astring(&c->args[0])) {
		reply(s, c->tag, "BAD GETQUOTA needs a quota root");
		return;
	}
	if ((rc = user_quota(s, &q)) < 0) {
		reply(s, c->tag, "NO [SERVERBUG] Cannot read the quota: %s", strerror(errno));
		return;
	}
	if (c->args[0].len != 0 || rc == 0) {
		reply(s, c->tag, "NO [NONEXISTENT] No such quota root.");
		return;
	}
	send_quota(s, &q);
	reply(s, c->tag, "OK Getquota completed.");
}

void cmd_setquota(struct session *s, struct imap_cmd *c)
{
	if (c->nargs != 2 || !arg_astring(&c->args[0]) || c->args[1].type != ARG_LIST) {
		reply(s, c->tag, "BAD SETQUOTA needs a quota root and a list of limits");
		return;
	}
	reply(s, c->tag, "NO [NOPERM] Quotas are set by the administrator.");
}

int quota_over(struct session *s, uint64_t bytes, uint64_t count)
{
	struct quota q;

	/* an unreadable quota file does not stop the mail */
	return user_quota(s, &q) == 1 && quota_exceeded(&q, bytes, count);
}

uint64_t quota_stored_size(const char *p, size_t n)
{
	uint64_t k = n;

	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\r' && p[i + 1] == '\n')
			k--;
	return k;
}

void quota_saved(struct session *s, char *const *bases, size_t n)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < n; i++)
		bytes += quota_file_size(bases[i], 0);
	if (n > 0)
		quota_note(s->root, (int64_t)bytes, (int64_t)n);
}
