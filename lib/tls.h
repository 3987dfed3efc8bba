/* tls.h — OpenSSL contexts for servers and clients. */
#ifndef ML_TLS_H
#define ML_TLS_H

#include <openssl/ssl.h>

/* A server context with the certificate chain and key from PEM files.
 * Return NULL with a reason in err (cap bytes). Free with SSL_CTX_free. */
SSL_CTX *tls_server_ctx(const char *cert, const char *key, char *err, size_t cap);
/* A client context: verify peers against cafile (NULL: the system store)
 * unless insecure.  Return NULL with a reason in err. */
SSL_CTX *tls_client_ctx(const char *cafile, int insecure, char *err, size_t cap);
/* The last OpenSSL error as text, into buf; return buf. */
char *tls_error(char *buf, size_t cap);

#endif
