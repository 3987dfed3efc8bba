/* pgp.h — OpenPGP (RFC 4880, PGP/MIME RFC 3156) through GnuPG's gpg: the
 * program is run without a shell, in batch mode, with a bounded time and
 * bounded output, its files in a private temporary directory removed
 * afterwards, and only its machine-readable status lines (--status-fd,
 * GnuPG's doc/DETAILS) are read, never its messages for people.  GNUPGHOME
 * is honoured as gpg honours it (it is in the environment gpg inherits). */
#ifndef ML_PGP_H
#define ML_PGP_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define PGP_SECS        30              /* a gpg run that takes longer is killed */
#define PGP_STATUS_MAX  (256u << 10)    /* status bytes read: a few lines per key */
#define PGP_ERR_MAX     (16u << 10)     /* gpg's stderr kept for an error message */
#define PGP_OUT_MAX     (64u << 20)     /* decrypted or signed output: mail sizes */
#define PGP_SIGS_MAX    16              /* signatures reported; more are a failure */
#define PGP_UIDS_MAX    8               /* user IDs kept per key */
#define PGP_WHY_MAX     200             /* bytes of a plain-words failure reason */
#define PGP_FPR_MAX     64              /* hex fingerprint (v4: 40, v5: 64) */

/* Web-of-trust validity of the signer's key (TRUST_* status lines). */
enum pgp_trust { PGP_TRUST_NONE, PGP_TRUST_UNKNOWN, PGP_TRUST_NEVER, PGP_TRUST_MARGINAL,
	PGP_TRUST_FULL, PGP_TRUST_ULTIMATE };

enum pgp_state {
	PGP_SIG_NONE,           /* nothing said yet */
	PGP_SIG_GOOD,           /* GOODSIG: holds, key valid */
	PGP_SIG_BAD,            /* BADSIG: content changed after signing */
	PGP_SIG_EXPSIG,         /* the signature itself has expired */
	PGP_SIG_EXPKEY,         /* good, but made by a key that has expired */
	PGP_SIG_REVKEY,         /* good, but made by a revoked key */
	PGP_SIG_ERR,            /* ERRSIG: could not be checked */
};

struct pgp_sig {
	enum pgp_state state;
	enum pgp_trust trust;
	char keyid[PGP_FPR_MAX + 1];    /* long key ID, or the fingerprint once known */
	char fpr[PGP_FPR_MAX + 1];      /* VALIDSIG: fingerprint of the signing (sub)key */
	char primary[PGP_FPR_MAX + 1];  /* VALIDSIG: fingerprint of the primary key */
	char *uid[PGP_UIDS_MAX];        /* user IDs: from GOODSIG..., then the key's */
	size_t nuid;
	time_t when;                    /* signature time, 0 if unknown */
	int errcode;                    /* ERRSIG's reason: 4 algorithm, 9 no public key */
	int no_pubkey;                  /* NO_PUBKEY seen */
};

struct pgp_result {
	struct pgp_sig sig[PGP_SIGS_MAX];
	size_t nsig;
	int too_many;                   /* more than PGP_SIGS_MAX signatures */
	int nodata;                     /* NODATA: no OpenPGP data found */
	int badarmor;                   /* BADARMOR */
	int decrypt_ok, decrypt_failed; /* DECRYPTION_OKAY / _FAILED */
	int no_seckey;                  /* NO_SECKEY: not encrypted to a key we hold */
	int sig_hash;                   /* SIG_CREATED: hash algorithm number */
	char why[PGP_WHY_MAX];          /* gpg could not be run, or timed out */
};

/* Parse gpg's status output s[0..n) into r (which the caller zeroed).
 * Lines that are not "[GNUPG:] KEYWORD ..." are skipped.  Never fails. */
void pgp_parse_status(const char *s, size_t n, struct pgp_result *r);
void pgp_result_free(struct pgp_result *r);

/* The verdict on one signature: 1 if it holds (GOODSIG, key neither
 * expired nor revoked); else 0 and why in plain words in why[0..cap). */
int pgp_sig_ok(const struct pgp_sig *g, char *why, size_t cap);
/* "unknown", "marginal", "full", "ultimate", "never", "none". */
const char *pgp_trust_name(enum pgp_trust t);
/* The name and address of user ID u: name[0..ncap) (may be ""), address
 * addr[0..acap) (may be ""). */
void pgp_uid_split(const char *u, char *name, size_t ncap, char *addr, size_t acap);
/* Whether address a is one of the signer's user IDs' addresses (the
 * domain without regard to case; the local part too, as gpg does). */
int pgp_sig_has(const struct pgp_sig *g, const char *a);

/* Verify a detached signature sig[0..siglen) over data[0..dlen) (already
 * canonical, CRLF), or with data NULL a clear-signed text sig[0..siglen)
 * (-----BEGIN PGP SIGNED MESSAGE-----).  Every signature found is in r,
 * with all the user IDs of its key.  Never fails: a run that went wrong
 * leaves r->why set. */
void pgp_verify(const char *sig, size_t siglen, const char *data, size_t dlen,
    struct pgp_result *r);

/* Decrypt the OpenPGP message in[0..n) (armored or binary) into out; any
 * signatures inside are checked and in r.  0, or -1 with why in err. */
int pgp_decrypt(const char *in, size_t n, struct buf *out, struct pgp_result *r,
    char *err, size_t cap);

/* The fingerprint of the secret key gpg would use for hint (a key ID,
 * fingerprint or address; NULL: gpg's default key, the first secret key)
 * into fpr.  0, or -1 with why in err. */
int pgp_secret_key(const char *hint, char fpr[PGP_FPR_MAX + 1], char *err, size_t cap);

/* An armored detached signature over data[0..n) (canonical already) made
 * with secret key fpr, appended to sig; micalg receives "pgp-sha256" or
 * the like (RFC 3156 5).  0, or -1 with why in err. */
int pgp_sign(const char *fpr, const char *data, size_t n, struct buf *sig,
    char *micalg, size_t mcap, char *err, size_t cap);

/* data[0..n) encrypted (armored) to the keys to[0..nto) appended to out
 * (a signed message is signed with PGP/MIME first, RFC 3156 6.1, so this
 * only encrypts).  0, or -1 with why in err, in plain words for a key
 * that is missing, expired, revoked or not trusted. */
int pgp_encrypt(const char *const *to, size_t nto, const char *data, size_t n,
    struct buf *out, char *err, size_t cap);

#endif
