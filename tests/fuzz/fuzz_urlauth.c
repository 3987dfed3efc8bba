/* fuzz_urlauth — libFuzzer harness for imapd's IMAP URL parser (RFC 5092,
 * RFC 4467 URLAUTH; imapd/urlauth.c, included whole): parse_url and its
 * pieces (unescape, imap_number32_span, date_time3339, parse_access, parse_mailbox,
 * parse_field), which read the URLs a client gives GENURLAUTH, URLFETCH and
 * CATENATE; and key_line/keys_filter, which read the owner's key file.
 *
 * The input up to a first NUL is the URL; the rest is a key file, filtered
 * for the URL's mailbox.
 * FUZZ_EXTRA: imapd/context.c imapd/fetch.c imapd/folders.c imapd/hcache.c imapd/notify.c imapd/parse.c imapd/quota.c imapd/search.c imapd/session.c imapd/sort.c imapd/store.c
 *
 * Asserted: a URL that parses names a user and a mailbox (NUL-free, no
 * control byte), a nz-number UID, a nonzero UIDVALIDITY if one was given,
 * a nonzero PARTIAL length if one was given and an offset below 2^32; its
 * rump (what the token signs) ends at the access identifier, followed by
 * nothing or ":mech:token"; written again by the harness's own formatter
 * (%XX escapes for every byte but letters and digits, the mailbox turned
 * back from modified UTF-7) it parses to the same fields.  The key
 * filter keeps only whole lines of the file and never more of it.  The
 * whole input read as a number (imap_number32_span, the URLs' numbers) is
 * what imap_number32 reads when it stops at the input's end, and -1 when
 * it does not. */
#include <stdint.h>

#include "../../imapd/urlauth.c"

const char *const progname = "fuzz_urlauth";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } } while (0)

static void ctl_free(const char *s)
{
	for (; *s; s++)
		CHECK((unsigned char)*s >= ' ' && *s != 0x7f);
}

static void esc(struct buf *b, const char *s)
{
	for (; *s; s++)
		if (isalnum((unsigned char)*s))
			buf_addc(b, *s);
		else
			buf_printf(b, "%%%02X", (unsigned char)*s);
}

static const char *const access_name[] = { "anonymous", "authuser", "user+", "submit+" };

/* u written again as a URL: 0, or -1 if the mailbox does not decode. */
static int format(const struct iurl *u, struct buf *b)
{
	struct buf m = { 0 };

	if (mutf7_decode(u->mailbox, &m) < 0) {
		buf_free(&m);
		return -1;
	}
	buf_adds(b, "imap://");
	esc(b, u->user);
	buf_printf(b, "@%s/", u->host);
	esc(b, m.p ? m.p : "");
	buf_free(&m);
	if (u->uidvalidity)
		buf_printf(b, ";UIDVALIDITY=%u", (unsigned)u->uidvalidity);
	buf_printf(b, "/;UID=%u", (unsigned)u->uid);
	if (u->section[0]) {
		buf_adds(b, "/;SECTION=");
		esc(b, u->section);
	}
	if (u->partial) {
		buf_printf(b, "/;PARTIAL=%llu", (unsigned long long)u->poff);
		if (u->plen)
			buf_printf(b, ".%llu", (unsigned long long)u->plen);
	}
	if (u->has_expire) {
		struct tm tm;
		char when[64];

		if (gmtime_r(&u->expire, &tm) == NULL || tm.tm_year + 1900 < 0 ||
		    tm.tm_year + 1900 > 9999)
			return -1;
		snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		buf_printf(b, ";EXPIRE=%s", when);
	}
	if (u->has_urlauth) {
		buf_printf(b, ";URLAUTH=%s", access_name[u->access]);
		if (u->access == AC_USER || u->access == AC_SUBMIT)
			esc(b, u->access_user);
		if (u->has_verifier)
			buf_printf(b, ":%s:%s", u->mech, u->token);
	}
	return 0;
}

/* An accepted RFC 3339 date-time: digits where its grammar has them, a
 * day that its month has. */
static void check_date(const char *s, size_t n)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *pat = "dddd-dd-ddTdd:dd:dd";
	int y, m, d;

	CHECK(n >= 20);
	for (size_t i = 0; i < 19; i++)
		CHECK(pat[i] == 'd' ? isdigit((unsigned char)s[i]) :
		    pat[i] == 'T' ? (s[i] == 'T' || s[i] == 't') : s[i] == pat[i]);
	if (s[n - 1] != 'Z' && s[n - 1] != 'z')
		for (size_t i = n - 5; i < n; i++)
			CHECK(i == n - 3 ? s[i] == ':' : isdigit((unsigned char)s[i]));
	y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	CHECK(m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1]);
	if (m == 2 && d == 29)
		CHECK(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

static void check_url(const char *url)
{
	struct iurl u, v;
	struct buf b = { 0 };

	if (parse_url(url, &u) < 0)
		return;
	CHECK(u.user[0] != '\0');
	ctl_free(u.user);
	CHECK(u.mailbox[0] != '\0');
	ctl_free(u.mailbox);
	ctl_free(u.section);
	CHECK(u.uid != 0);
	{
		/* in the mailbox part: after the host's "/", before the first "/;" */
		const char *mb = strchr(url + 7, '/'), *uv = strcasestr(mb, ";UIDVALIDITY=");

		if (uv != NULL && uv < strstr(mb, "/;"))
			CHECK(u.uidvalidity != 0);
	}
	if (u.partial)
		CHECK(u.poff <= UINT32_MAX && u.plen <= UINT32_MAX);
	if (u.has_urlauth) {
		CHECK(u.rump <= strlen(url));
		CHECK(url[u.rump] == '\0' || url[u.rump] == ':');
		CHECK(u.has_verifier == (url[u.rump] == ':'));
		if (u.access == AC_USER || u.access == AC_SUBMIT) {
			CHECK(u.access_user[0] != '\0');
			ctl_free(u.access_user);
		}
	}
	/* to the harness's own formatter and back */
	if (strchr(u.host, '/') == NULL && strchr(u.host, '@') == NULL && format(&u, &b) == 0 &&
	    b.len <= URLAUTH_URL_MAX) {
		CHECK(parse_url(b.p, &v) == 0);
		CHECK(strcmp(u.user, v.user) == 0 && strcmp(u.host, v.host) == 0);
		CHECK(strcmp(u.mailbox, v.mailbox) == 0);
		CHECK(u.uidvalidity == v.uidvalidity && u.uid == v.uid);
		CHECK(strcmp(u.section, v.section) == 0);
		CHECK(u.partial == v.partial && u.poff == v.poff && u.plen == v.plen);
		CHECK(u.has_expire == v.has_expire && (!u.has_expire || u.expire == v.expire));
		CHECK(u.has_urlauth == v.has_urlauth && u.access == v.access);
		CHECK(strcmp(u.access_user, v.access_user) == 0);
		CHECK(u.has_verifier == v.has_verifier && strcmp(u.mech, v.mech) == 0);
		CHECK(strcmp(u.token, v.token) == 0);
	}
	buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *z = memchr(data, '\0', size);
	size_t ulen = z ? (size_t)(z - data) : size;
	char *url = strndup((const char *)data, ulen);
	struct buf keys = { 0 }, out = { 0 };
	unsigned char key[URLAUTH_KEY_LEN];
	struct iurl u;
	int found;

	check_url(url);
	/* the key file, filtered for the URL's mailbox (or INBOX) */
	if (z != NULL) {
		buf_add(&keys, z + 1, size - ulen - 1);
		if (parse_url(url, &u) < 0)
			snprintf(u.mailbox, sizeof u.mailbox, "INBOX"), u.uidvalidity = 1;
		keys_filter(&keys, u.mailbox, u.uidvalidity, key, &found, &out);
		CHECK(out.len <= keys.len);
		CHECK(out.len == 0 || out.p[out.len - 1] == '\n');
		keys_filter(&keys, NULL, 0, NULL, &found, &out);
	}
	/* the pieces on their own */
	for (int nz = 0; nz <= 1; nz++) {
		const char *q = url;
		int64_t v = imap_number32_span(url, ulen, nz), w = imap_number32(&q, nz);

		CHECK(v == (w >= 0 && q == url + ulen ? w : -1));
		CHECK(v < 0 || (v <= UINT32_MAX && (!nz || v > 0)));
	}
	{
		time_t t;
		char dec[256];

		if (date_time3339(url, ulen, &t) == 0)
			check_date(url, ulen);
		if (unescape(url, ulen, dec, sizeof dec) == 0)
			ctl_free(dec);
	}
	buf_free(&keys);
	buf_free(&out);
	free(url);
	return 0;
}
