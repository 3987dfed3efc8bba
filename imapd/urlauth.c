/* urlauth.c — URLAUTH (RFC 4467): GENURLAUTH, RESETKEY, URLFETCH; the
 * BINARY and BODYPARTSTRUCTURE forms of URLFETCH (RFC 5524); and the
 * absolute IMAP URLs (RFC 5092) a CATENATE part may name (RFC 4469 5).
 *
 * A URLAUTH-authorized URL names one message part in its owner's mailbox
 * and ends ";URLAUTH=access:mech:token".  The one mechanism, INTERNAL,
 * makes the token HMAC-SHA1 (RFC 2104) of the URL up to the access
 * identifier (the "rump", byte for byte as the client wrote it) keyed with
 * the mailbox access key: URLAUTH_KEY_LEN bytes from /dev/urandom per
 * mailbox, kept with the mailbox's UIDVALIDITY in the owner's Maildir, file
 * URLAUTH_KEYS (mode 0600), so a mailbox deleted and made again does not
 * inherit the old key.  RESETKEY forgets keys; the next GENURLAUTH makes a
 * new one and every URL made with the old one stops verifying.
 *
 * URLFETCH never says why a URL failed: a wrong token, an access
 * identifier that does not let this user in, an expired URL, a message
 * gone all give NIL, so a client guessing tokens learns nothing (RFC 4467
 * 9).  Tokens are compared in constant time. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "header.h"
#include "imapd.h"
#include "mailbox.h"
#include "mime.h"

#define URLAUTH_KEYS      "maillab-urlauth-keys"  /* in the Maildir's root */
#define URLAUTH_KEY_LEN   32    /* key bytes: more than SHA-1's block needs
                                 * to be unguessable (RFC 2104 3) */
#define URLAUTH_TOKEN_LEN 20    /* HMAC-SHA1 output: over the 128 bits RFC 4467 7 asks */
#define URLAUTH_URL_MAX   4096  /* longest URL taken (RFC 5092 sets none) */
#define URLAUTH_SECT_MAX  256   /* section text of a URL */
#define URLAUTH_FILE_MAX  (1024 * 1024)   /* a key file past this is damaged */
#define URLAUTH_MECH      "INTERNAL"

enum access { AC_ANONYMOUS, AC_AUTHUSER, AC_USER, AC_SUBMIT };

/* An absolute IMAP URL naming a message part, as RFC 5092 writes it:
 * imap://user[;AUTH=x]@host/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s]
 * [/;PARTIAL=o[.l]][;EXPIRE=date-time][;URLAUTH=access[:mech:token]] */
struct iurl {
	char     user[AUTH_NAME_MAX + 1];   /* the owner, unescaped */
	char     host[256];
	char     mailbox[STORE_NAME_MAX + 8];
	uint32_t uidvalidity;               /* 0: not given */
	uint32_t uid;
	char     section[URLAUTH_SECT_MAX]; /* "": the whole message */
	int      partial;
	uint64_t poff, plen;                /* plen 0: to the end */
	int      has_expire;
	time_t   expire;
	int      has_urlauth;               /* ;URLAUTH= present */
	enum access access;
	char     access_user[AUTH_NAME_MAX + 1];
	size_t   rump;                      /* URL bytes up to the end of access */
	int      has_verifier;              /* ":mech:token" after access */
	char     mech[32];
	char     token[2 * URLAUTH_TOKEN_LEN + 1];   /* hex as given, "" if too long */
};

/* ---- parsing URLs ---- */

/* Undo the %XX escapes of s[0..n) into out (cap bytes); -1 if malformed,
 * too long, or if it would hold a NUL or a control character. */
static int unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (k + 1 >= cap)
			return -1;
		if (c == '%') {
			if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
			    !isxdigit((unsigned char)s[i + 2]))
				return -1;
			char hx[3] = { s[i + 1], s[i + 2], '\0' };
			c = (unsigned char)strtoul(hx, NULL, 16);
			i += 2;
		}
		if (c < ' ' || c == 0x7f)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return 0;
}

/* Exactly ndig digits at *p, then sep ("T" also as "t") unless sep is 0;
 * *p moves past both; -1 if they are not there. */
static int take(const char **p, int ndig, char sep)
{
	int v = imap_digits(p, ndig, ndig, NULL);

	if (v < 0 || (sep && toupper((unsigned char)**p) != sep))
		return -1;
	*p += sep != 0;
	return v;
}

/* An RFC 3339 date-time ("2026-12-06T11:00:00Z", "...+01:00", fraction
 * allowed) of s[0..n) into *t; -1 if malformed. */
static int date_time3339(const char *s, size_t n, time_t *t)
{
	char buf[64];
	struct tm tm = { 0 };
	int zh = 0, zm = 0, sign = 0;
	const char *z = buf;

	if (n >= sizeof buf || memchr(s, '\0', n) != NULL)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if ((tm.tm_year = take(&z, 4, '-')) < 0 || (tm.tm_mon = take(&z, 2, '-')) < 0 ||
	    (tm.tm_mday = take(&z, 2, 'T')) < 0 || (tm.tm_hour = take(&z, 2, ':')) < 0 ||
	    (tm.tm_min = take(&z, 2, ':')) < 0 || (tm.tm_sec = take(&z, 2, 0)) < 0)
		return -1;
	if (*z == '.') {                /* time-secfrac: "." 1*DIGIT */
		if (!isdigit((unsigned char)z[1]))
			return -1;
		for (z++; isdigit((unsigned char)*z); z++)
			;
	}
	if (*z == '+' || *z == '-') {   /* time-numoffset: ("+" / "-") time-hour ":" time-minute */
		sign = *z++ == '-' ? -1 : 1;
		if ((zh = take(&z, 2, ':')) < 0 || (zm = take(&z, 2, 0)) < 0)
			return -1;
	} else if (*z == 'Z' || *z == 'z') {
		z++;
	} else {
		return -1;
	}
	if (*z != '\0')
		return -1;
	/* (February 29 only in a leap year: RFC 3339 5.7) */
	if (!imap_day_ok(tm.tm_year, tm.tm_mon, tm.tm_mday) || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || zh > 23 || zm > 59)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon--;
	*t = timegm(&tm) - sign * (zh * 3600 + zm * 60);
	return 0;
}

/* ";URLAUTH=" value v[0..n): access [":" mech ":" token]. */
static int parse_access(struct iurl *u, const char *url, const char *v, size_t n)
{
	const char *colon = memchr(v, ':', n), *end = v + n;
	size_t alen = colon ? (size_t)(colon - v) : n;

	u->has_urlauth = 1;
	u->rump = (size_t)((colon ? colon : end) - url);
	if (alen == 9 && strncasecmp(v, "anonymous", 9) == 0) {
		u->access = AC_ANONYMOUS;
	} else if (alen == 8 && strncasecmp(v, "authuser", 8) == 0) {
		u->access = AC_AUTHUSER;
	} else if (alen > 5 && strncasecmp(v, "user+", 5) == 0) {
		u->access = AC_USER;
		if (unescape(v + 5, alen - 5, u->access_user, sizeof u->access_user) < 0)
			return -1;
	} else if (alen > 7 && strncasecmp(v, "submit+", 7) == 0) {
		u->access = AC_SUBMIT;
		if (unescape(v + 7, alen - 7, u->access_user, sizeof u->access_user) < 0)
			return -1;
	} else {
		return -1;
	}
	if (colon == NULL)
		return 0;
	const char *c2 = memchr(colon + 1, ':', (size_t)(end - colon - 1));
	if (c2 == NULL || c2 == colon + 1 || (size_t)(c2 - colon - 1) >= sizeof u->mech)
		return -1;
	u->has_verifier = 1;
	memcpy(u->mech, colon + 1, (size_t)(c2 - colon - 1));
	if ((size_t)(end - c2 - 1) < sizeof u->token)
		memcpy(u->token, c2 + 1, (size_t)(end - c2 - 1));
	return 0;
}

/* The part of the URL after the host: "mailbox[;UIDVALIDITY=n]"; the
 * name is UTF-8 there (RFC 5092 5), modified UTF-7 on disk. */
static int parse_mailbox(struct iurl *u, const char *p, size_t n)
{
	const char *semi = memchr(p, ';', n);
	char utf8[4 * STORE_NAME_MAX];     /* UTF-8 may be longer than UTF-7 */
	struct buf m = { 0 };
	int rc;

	if (unescape(p, semi ? (size_t)(semi - p) : n, utf8, sizeof utf8) < 0 || utf8[0] == '\0')
		return -1;
	rc = mutf7_encode(utf8, &m) < 0 || m.len >= sizeof u->mailbox ? -1 : 0;
	if (rc == 0)
		memcpy(u->mailbox, m.p, m.len + 1);
	buf_free(&m);
	if (rc < 0)
		return -1;
	if (strcasecmp(u->mailbox, "INBOX") == 0)
		strcpy(u->mailbox, "INBOX");
	if (semi == NULL)
		return 0;
	int64_t uv;

	if ((size_t)(p + n - semi) < 13 || strncasecmp(semi, ";UIDVALIDITY=", 13) != 0 ||
	    (uv = imap_number32_span(semi + 13, (size_t)(p + n - semi - 13), 1)) < 0)
		return -1;
	u->uidvalidity = (uint32_t)uv;
	return 0;
}

/* One ";KEY=value" of the part after the mailbox; stage orders them. */
static int parse_field(struct iurl *u, const char *url, const char *key, size_t klen, int slashed,
    const char *v, size_t n, int *stage)
{
#define KEY(k) (klen == sizeof k - 1 && strncasecmp(key, k, klen) == 0)
	if (KEY("UID") && slashed && *stage == 0) {
		int64_t uid = imap_number32_span(v, n, 1);

		*stage = 1;
		if (uid < 0)
			return -1;
		u->uid = (uint32_t)uid;
		return 0;
	}
	if (KEY("SECTION") && slashed && *stage == 1) {
		*stage = 2;
		return unescape(v, n, u->section, sizeof u->section);
	}
	if (KEY("PARTIAL") && slashed && *stage >= 1 && *stage <= 2) {
		const char *dot = memchr(v, '.', n);
		int64_t off = imap_number32_span(v, dot ? (size_t)(dot - v) : n, 0), len = 0;

		*stage = 3;
		u->partial = 1;
		if (off < 0 || (dot && (len = imap_number32_span(dot + 1, (size_t)(v + n - dot - 1), 1)) < 0))
			return -1;
		u->poff = (uint64_t)off;
		u->plen = (uint64_t)len;       /* 0: to the end */
		return 0;
	}
	if (KEY("EXPIRE") && !slashed && *stage >= 1 && *stage <= 3) {
		*stage = 4;
		u->has_expire = 1;
		return date_time3339(v, n, &u->expire);
	}
	if (KEY("URLAUTH") && !slashed && *stage >= 1 && *stage <= 4) {
		*stage = 5;
		return parse_access(u, url, v, n);
	}
	return -1;
#undef KEY
}

/* Parse url into *u; -1 if it is not an absolute IMAP URL naming a
 * message (with a user: a URL without one names nobody's mailbox). */
static int parse_url(const char *url, struct iurl *u)
{
	const char *p = url, *at, *slash, *ue, *end;
	int stage = 0;

	memset(u, 0, sizeof *u);
	if (strlen(url) > URLAUTH_URL_MAX || strncasecmp(p, "imap://", 7) != 0)
		return -1;
	p += 7;
	slash = strchr(p, '/');
	at = strchr(p, '@');
	if (slash == NULL || at == NULL || at > slash || slash == at + 1 ||
	    (size_t)(slash - at - 1) >= sizeof u->host)
		return -1;
	for (ue = p; ue < at && *ue != ';'; ue++)
		;
	if ((ue < at && strncasecmp(ue, ";AUTH=", 6) != 0) ||
	    unescape(p, (size_t)(ue - p), u->user, sizeof u->user) < 0 || u->user[0] == '\0')
		return -1;
	memcpy(u->host, at + 1, (size_t)(slash - at - 1));
	p = slash + 1;
	if ((end = strstr(p, "/;")) == NULL || parse_mailbox(u, p, (size_t)(end - p)) < 0)
		return -1;
	for (p = end; *p; ) {
		int slashed = *p == '/';
		const char *eq, *v;
		size_t n;

		p += slashed;
		if (*p++ != ';' || (eq = strchr(p, '=')) == NULL)
			return -1;
		v = eq + 1;
		n = strcspn(v, "/;");
		if (parse_field(u, url, p, (size_t)(eq - p), slashed, v, n, &stage) < 0)
			return -1;
		p = v + n;
	}
	return stage >= 1 ? 0 : -1;
}

/* ---- mailbox access keys ---- */

/* Open root's key file, locked (exclusive when it may be written); -1. */
static int keys_open(const char *root, int write, int create)
{
	char path[STORE_PATH_MAX];
	struct stat st;
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", root, URLAUTH_KEYS) >= sizeof path)
		return -1;
	fd = open(path, (write ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return -1;
	if (flock(fd, write ? LOCK_EX : LOCK_SH) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > URLAUTH_FILE_MAX) {
		close(fd);
		return -1;
	}
	/* the keys are as secret as the mail: only the owner reads them */
	if (write && (st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int keys_read(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t k;

	while ((k = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(b, chunk, (size_t)k);
	buf_addc(b, '\0');
	b->len--;
	return k < 0 ? -1 : 0;
}

/* Whether line l[0..n) ("UIDVALIDITY HEXKEY MAILBOX") is mailbox's; with
 * key non-NULL, fill it when the line is whole and its UIDVALIDITY is uv. */
static int key_line(const char *l, size_t n, const char *mailbox, uint32_t uv,
    unsigned char *key, int *found)
{
	const char *sp1 = memchr(l, ' ', n), *sp2;
	size_t mlen = strlen(mailbox);

	if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', (size_t)(l + n - sp1 - 1))) == NULL)
		return 0;
	if ((size_t)(l + n - sp2 - 1) != mlen || memcmp(sp2 + 1, mailbox, mlen) != 0)
		return 0;
	if (key && imap_number32_span(l, (size_t)(sp1 - l), 1) == uv && sp2 - sp1 - 1 == 2 * URLAUTH_KEY_LEN) {
		for (int i = 0; i < URLAUTH_KEY_LEN; i++) {
			char hx[3] = { sp1[1 + 2 * i], sp1[2 + 2 * i], '\0' };

			if (!isxdigit((unsigned char)hx[0]) || !isxdigit((unsigned char)hx[1]))
				return 1;
			key[i] = (unsigned char)strtoul(hx, NULL, 16);
		}
		*found = 1;
	}
	return 1;
}

/* The keys of b without mailbox's line (every line, with mailbox NULL)
 * into out; *found/key as key_line. */
static void keys_filter(const struct buf *b, const char *mailbox, uint32_t uv, unsigned char *key,
    int *found, struct buf *out)
{
	const char *p = b->p ? b->p : "", *end = p + b->len;

	*found = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (mailbox && !key_line(p, n, mailbox, uv, key, found) && nl) {
			buf_add(out, p, n);
			buf_addc(out, '\n');
		}
		p += n + 1;
	}
}

static int keys_write(int fd, const struct buf *b)
{
	size_t off = 0;

	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while (off < b->len) {
		ssize_t k = write(fd, b->p + off, b->len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		off += (size_t)k;
	}
	return fsync(fd);
}

static int random_bytes(unsigned char *p, size_t n)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -1;
	while (got < n) {
		ssize_t k = read(fd, p + got, n - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	return got == n ? 0 : -1;
}

/* The access key of mailbox in the Maildir at root into key, made (and
 * kept) if it has none and create is set.  0, or -1: no such mailbox, or
 * no key. */
static int mailbox_key(const char *root, const char *mailbox, int create, unsigned char *key)
{
	char path[STORE_PATH_MAX];
	struct store_status st;
	struct buf b = { 0 }, out = { 0 };
	int fd, found = 0, rc = -1;

	if (!store_name_ok(mailbox) || store_path(root, mailbox, path, sizeof path) < 0 ||
	    store_status(path, &st, NULL, 0, NULL) < 0)
		return -1;
	if ((fd = keys_open(root, create, create)) < 0)
		return -1;
	if (keys_read(fd, &b) == 0) {
		keys_filter(&b, mailbox, st.uidvalidity, key, &found, &out);
		if (found) {
			rc = 0;
		} else if (create && random_bytes(key, URLAUTH_KEY_LEN) == 0) {
			buf_printf(&out, "%u ", st.uidvalidity);
			for (int i = 0; i < URLAUTH_KEY_LEN; i++)
				buf_printf(&out, "%02x", key[i]);
			buf_printf(&out, " %s\n", mailbox);
			rc = keys_write(fd, &out);
		}
	}
	close(fd);
	OPENSSL_cleanse(b.p, b.len);
	OPENSSL_cleanse(out.p, out.len);
	buf_free(&b);
	buf_free(&out);
	return rc;
}

/* Forget the key of mailbox (NULL: every key) of the Maildir at root. */
static int keys_reset(const char *root, const char *mailbox)
{
	struct buf b = { 0 }, out = { 0 };
	int fd, found, rc = -1;

	if ((fd = keys_open(root, 1, 0)) < 0)
		return errno == ENOENT ? 0 : -1;        /* no key was ever made */
	if (keys_read(fd, &b) == 0) {
		keys_filter(&b, mailbox, 0, NULL, &found, &out);
		rc = keys_write(fd, &out);
	}
	close(fd);
	OPENSSL_cleanse(b.p, b.len);
	buf_free(&b);
	buf_free(&out);
	return rc;
}

/* The token of the rump url[0..n) under key, as hex into hex (41 bytes). */
static void token_hex(const unsigned char *key, const char *url, size_t n, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	HMAC(EVP_sha1(), key, URLAUTH_KEY_LEN, (const unsigned char *)url, n, md, &mdlen);
	for (unsigned i = 0; i < URLAUTH_TOKEN_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	OPENSSL_cleanse(md, sizeof md);
}

/* ---- whose URL, and may this user fetch it ---- */

/* Whether the URL's user is the session's user.  A user "bob@example.org"
 * may also write "imap://bob@example.org/", which reads as user "bob" at
 * host "example.org". */
static int own_url(const struct session *s, const struct iurl *u)
{
	size_t n = strlen(u->user);

	if (strcmp(u->user, s->user.name) == 0)
		return 1;
	return strchr(u->user, '@') == NULL && strncmp(s->user.name, u->user, n) == 0 &&
	    s->user.name[n] == '@' && strcasecmp(s->user.name + n + 1, u->host) == 0;
}

/* The Maildir of the URL's owner into root; -1 if there is none. */
static int owner_root(struct session *s, const struct iurl *u, char *root, size_t cap)
{
	struct user owner;
	enum mailbox_kind kind;
	const char *why = NULL;
	int rc = -1;

	if (own_url(s, u)) {
		snprintf(root, cap, "%s", s->root);
		return 0;
	}
	/* another user's mailbox: readable only if this process may read it
	 * (virtual users sharing one uid); otherwise the URL gives NIL */
	memset(&owner, 0, sizeof owner);
	if (auth_lookup(s->o->users, u->user, &owner) == 1 &&
	    mailbox_path(s->o->mailbox, &owner, root, cap, &kind, &why) == 0 && kind == MB_MAILDIR)
		rc = 0;
	OPENSSL_cleanse(&owner, sizeof owner);
	return rc;
}

/* Whether the access identifier lets this session's user in (RFC 4467 3). */
static int access_ok(const struct session *s, const struct iurl *u)
{
	switch (u->access) {
	case AC_ANONYMOUS:
	case AC_AUTHUSER:       /* URLFETCH needs a login: every caller is one */
		return 1;
	case AC_USER:
		return strcmp(u->access_user, s->user.name) == 0;
	case AC_SUBMIT:
		/* only the submission server, acting for the user: it logs
		 * in as --submit-user, and submit+name names the user */
		return s->o->submit_user != NULL && strcmp(s->o->submit_user, s->user.name) == 0;
	}
	return 0;
}

/* Whether url (parsed into u) verifies for this session; its owner's
 * Maildir into root. */
static int url_verifies(struct session *s, const char *url, const struct iurl *u, char *root,
    size_t cap)
{
	unsigned char key[URLAUTH_KEY_LEN], want[URLAUTH_TOKEN_LEN], got[URLAUTH_TOKEN_LEN];
	char hex[2 * URLAUTH_TOKEN_LEN + 1];
	int ok;

	if (!u->has_urlauth || !u->has_verifier || strcasecmp(u->mech, URLAUTH_MECH) != 0 ||
	    strlen(u->token) != 2 * URLAUTH_TOKEN_LEN)
		return 0;
	if (u->has_expire && time(NULL) >= u->expire)
		return 0;
	if (!access_ok(s, u) || owner_root(s, u, root, cap) < 0 ||
	    mailbox_key(root, u->mailbox, 0, key) < 0)
		return 0;
	token_hex(key, url, u->rump, hex);
	for (int i = 0; i < URLAUTH_TOKEN_LEN; i++) {
		char a[3] = { hex[2 * i], hex[2 * i + 1], '\0' }, b[3] = { u->token[2 * i],
		    u->token[2 * i + 1], '\0' };

		want[i] = (unsigned char)strtoul(a, NULL, 16);
		got[i] = isxdigit((unsigned char)b[0]) && isxdigit((unsigned char)b[1]) ?
		    (unsigned char)strtoul(b, NULL, 16) : (unsigned char)~want[i];
	}
	ok = CRYPTO_memcmp(want, got, sizeof want) == 0;
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(hex, sizeof hex);
	return ok;
}

/* ---- the data a URL names ---- */

enum { UF_BODY = 1, UF_BINARY = 2, UF_BPS = 4 };

struct urldata {
	struct buf body;        /* UF_BODY: the section's bytes as on the wire */
	struct buf binary;      /* UF_BINARY: its content, encodings undone */
	int binary_ok;          /* 0: an encoding we cannot undo (BINARY NIL) */
	struct buf bps;         /* UF_BPS: its BODYSTRUCTURE, or empty (NIL) */
};

static void urldata_free(struct urldata *d)
{
	buf_free(&d->body);
	buf_free(&d->binary);
	buf_free(&d->bps);
}

/* Append the header h[0..n) with its Content-Transfer-Encoding now
 * "binary", as the decoded body below it is. */
static void binary_header(const char *h, size_t n, struct buf *out)
{
	struct hdr_iter it;
	struct hdr_field f;
	const char *pos = h;

	hdr_iter_init(&it, h, n);
	while (hdr_next(&it, &f)) {
		if (f.name && hdr_is(&f, "Content-Transfer-Encoding"))
			buf_adds(out, "Content-Transfer-Encoding: binary\r\n");
		else
			mime_wire_copy(f.raw, f.rawlen, out);
		pos = f.raw + f.rawlen;
	}
	mime_wire_copy(pos, (size_t)(h + n - pos), out);
}

/* Append base[from..to), the text of part top and its sub-parts, with
 * every base64 and quoted-printable leaf decoded and relabelled binary
 * (RFC 5524 3.1: the whole part is converted, not just its top). */
static int convert(const struct mime_part *top, size_t from, size_t to, struct buf *out)
{
	const char *base = top->base;
	size_t pos = from;

	for (const struct mime_part *p = top; p && p->off < to; p = p->order) {
		if (p->off < from || mime_is_multipart(p) || mime_is_message(p) ||
		    p->enc == ENC_7BIT || p->enc == ENC_8BIT || p->enc == ENC_BINARY)
			continue;
		if (p->enc != ENC_QP && p->enc != ENC_BASE64)
			return -1;
		mime_wire_copy(base + pos, p->off - pos, out);
		binary_header(base + p->off, p->body_off - p->off, out);
		fetch_decoded_body(p, out);
		pos = p->end;
	}
	mime_wire_copy(base + pos, to > pos ? to - pos : 0, out);
	return 0;
}

static size_t count_lf(const char *p, size_t n)
{
	size_t k = 0;

	for (const char *e = p + n; p && (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		k++;
	return k;
}

/* Give the parts under top the sizes and line counts of what convert()
 * makes of base[from..to) (leaf: top alone, its body only), for the
 * BODYPARTSTRUCTURE that goes with BINARY: it describes the data sent, as
 * Dovecot's does (the encodings keep their names). */
static void converted_sizes(struct mime_part *top, size_t from, size_t to, int leaf)
{
	for (struct mime_part *p = top; p && (leaf ? p == top : p->off < to); p = p->order) {
		struct buf d = { 0 }, h = { 0 };
		long dsize, dlines;

		if ((!leaf && (p->off < from || mime_is_multipart(p) || mime_is_message(p))) ||
		    (p->enc != ENC_QP && p->enc != ENC_BASE64))
			continue;
		fetch_decoded_body(p, &d);
		dsize = (long)d.len - (long)p->body_wire;
		dlines = (long)count_lf(d.p, d.len) - (long)p->body_lines;
		p->body_wire = d.len;
		p->body_lines = count_lf(d.p, d.len);
		if (!leaf) {
			binary_header(p->base + p->off, p->body_off - p->off, &h);
			dsize += (long)h.len - (long)mime_wire_len(p->base + p->off, p->body_off - p->off);
			dlines += (long)count_lf(h.p, h.len) - (long)count_lf(p->base + p->off,
			    p->body_off - p->off);
		}
		for (struct mime_part *a = p->parent; a; a = a->parent) {
			a->body_wire = (size_t)((long)a->body_wire + dsize);
			a->body_lines = (size_t)((long)a->body_lines + dlines);
		}
		buf_free(&d);
		buf_free(&h);
	}
}

/* Cut b to the URL's ;PARTIAL=o.l. */
static void cut(const struct iurl *u, struct buf *b)
{
	size_t from, len;

	if (!u->partial)
		return;
	from = u->poff < b->len ? (size_t)u->poff : b->len;
	len = b->len - from;
	if (u->plen && u->plen < len)
		len = (size_t)u->plen;
	if (from)
		memmove(b->p, b->p + from, len);
	b->len = len;
}

/* What the section of u names in the message md[0..len), into d. */
static int section_data(const struct iurl *u, const char *p, size_t len, int want, struct urldata *d)
{
	struct mime_msg mm;
	struct mime_range r;
	int rc = -1;

	mime_parse(p, len, &mm);
	if (u->section[0] == '\0') {
		r.part = mm.root;
		r.spec = SPEC_BODY;
		r.off = 0;
		r.len = len;
	} else if (mime_section(mm.root, u->section, &r) != SECT_OK || r.spec == SPEC_FIELDS ||
	    r.spec == SPEC_FIELDS_NOT) {
		goto out;
	}
	rc = 0;
	if (want & UF_BODY) {
		mime_wire_copy(p + r.off, r.len, &d->body);
		cut(u, &d->body);
	}
	if (want & UF_BINARY) {
		const struct mime_part *pt = r.part;
		int leaf = r.spec == SPEC_BODY && u->section[0] && !mime_is_multipart(pt) &&
		    !mime_is_message(pt);

		if (r.spec != SPEC_BODY)
			mime_wire_copy(p + r.off, r.len, &d->binary), d->binary_ok = 1;
		else
			d->binary_ok = (leaf ? fetch_decoded_body(pt, &d->binary) :
			    convert(pt, r.off, r.off + r.len, &d->binary)) == 0;
		cut(u, &d->binary);
	}
	if ((want & UF_BPS) && r.spec == SPEC_BODY) {
		int leaf = u->section[0] && !mime_is_multipart(r.part) && !mime_is_message(r.part);

		/* the tree is ours to change: mm is this URL's parse */
		if ((want & UF_BINARY) && d->binary_ok)
			converted_sizes((struct mime_part *)r.part, r.off, r.off + r.len, leaf);
		mime_bodystructure(r.part, 1, &d->bps);
	}
out:
	mime_free(&mm);
	return rc;
}

/* The data the URL u names in the Maildir at root; -1 if it names nothing
 * (no mailbox, other UIDVALIDITY, no message, no such section). */
static int url_data(const char *root, const struct iurl *u, int want, struct urldata *d)
{
	char path[STORE_PATH_MAX];
	struct folder f;
	const char *p = NULL;
	size_t len = 0;
	int rc = -1;

	memset(d, 0, sizeof *d);
	memset(&f, 0, sizeof f);
	if (!store_name_ok(u->mailbox) || store_path(root, u->mailbox, path, sizeof path) < 0 ||
	    !store_exists(path) || store_open(&f, path, u->mailbox, 1) < 0)
		return -1;
	store_load(&f);
	if (u->uidvalidity == 0 || u->uidvalidity == f.uidvalidity)
		for (size_t i = 0; i < f.n; i++)
			if (f.m[i].uid == u->uid && !f.m[i].gone) {
				if (store_map(&f, &f.m[i], &p, &len) == 0) {
					rc = section_data(u, p, len, want, d);
					store_unmap(p, len);
				}
				break;
			}
	store_close(&f);
	return rc;
}

/* ---- the commands ---- */

/* Whether a names the one mechanism we have. */
static int mech_ok(const struct imap_arg *a)
{
	return arg_astring(a) && strcasecmp(a->s, URLAUTH_MECH) == 0;
}

/* One GENURLAUTH pair: the URL with its token appended to out; -1 (reply
 * sent) if it cannot have one. */
static int genurlauth_one(struct session *s, const char *tag, const struct imap_arg *ua,
    const struct imap_arg *ma, struct buf *out)
{
	unsigned char key[URLAUTH_KEY_LEN];
	char hex[2 * URLAUTH_TOKEN_LEN + 1];
	struct iurl u;
	struct buf full = { 0 };

	if (!arg_astring(ua) || strlen(ua->s) != ua->len || parse_url(ua->s, &u) < 0 ||
	    !u.has_urlauth || u.has_verifier) {
		reply(s, tag, "BAD Invalid URLAUTH rump URL");
		return -1;
	}
	if (!mech_ok(ma)) {
		reply(s, tag, "BAD Unsupported URLAUTH mechanism");
		return -1;
	}
	if (!own_url(s, &u)) {
		reply(s, tag, "NO Can't generate URLAUTH for another user");
		return -1;
	}
	if (mailbox_key(s->root, u.mailbox, 1, key) < 0) {
		reply(s, tag, "NO Mailbox doesn't exist or has no key: %s", u.mailbox);
		return -1;
	}
	token_hex(key, ua->s, u.rump, hex);
	OPENSSL_cleanse(key, sizeof key);
	buf_printf(&full, "%s:internal:%s", ua->s, hex);
	buf_addc(out, ' ');
	imap_string(out, full.p, full.len);
	buf_free(&full);
	return 0;
}

void cmd_genurlauth(struct session *s, struct imap_cmd *c)
{
	struct buf out = { 0 };

	if (c->nargs == 0 || c->nargs % 2) {
		reply(s, c->tag, "BAD GENURLAUTH needs URL and mechanism pairs");
		return;
	}
	buf_adds(&out, "* GENURLAUTH");
	for (size_t i = 0; i < c->nargs; i += 2)
		if (genurlauth_one(s, c->tag, &c->args[i], &c->args[i + 1], &out) < 0) {
			buf_free(&out);
			return;
		}
	buf_adds(&out, "\r\n");
	conn_write(&s->conn, out.p, out.len);
	buf_free(&out);
	reply(s, c->tag, "OK GENURLAUTH completed.");
}

void cmd_resetkey(struct session *s, struct imap_cmd *c)
{
	char name[STORE_NAME_MAX + 8], path[STORE_PATH_MAX];

	if (c->nargs == 0) {
		if (keys_reset(s->root, NULL) < 0)
			reply(s, c->tag, "NO [SERVERBUG] Cannot reset the keys: %s", strerror(errno));
		else
			reply(s, c->tag, "OK All keys removed.");
		return;
	}
	for (size_t i = 1; i < c->nargs; i++)
		if (!mech_ok(&c->args[i])) {
			reply(s, c->tag, "BAD Unsupported URLAUTH mechanism");
			return;
		}
	if (mailbox_arg(s, c->tag, &c->args[0], name, path) < 0)
		return;
	if (!store_exists(path)) {
		reply(s, c->tag, "NO Mailbox doesn't exist: %s", name);
		return;
	}
	if (keys_reset(s->root, name) < 0)
		reply(s, c->tag, "NO [SERVERBUG] Cannot reset the key: %s", strerror(errno));
	else
		reply(s, c->tag, "OK [URLMECH INTERNAL] Key reset.");
}

/* The parameters of "(url BODY BINARY BODYPARTSTRUCTURE)" as UF_* bits;
 * -1 if one is unknown. */
static int fetch_params(const struct imap_arg *l)
{
	int want = 0;

	for (size_t i = 1; i < l->nkids; i++) {
		const struct imap_arg *a = &l->kids[i];

		if (arg_is(a, "BODY"))
			want |= UF_BODY;
		else if (arg_is(a, "BINARY"))
			want |= UF_BINARY;
		else if (arg_is(a, "BODYPARTSTRUCTURE"))
			want |= UF_BPS;
		else
			return -1;
	}
	return want;
}

/* A literal of b, literal8 ("~{n}") if it holds a NUL (RFC 3516 4.2). */
static void literal(const struct buf *b, struct buf *out)
{
	int nul = b->len && memchr(b->p, '\0', b->len) != NULL;

	buf_printf(out, "%s{%zu}\r\n", nul ? "~" : "", b->len);
	buf_add(out, b->p ? b->p : "", b->len);
}

/* "* URLFETCH url data" for one URL: the data as a literal, or with
 * parameters a list (RFC 5524 3.2: BODYPARTSTRUCTURE first); NIL if the
 * URL does not verify or names nothing. */
static void urlfetch_one(struct session *s, const char *url, int want, int listed, struct buf *out)
{
	char root[STORE_PATH_MAX];
	struct iurl u;
	struct urldata d;

	buf_adds(out, "* URLFETCH ");
	imap_string(out, url, strlen(url));
	if (parse_url(url, &u) < 0 || !url_verifies(s, url, &u, root, sizeof root) ||
	    url_data(root, &u, want, &d) < 0) {
		buf_adds(out, " NIL\r\n");
		return;
	}
	if (!listed) {
		buf_addc(out, ' ');
		literal(&d.body, out);
	} else {
		const char *sep = "";

		buf_adds(out, " (");
		if (want & UF_BPS) {
			buf_printf(out, "BODYPARTSTRUCTURE %s", d.bps.len ? "" : "NIL");
			buf_add(out, d.bps.p ? d.bps.p : "", d.bps.len);
			sep = " ";
		}
		if (want & UF_BINARY) {
			buf_printf(out, "%sBINARY ", sep);
			if (d.binary_ok)
				literal(&d.binary, out);
			else
				buf_adds(out, "NIL");
			sep = " ";
		}
		if (want & UF_BODY) {
			buf_printf(out, "%sBODY ", sep);
			literal(&d.body, out);
		}
		buf_addc(out, ')');
	}
	buf_adds(out, "\r\n");
	urldata_free(&d);
}

void cmd_urlfetch(struct session *s, struct imap_cmd *c)
{
	struct buf out = { 0 };

	if (c->nargs == 0) {
		reply(s, c->tag, "BAD URLFETCH needs URLs");
		return;
	}
	/* every argument is checked before anything is sent */
	for (size_t i = 0; i < c->nargs; i++) {
		const struct imap_arg *a = &c->args[i];

		if (a->type == ARG_LIST ? a->nkids < 2 || !arg_astring(&a->kids[0]) ||
		    fetch_params(a) < 0 : !arg_astring(a)) {
			reply(s, c->tag, "BAD Invalid URLFETCH arguments");
			return;
		}
	}
	for (size_t i = 0; i < c->nargs; i++) {
		const struct imap_arg *a = &c->args[i];
		int listed = a->type == ARG_LIST;
		const struct imap_arg *ua = listed ? &a->kids[0] : a;

		out.len = 0;
		if (strlen(ua->s) != ua->len) {
			buf_adds(&out, "* URLFETCH ");
			imap_string(&out, ua->s, ua->len);
			buf_adds(&out, " NIL\r\n");
		} else {
			urlfetch_one(s, ua->s, listed ? fetch_params(a) : UF_BODY, listed, &out);
		}
		conn_write(&s->conn, out.p, out.len);
	}
	buf_free(&out);
	reply(s, c->tag, "OK URLFETCH completed.");
}

int urlauth_catenate_url(struct session *s, const char *url, struct buf *out)
{
	char root[STORE_PATH_MAX];
	struct iurl u;
	struct urldata d;

	if (strncasecmp(url, "imap://", 7) != 0)
		return fetch_url(s, url, out);
	if (parse_url(url, &u) < 0)
		return -1;
	/* RFC 4469 5: a URLAUTH URL is checked as URLFETCH would; a plain
	 * one may only name this user's own messages */
	if (u.has_urlauth ? !url_verifies(s, url, &u, root, sizeof root) : !own_url(s, &u))
		return -1;
	if (!u.has_urlauth)
		snprintf(root, sizeof root, "%s", s->root);
	if (url_data(root, &u, UF_BODY, &d) < 0)
		return -1;
	buf_add(out, d.body.p ? d.body.p : "", d.body.len);
	urldata_free(&d);
	return 0;
}
