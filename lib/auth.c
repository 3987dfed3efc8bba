/* auth.c — passwd-file and system account lookup, password checks (auth.h).
 *
 * Design note: the passwd-file is read line by line on every lookup (no
 * cache), so an administrator's edit is seen by the next session, as with
 * Dovecot's passwd-file driver.  Secrets are compared in constant time:
 * PLAIN secrets through SHA-256 digests (so not even the length leaks),
 * crypt(3) results with CRYPTO_memcmp. */
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <shadow.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth.h"
#include "err.h"

#define AUTH_LINE_MAX   (AUTH_NAME_MAX + AUTH_SECRET_MAX + PATH_MAX + 1024)
#define AUTH_FIELDS     8       /* user:pass:uid:gid:gecos:home:shell:extra */

/* Number of bytes of the UTF-8 sequence starting at s, or 0 when it is not
 * a well-formed, shortest-form sequence (RFC 3629 4). */
static size_t utf8_seq(const unsigned char *s)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int auth_name_ok(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len, n;

	if (name == NULL || (len = strlen(name)) == 0 || len > AUTH_NAME_MAX)
		return 0;
	/* A name ends up in paths (%u, %n): never a hidden file, a
	 * directory step, or something a shell or getopt reads as an option. */
	if (name[0] == '.' || name[0] == '-' || strcmp(name, "..") == 0)
		return 0;
	while (*s) {
		if (*s < 0x80) {
			if (*s <= ' ' || *s == 0x7f || *s == '/' || *s == ':' || *s == '\\')
				return 0;
			s++;
			continue;
		}
		if ((n = utf8_seq(s)) == 0)
			return 0;
		s += n;
	}
	return 1;
}

/* Whether the file's user field matches the wanted name: exact, except
 * that the domain after '@' is compared without case (RFC 5321 2.4). */
static int name_match(const char *field, const char *name)
{
	const char *fa = strrchr(field, '@'), *na = strrchr(name, '@');

	if (fa == NULL || na == NULL)
		return strcmp(field, name) == 0;
	return fa - field == na - name && strncmp(field, name, fa - field) == 0 &&
	    strcasecmp(fa, na) == 0;
}

/* Parse a uid or gid field: a number, or a name for getpwnam/getgrnam. */
static int parse_id(const char *s, int is_gid, unsigned long *out)
{
	char *end;

	if (isdigit((unsigned char)*s)) {
		errno = 0;
		*out = strtoul(s, &end, 10);
		return *end == '\0' && errno == 0 && *out < (unsigned long)(uid_t)-1 ? 0 : -1;
	}
	if (is_gid) {
		struct group *g = getgrnam(s);
		if (g == NULL)
			return -1;
		*out = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(s);
		if (p == NULL)
			return -1;
		*out = p->pw_uid;
	}
	return 0;
}

/* Split line (modified in place) into up to AUTH_FIELDS ':' fields. */
static int split_fields(char *line, char **f)
{
	int n = 0;

	for (; n < AUTH_FIELDS; n++) {
		f[n] = line;
		if (n == AUTH_FIELDS - 1)
			break;  /* "extra" keeps any further ':' */
		if ((line = strchr(line, ':')) == NULL)
			break;
		*line++ = '\0';
	}
	for (int i = n + 1; i < AUTH_FIELDS; i++)
		f[i] = "";
	return n + 1;
}

/* Whether key is a quota rule's: "quota_rule", "quota_rule2"..., with or
 * without Dovecot's "userdb_" prefix (passdb and userdb share the file). */
static int quota_key(const char *key, size_t n)
{
	static const char rule[] = "quota_rule";

	if (n > 7 && strncmp(key, "userdb_", 7) == 0)
		key += 7, n -= 7;
	if (n < sizeof rule - 1 || strncmp(key, rule, sizeof rule - 1) != 0)
		return 0;
	for (size_t i = sizeof rule - 1; i < n; i++)
		if (!isdigit((unsigned char)key[i]))
			return 0;
	return 1;
}

/* The extra field: the quota rules among its key=value words into u (the
 * other keys are Dovecot's, not ours).  A malformed rule is left out with
 * a warning: the user keeps --quota's limits rather than none. */
static void read_extra(const char *extra, struct user *u)
{
	const char *p = extra;

	while (*p) {
		size_t n = strcspn(p, " \t"), k = strcspn(p, "=");
		char val[QUOTA_RULE_MAX + 1];

		if (n > 0 && k < n && quota_key(p, k)) {
			struct quota q = u->quota;
			int rc = -1;

			if (n - k - 1 < sizeof val) {
				memcpy(val, p + k + 1, n - k - 1);
				val[n - k - 1] = '\0';
				rc = quota_parse_rule(val, &q);
			}
			if (rc < 0)
				warnx_("%s: quota rule %.*s: not understood, left out", u->name,
				    (int)n, p);
			else if (rc == 1) {
				u->quota = q;
				u->has_quota = 1;
			}
		}
		p += n;
		p += strspn(p, " \t");
	}
}

/* Fill u from the fields of a matching line; 0, or -1 if malformed. */
static int fill_user(char **f, struct user *u)
{
	unsigned long uid, gid;

	memset(u, 0, sizeof *u);
	if (strlen(f[0]) > AUTH_NAME_MAX || strlen(f[1]) > AUTH_SECRET_MAX ||
	    strlen(f[5]) >= sizeof u->home)
		return -1;
	strcpy(u->name, f[0]);
	strcpy(u->secret, f[1]);
	strcpy(u->home, f[5]);
	if (*f[2] != '\0' && *f[3] != '\0') {
		if (parse_id(f[2], 0, &uid) < 0 || parse_id(f[3], 1, &gid) < 0)
			return -1;
		u->uid = (uid_t)uid;
		u->gid = (gid_t)gid;
		u->has_ids = 1;
	}
	read_extra(f[7], u);
	return 0;
}

static int lookup_file(const char *file, const char *name, struct user *u)
{
	FILE *fp;
	char *line = NULL, *f[AUTH_FIELDS];
	size_t cap = 0;
	ssize_t len;
	int found = 0;

	if ((fp = fopen(file, "re")) == NULL)
		return -1;
	while ((len = getline(&line, &cap, fp)) >= 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#' || (size_t)len > AUTH_LINE_MAX)
			continue;
		split_fields(line, f);
		if (!name_match(f[0], name))
			continue;
		if (fill_user(f, u) == 0)
			found = 1;
		else
			warnx_("%s: malformed entry for user %s", file, name);
		break;
	}
	if (ferror(fp) && !found) {
		int e = errno;
		free(line);
		fclose(fp);
		errno = e;
		return -1;
	}
	OPENSSL_cleanse(line, cap);
	free(line);
	fclose(fp);
	return found;
}

/* A system account: ids and home from getpwnam; the hash from pw_passwd
 * when it holds one, else from the shadow file when we may read it. */
static int lookup_system(const char *name, struct user *u)
{
	struct passwd *pw;
	struct spwd *sp;
	const char *hash = NULL;

	errno = 0;
	if ((pw = getpwnam(name)) == NULL)
		return errno == 0 || errno == ENOENT || errno == ESRCH ? 0 : -1;
	memset(u, 0, sizeof *u);
	if (strlen(pw->pw_name) > AUTH_NAME_MAX || strlen(pw->pw_dir) >= sizeof u->home)
		return 0;
	strcpy(u->name, pw->pw_name);
	strcpy(u->home, pw->pw_dir);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->has_ids = 1;
	if (pw->pw_passwd[0] == '$')
		hash = pw->pw_passwd;
	else if ((sp = getspnam(name)) != NULL)
		hash = sp->sp_pwdp;
	if (hash != NULL && hash[0] != '!' && hash[0] != '*' && hash[0] != '\0' &&
	    strlen(hash) + 7 <= AUTH_SECRET_MAX)
		snprintf(u->secret, sizeof u->secret, "{CRYPT}%s", hash);
	endspent();
	return 1;
}

int auth_lookup(const char *file, const char *name, struct user *u)
{
	if (!auth_name_ok(name))
		return 0;
	if (file == NULL)
		return lookup_system(name, u);
	return lookup_file(file, name, u);
}

int auth_lookup_rcpt(const char *file, const char *addr, struct user *u)
{
	char local[AUTH_NAME_MAX + 1], *plus;
	const char *at = strrchr(addr, '@');
	int rc;

	if ((rc = auth_lookup(file, addr, u)) != 0)
		return rc;
	if (at != NULL) {
		if ((size_t)(at - addr) > AUTH_NAME_MAX)
			return 0;
		memcpy(local, addr, at - addr);
		local[at - addr] = '\0';
		if ((rc = auth_lookup(file, local, u)) != 0)
			return rc;
	} else {
		if (strlen(addr) > AUTH_NAME_MAX)
			return 0;
		strcpy(local, addr);
	}
	/* "n+detail": the user n (sub-addressing, RFC 5233). */
	if ((plus = strchr(local, '+')) == NULL || plus == local)
		return 0;
	if (at != NULL) {
		char full[2 * AUTH_NAME_MAX + 2];
		snprintf(full, sizeof full, "%.*s%s", (int)(plus - local), local, at);
		if ((rc = auth_lookup(file, full, u)) != 0)
			return rc;
	}
	*plus = '\0';
	return auth_lookup(file, local, u);
}

/* The scheme of a "{SCHEME}secret" string: its length into *slen and the
 * secret's start; a secret with no scheme is CRYPT. */
static const char *scheme_of(const char *secret, const char **scheme, size_t *slen)
{
	const char *end;

	if (secret[0] == '{' && (end = strchr(secret, '}')) != NULL) {
		*scheme = secret + 1;
		*slen = end - secret - 1;
		return end + 1;
	}
	*scheme = "CRYPT";
	*slen = 5;
	return secret;
}

static int scheme_is(const char *scheme, size_t slen, const char *want)
{
	return strlen(want) == slen && strncasecmp(scheme, want, slen) == 0;
}

const char *auth_plain_secret(const struct user *u)
{
	const char *scheme, *sec;
	size_t slen;

	if (u->secret[0] == '\0')
		return NULL;
	sec = scheme_of(u->secret, &scheme, &slen);
	if (scheme_is(scheme, slen, "PLAIN") || scheme_is(scheme, slen, "CLEARTEXT"))
		return sec;
	return NULL;
}

static int plain_equal(const char *a, const char *b)
{
	unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
	int eq;

	SHA256((const unsigned char *)a, strlen(a), da);
	SHA256((const unsigned char *)b, strlen(b), db);
	eq = CRYPTO_memcmp(da, db, sizeof da) == 0;
	OPENSSL_cleanse(da, sizeof da);
	OPENSSL_cleanse(db, sizeof db);
	return eq;
}

static int crypt_equal(const char *hash, const char *password)
{
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *r;
	int eq = 0;

	r = crypt_r(password, hash, cd);
	/* libxcrypt returns "*0"/"*1" (or NULL) for a hash it cannot use. */
	if (r != NULL && r[0] != '*' && strlen(r) == strlen(hash))
		eq = CRYPTO_memcmp(r, hash, strlen(hash)) == 0;
	OPENSSL_cleanse(cd, sizeof *cd);
	free(cd);
	return eq;
}

int auth_verify(const struct user *u, const char *password)
{
	const char *scheme, *sec;
	size_t slen;

	if (u->secret[0] == '\0' || password == NULL)
		return 0;
	sec = scheme_of(u->secret, &scheme, &slen);
	if (scheme_is(scheme, slen, "PLAIN") || scheme_is(scheme, slen, "CLEARTEXT"))
		return plain_equal(sec, password);
	if (scheme_is(scheme, slen, "SHA512-CRYPT") || scheme_is(scheme, slen, "SHA256-CRYPT") ||
	    scheme_is(scheme, slen, "MD5-CRYPT") || scheme_is(scheme, slen, "CRYPT") ||
	    scheme_is(scheme, slen, "BLF-CRYPT") || scheme_is(scheme, slen, "DES-CRYPT")) {
		if (sec[0] == '\0' || sec[0] == '!' || sec[0] == '*')
			return 0;
		return crypt_equal(sec, password);
	}
	return 0;       /* unknown scheme: nobody gets in */
}

/* Lower-case hex of d[0..n) into out (2n + 1 bytes). */
static void hex_of(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Whether hex (32 digits, any case) equals the 16 bytes d. */
static int hex_equal(const unsigned char *d, const char *hex)
{
	char want[2 * 16 + 1], got[2 * 16 + 1];
	size_t i;
	int eq;

	if (strlen(hex) != 32 || strspn(hex, "0123456789abcdefABCDEF") != 32)
		return 0;
	hex_of(d, 16, want);
	for (i = 0; i < 32; i++)
		got[i] = (char)tolower((unsigned char)hex[i]);
	got[i] = '\0';
	eq = CRYPTO_memcmp(want, got, 32) == 0;
	OPENSSL_cleanse(want, sizeof want);
	return eq;
}

int auth_apop_ok(const struct user *u, const char *stamp, const char *hex)
{
	const char *secret = auth_plain_secret(u);
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	EVP_MD_CTX *ctx;
	int ok = 0;

	if (secret == NULL || stamp == NULL || *stamp == '\0' || (ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) && EVP_DigestUpdate(ctx, stamp, strlen(stamp)) &&
	    EVP_DigestUpdate(ctx, secret, strlen(secret)) && EVP_DigestFinal_ex(ctx, d, &dn) &&
	    dn == 16)
		ok = hex_equal(d, hex);
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(d, sizeof d);
	return ok;
}

int auth_cram_ok(const struct user *u, const char *challenge, const char *hex)
{
	const char *secret = auth_plain_secret(u);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int ok = 0;

	if (secret == NULL || challenge == NULL || *challenge == '\0')
		return 0;
	if (HMAC(EVP_md5(), secret, (int)strlen(secret), (const unsigned char *)challenge,
	    strlen(challenge), mac, &maclen) != NULL && maclen == 16)
		ok = hex_equal(mac, hex);
	OPENSSL_cleanse(mac, sizeof mac);
	return ok;
}
