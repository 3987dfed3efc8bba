/* sasl.c — server side of SASL PLAIN, LOGIN and CRAM-MD5 (sasl.h).
 *
 * Every response is base64 on the wire; "*" cancels (RFC 4954 4, RFC 5034
 * 4, RFC 3501 6.2.2).  Decoded credentials live only on the stack and are
 * wiped before return.  The user struct is filled only on SASL_OK. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b64.h"
#include "sasl.h"

enum { M_NONE, M_PLAIN, M_LOGIN, M_CRAM };

#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"    /* "Username:" */
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"    /* "Password:" */
#define CRAM_DIGEST_HEX   32                /* HMAC-MD5, RFC 2195 2 */
#define SASL_DEC_MAX      (SASL_LINE_MAX / 4 * 3 + 3)

const char *sasl_mechs(const char *users)
{
	return users != NULL ? "PLAIN LOGIN CRAM-MD5" : "PLAIN LOGIN";
}

/* Put text (already base64, or "") into challenge. */
static enum sasl_rc challenge_set(char *challenge, size_t cap, const char *text)
{
	if (strlen(text) >= cap)
		return SASL_BAD;
	strcpy(challenge, text);
	return SASL_CONTINUE;
}

/* Decode a response line: "=" is empty (RFC 4954 4); returns the length or
 * -1 for bad base64.  out holds SASL_DEC_MAX bytes. */
static ssize_t decode(const char *line, unsigned char *out)
{
	size_t n = strlen(line);

	if (n > SASL_LINE_MAX)
		return -1;
	if (strcmp(line, "=") == 0) {
		out[0] = '\0';
		return 0;
	}
	return b64_decode(line, n, out);
}

static void set_user(struct sasl *s, const char *name, size_t n)
{
	if (n > AUTH_NAME_MAX)
		n = AUTH_NAME_MAX;
	memcpy(s->user, name, n);
	s->user[n] = '\0';
}

/* Look the user up and check the password: SASL_OK or SASL_FAIL. */
static enum sasl_rc check_password(struct sasl *s, const char *name, const char *pass,
    struct user *u)
{
	struct user tmp;
	int ok;

	if (s->check != NULL)
		return auth_name_ok(name) && s->check->password(s->check->arg, name, pass, u) == 1 ?
		    SASL_OK : SASL_FAIL;
	if (!auth_name_ok(name) || auth_lookup(s->users, name, &tmp) != 1)
		return SASL_FAIL;
	ok = auth_verify(&tmp, pass);
	if (ok)
		*u = tmp;
	OPENSSL_cleanse(&tmp, sizeof tmp);
	return ok ? SASL_OK : SASL_FAIL;
}

/* RFC 4616 2: message = [authzid] NUL authcid NUL passwd, exactly two
 * NULs (one inside the password would allow two readings) and a
 * non-empty authcid.  0, or -1 when malformed. */
static int plain_split(const char *dec, size_t n, const char **authz, const char **authc,
    const char **pass)
{
	const char *end = dec + n, *nul1, *nul2;

	if ((nul1 = memchr(dec, '\0', n)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', end - nul1 - 1)) == NULL ||
	    memchr(nul2 + 1, '\0', end - nul2 - 1) != NULL || nul2 == nul1 + 1)
		return -1;
	*authz = dec;
	*authc = nul1 + 1;
	*pass = nul2 + 1;
	return 0;
}

static enum sasl_rc plain_response(struct sasl *s, const char *line, struct user *u)
{
	unsigned char dec[SASL_DEC_MAX];
	ssize_t n = decode(line, dec);
	const char *authz, *authc, *pass;
	enum sasl_rc rc;

	if (n < 0 || plain_split((const char *)dec, n, &authz, &authc, &pass) < 0)
		rc = SASL_BAD;
	else {
		set_user(s, authc, strlen(authc));
		/* We act for nobody else: authzid empty or the same user. */
		if (*authz != '\0' && strcmp(authz, authc) != 0)
			rc = SASL_FAIL;
		else
			rc = check_password(s, authc, pass, u);
	}
	OPENSSL_cleanse(dec, sizeof dec);
	return rc;
}

static enum sasl_rc login_response(struct sasl *s, const char *line, char *challenge,
    size_t cap, struct user *u)
{
	unsigned char dec[SASL_DEC_MAX];
	ssize_t n = decode(line, dec);
	enum sasl_rc rc;

	if (n < 0 || strlen((char *)dec) != (size_t)n) {
		rc = SASL_BAD;
	} else if (s->step == 0) {
		if (n == 0 || n > AUTH_NAME_MAX)
			rc = SASL_BAD;
		else {
			set_user(s, (char *)dec, n);
			s->step = 1;
			rc = challenge_set(challenge, cap, LOGIN_PASS_PROMPT);
		}
	} else {
		rc = check_password(s, s->user, (char *)dec, u);
	}
	OPENSSL_cleanse(dec, sizeof dec);
	return rc;
}

/* RFC 2195 2: the challenge is a msg-id style string, unique per use. */
static enum sasl_rc cram_start(struct sasl *s, const char *hostname, char *challenge,
    size_t cap)
{
	unsigned long long r;
	char enc[sizeof s->cram_challenge / 3 * 4 + 8];

	if (s->check != NULL) {
		/* the helper makes it, so a login process cannot choose one */
		if (s->check->challenge(s->check->arg, s->cram_challenge, sizeof s->cram_challenge) < 0)
			return SASL_FAIL;
	} else {
		if (RAND_bytes((unsigned char *)&r, sizeof r) != 1)
			return SASL_FAIL;
		snprintf(s->cram_challenge, sizeof s->cram_challenge, "<%llu.%lld@%.200s>",
		    r % 10000000000ULL, (long long)time(NULL),
		    hostname && *hostname ? hostname : "localhost");
	}
	b64_encode(s->cram_challenge, strlen(s->cram_challenge), enc);
	return challenge_set(challenge, cap, enc);
}

/* Whether hex (lower or upper case) is HMAC-MD5(secret, challenge). */
static int cram_digest_ok(const char *secret, const char *chal, const char *hex)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char want[2 * EVP_MAX_MD_SIZE + 1], got[CRAM_DIGEST_HEX + 1];
	int ok;

	if (HMAC(EVP_md5(), secret, (int)strlen(secret), (const unsigned char *)chal,
	    strlen(chal), mac, &maclen) == NULL || maclen * 2 != CRAM_DIGEST_HEX)
		return 0;
	for (unsigned int i = 0; i < maclen; i++)
		snprintf(want + 2 * i, 3, "%02x", mac[i]);
	for (int i = 0; i < CRAM_DIGEST_HEX; i++) {
		char c = hex[i];
		got[i] = c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c;
	}
	got[CRAM_DIGEST_HEX] = '\0';
	ok = CRYPTO_memcmp(want, got, CRAM_DIGEST_HEX) == 0;
	OPENSSL_cleanse(mac, sizeof mac);
	OPENSSL_cleanse(want, sizeof want);
	return ok;
}

/* RFC 2195 2: response = user SP 32 hex digits. */
static enum sasl_rc cram_response(struct sasl *s, const char *line, struct user *u)
{
	unsigned char dec[SASL_DEC_MAX];
	ssize_t n = decode(line, dec);
	char *sp;
	struct user tmp;
	const char *secret;
	enum sasl_rc rc = SASL_FAIL;

	if (n < 0 || strlen((char *)dec) != (size_t)n ||
	    (sp = strrchr((char *)dec, ' ')) == NULL || sp == (char *)dec ||
	    strlen(sp + 1) != CRAM_DIGEST_HEX ||
	    strspn(sp + 1, "0123456789abcdefABCDEF") != CRAM_DIGEST_HEX)
		return SASL_BAD;
	*sp = '\0';
	set_user(s, (char *)dec, sp - (char *)dec);
	if (s->check != NULL)
		return auth_name_ok(s->user) && s->check->cram(s->check->arg, s->user, sp + 1, u) == 1 ?
		    SASL_OK : SASL_FAIL;
	if (auth_name_ok(s->user) && auth_lookup(s->users, s->user, &tmp) == 1) {
		if ((secret = auth_plain_secret(&tmp)) != NULL &&
		    cram_digest_ok(secret, s->cram_challenge, sp + 1)) {
			*u = tmp;
			rc = SASL_OK;
		}
		OPENSSL_cleanse(&tmp, sizeof tmp);
	}
	return rc;
}

enum sasl_rc sasl_start(struct sasl *s, const char *users, const char *mech,
    const char *initial, const char *hostname, char *challenge, size_t cap, struct user *u)
{
	return sasl_start_check(s, NULL, users, mech, initial, hostname, challenge, cap, u);
}

enum sasl_rc sasl_start_check(struct sasl *s, const struct sasl_check *check, const char *users,
    const char *mech, const char *initial, const char *hostname, char *challenge, size_t cap,
    struct user *u)
{
	memset(s, 0, sizeof *s);
	s->check = check;
	s->users = users;
	if (cap > 0)
		challenge[0] = '\0';
	if (strcasecmp(mech, "PLAIN") == 0)
		s->mech = M_PLAIN;
	else if (strcasecmp(mech, "LOGIN") == 0)
		s->mech = M_LOGIN;
	else if (strcasecmp(mech, "CRAM-MD5") == 0 && users != NULL)
		s->mech = M_CRAM;
	else
		return SASL_NOMECH;
	if (initial != NULL && strcmp(initial, "*") == 0)
		return SASL_CANCEL;
	switch (s->mech) {
	case M_PLAIN:
		if (initial == NULL)
			return challenge_set(challenge, cap, "");
		return plain_response(s, initial, u);
	case M_LOGIN:
		/* An initial response to LOGIN is the user name (as Dovecot
		 * and Postfix accept it). */
		if (initial == NULL)
			return challenge_set(challenge, cap, LOGIN_USER_PROMPT);
		return login_response(s, initial, challenge, cap, u);
	default:
		/* CRAM-MD5 is server-first: no initial response (RFC 2195). */
		if (initial != NULL)
			return SASL_BAD;
		return cram_start(s, hostname, challenge, cap);
	}
}

static enum sasl_rc step(struct sasl *s, const char *line, char *challenge, size_t cap,
    struct user *u)
{
	if (strcmp(line, "*") == 0)
		return SASL_CANCEL;
	switch (s->mech) {
	case M_PLAIN:
		return plain_response(s, line, u);
	case M_LOGIN:
		return login_response(s, line, challenge, cap, u);
	case M_CRAM:
		return cram_response(s, line, u);
	default:
		return SASL_BAD;
	}
}

enum sasl_rc sasl_step(struct sasl *s, const char *line, char *challenge, size_t cap,
    struct user *u)
{
	enum sasl_rc rc;

	if (cap > 0)
		challenge[0] = '\0';
	rc = step(s, line, challenge, cap, u);
	if (rc != SASL_CONTINUE)
		s->mech = M_NONE;       /* an exchange ends once */
	return rc;
}
