/* sasl_client.c — client side of SASL PLAIN (RFC 4616), LOGIN
 * (draft-murchison-sasl-login) and CRAM-MD5 (RFC 2195), for AUTH (RFC 4954).
 *
 * LOGIN servers disagree on the prompt text, so answers go by step, not
 * by what the challenge says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "err.h"
#include "send.h"

static const struct {
	enum sasl_mech m;
	const char *name;
} mechs[] = {                   /* in order of preference */
	{ SASL_M_CRAM,  "CRAM-MD5" },
	{ SASL_M_PLAIN, "PLAIN" },
	{ SASL_M_LOGIN, "LOGIN" },
};

#define NMECHS (sizeof mechs / sizeof mechs[0])

static int offered_has(const char *offered, const char *name)
{
	size_t k = strlen(name);

	for (const char *p = offered; *p; ) {
		size_t n = strcspn(p, " ");

		if (n == k && strncasecmp(p, name, k) == 0)
			return 1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

enum sasl_mech sasl_client_pick(const char *offered, const char *wanted)
{
	for (size_t i = 0; i < NMECHS; i++) {
		if (wanted && strcasecmp(wanted, mechs[i].name) != 0)
			continue;
		if (offered_has(offered, mechs[i].name))
			return mechs[i].m;
	}
	return SASL_M_NONE;
}

const char *sasl_mech_name(enum sasl_mech m)
{
	for (size_t i = 0; i < NMECHS; i++)
		if (mechs[i].m == m)
			return mechs[i].name;
	return "?";
}

static void add_b64(struct buf *out, const void *p, size_t n)
{
	char *d = buf_reserve(out, (n + 2) / 3 * 4 + 1);

	buf_commit(out, b64_encode(p, n, d));
}

void sasl_client_start(struct sasl_client *s, enum sasl_mech m, const char *user,
    const char *pass, struct buf *initial)
{
	s->mech = m;
	s->step = 0;
	s->user = user;
	s->pass = pass;
	buf_reset(initial);
	buf_adds(initial, "");
	if (m == SASL_M_PLAIN) {
		/* authzid empty, authcid, password (RFC 4616 2) */
		struct buf raw = { 0 };

		buf_addc(&raw, '\0');
		buf_adds(&raw, user);
		buf_addc(&raw, '\0');
		buf_adds(&raw, pass);
		add_b64(initial, raw.p, raw.len);
		explicit_bzero(raw.p, raw.len);
		buf_free(&raw);
		s->step = 1;
	}
}

static int cram_answer(struct sasl_client *s, const char *ch, struct buf *resp)
{
	size_t n = strlen(ch);
	unsigned char *raw = xmalloc(n / 4 * 3 + 3), mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	ssize_t k = b64_decode(ch, n, raw);
	struct buf txt = { 0 };

	if (k <= 0) {
		free(raw);
		return -1;
	}
	HMAC(EVP_md5(), s->pass, (int)strlen(s->pass), raw, (size_t)k, mac, &maclen);
	free(raw);
	buf_adds(&txt, s->user);
	buf_addc(&txt, ' ');
	for (unsigned int i = 0; i < maclen; i++)
		buf_printf(&txt, "%02x", mac[i]);
	add_b64(resp, txt.p, txt.len);
	buf_free(&txt);
	return 0;
}

int sasl_client_step(struct sasl_client *s, const char *ch, struct buf *resp)
{
	buf_reset(resp);
	buf_adds(resp, "");
	switch (s->mech) {
	case SASL_M_PLAIN:
		/* the initial response was sent; RFC 4616 has no further step,
		 * but a server that ignored it sends an empty challenge */
		if (s->step++ > 1 || *ch != '\0')
			return -1;
		sasl_client_start(s, SASL_M_PLAIN, s->user, s->pass, resp);
		s->step = 2;
		return 0;
	case SASL_M_LOGIN:
		if (s->step > 1)
			return -1;
		add_b64(resp, s->step == 0 ? s->user : s->pass,
		    strlen(s->step == 0 ? s->user : s->pass));
		s->step++;
		return 0;
	case SASL_M_CRAM:
		if (s->step++ > 0)
			return -1;
		return cram_answer(s, ch, resp);
	default:
		return -1;
	}
}
