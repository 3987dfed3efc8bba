/* tls.c — OpenSSL context set-up (see tls.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"

char *tls_error(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, cap, "TLS error");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		tls_error(err, cap);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, cap, "certificate %s: ", cert);
		tls_error(err + strlen(err), cap - strlen(err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, cap, "key %s: ", key);
		tls_error(err + strlen(err), cap - strlen(err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *tls_client_ctx(const char *cafile, int insecure, char *err, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		tls_error(err, cap);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
	    : SSL_CTX_set_default_verify_paths(ctx)) != 1) {
		snprintf(err, cap, "CA %s: ", cafile ? cafile : "system store");
		tls_error(err + strlen(err), cap - strlen(err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}
