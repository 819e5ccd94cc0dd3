/*
 * acme.h - the ACME protocol core (RFC 8555): JWS signing over OpenSSL
 * (jws.c), the checked parsers of what a CA sends (msg.c), an HTTPS
 * transport with nonce handling (http.c) and the client's flows
 * (client.c).
 *
 * The account key never leaves the process that holds it as a JWK:
 * signing goes through acme_signer's callback, which is given the JWS
 * signing input and returns the JWS signature (raw r||s for ES256).
 * Everything a CA sends is outside bytes: bounded, validated, and its
 * problem documents (RFC 7807) shown as they are.
 */
#ifndef CF_ACME_H
#define CF_ACME_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "error.h"
#include "util.h"

/* Caps on what a CA sends. */
#define ACME_URL_MAX 2048       /* bytes of a URL */
#define ACME_LIST_MAX 100       /* authorizations, identifiers, contacts */
#define ACME_CHALLENGES_MAX 16  /* challenges in one authorization */
#define ACME_TOKEN_MIN 22       /* base64url characters of a token */
#define ACME_TOKEN_MAX 128      /* (RFC 8555 8.1: at least 128 bits) */
#define ACME_STRING_MAX 4096    /* any other string */
#define ACME_DETAIL_MAX 512     /* a problem's detail as shown */
#define ACME_BODY_MAX (1 << 20) /* a response body */
#define ACME_SIG_MAX 1024       /* a JWS signature (RSA up to 8192 bits) */
#define ACME_THUMB_LEN 43       /* base64url of a SHA-256 */

/* ---- jws.c ---------------------------------------------------------- */

/*
 * Signs in (the JWS signing input) into sig, whose room *siglen gives on
 * entry; sets *siglen to the signature's length.  0, or -1 on failure.
 */
typedef int (*acme_sign_fn)(void *arg, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen);

/* Who signs an account's requests: the algorithm, the public JWK, and
 * the callback with its argument. */
struct acme_signer {
	char alg[8]; /* "ES256" or "RS256" */
	json_t *jwk; /* the public JWK, owned (acme_signer_clear) */
	acme_sign_fn sign;
	void *arg;
};

/*
 * Fills s for the account key pk: ES256 for a P-256 key, RS256 for RSA
 * of 2048 bits or more, anything else CF_E_UNSUPPORTED.  The default
 * signer (acme_pkey_sign) borrows pk: the caller keeps it alive as long
 * as s is used.  Clear s with acme_signer_clear.
 */
int acme_signer_from_pkey(
    EVP_PKEY *pk, struct acme_signer *s, struct cf_error *err);
void acme_signer_clear(struct acme_signer *s); /* NULL-safe */

/* The default signer: arg is the EVP_PKEY (ES256 or RS256 by its type). */
int acme_pkey_sign(void *arg, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen);

/* The public JWK of pk (EC P-256 or RSA), new; NULL and err set. */
json_t *acme_jwk_new(EVP_PKEY *pk, struct cf_error *err);

/*
 * The RFC 7638 thumbprint of jwk (its required members, in order,
 * compact, SHA-256, base64url) into out.  -1 for a JWK of another kind.
 */
int acme_jwk_thumbprint(
    const json_t *jwk, char out[ACME_THUMB_LEN + 1], struct cf_error *err);

/* Base64url without padding of len bytes of p; new string. */
char *acme_b64u_new(const unsigned char *p, size_t len);
/* Decodes base64url s (no padding) into out (caller clears); CF_E_PARSE
 * naming what on any other character. */
int acme_b64u_decode(
    const char *s, const char *what, struct cf_buf *out, struct cf_error *err);

/*
 * The flattened JWS {"protected","payload","signature"} of payload (a
 * JSON text; "" for POST-as-GET) for url and nonce, signed by s.  kid
 * NULL puts s's JWK in the header (newAccount), else the account URL.
 * New; NULL and err set.
 */
json_t *acme_jws_new(const struct acme_signer *s, const char *url,
    const char *nonce, const char *kid, const char *payload,
    struct cf_error *err);

/* HMAC-SHA256 of in under key into out. */
int acme_hs256(const unsigned char *key, size_t keylen, const unsigned char *in,
    size_t inlen, unsigned char out[32], struct cf_error *err);

/*
 * The externalAccountBinding of newAccount (RFC 8555 7.3.4): the HS256
 * JWS over jwk, headers {alg, kid, url}.  New; NULL and err set.
 */
json_t *acme_eab_new(const char *kid, const unsigned char *hmac_key,
    size_t keylen, const json_t *jwk, const char *url, struct cf_error *err);

/* The key authorization "token.thumbprint"; new. */
char *acme_key_authorization_new(const char *token, const char *thumbprint);
/* The dns-01 TXT value b64u(SHA-256(keyauth)); new. */
char *acme_dns01_value_new(const char *keyauth);

/* ---- msg.c ---------------------------------------------------------- */

/* The statuses of RFC 8555 7.1.6; each object accepts its own. */
enum acme_status {
	ACME_S_UNKNOWN = 0,
	ACME_S_PENDING,
	ACME_S_READY,
	ACME_S_PROCESSING,
	ACME_S_VALID,
	ACME_S_INVALID,
	ACME_S_DEACTIVATED,
	ACME_S_EXPIRED,
	ACME_S_REVOKED,
};
/* "pending", ...; never NULL. */
const char *acme_status_name(enum acme_status s);

/* An RFC 7807 problem document, with its subproblems (RFC 8555 6.7.1). */
struct acme_problem {
	char *type;
	char *detail; /* may be NULL */
	char *ident;  /* a subproblem's identifier value, or NULL */
	struct acme_problem *sub;
	size_t n_sub;
};

struct acme_directory {
	char *new_nonce, *new_account, *new_order, *revoke_cert;
	char *key_change;       /* may be NULL */
	char *renewal_info;     /* may be NULL (RFC 9773) */
	char *terms_of_service; /* may be NULL */
	int eab_required;
	char **profiles; /* names, may be none */
	size_t n_profiles;
};

struct acme_account {
	enum acme_status status;
	char *orders; /* may be NULL */
};

struct acme_order {
	enum acme_status status;
	char **identifiers; /* dns names */
	size_t n_identifiers;
	char **authorizations; /* URLs */
	size_t n_authorizations;
	char *finalize;
	char *certificate;          /* may be NULL */
	struct acme_problem *error; /* may be NULL */
};

struct acme_challenge {
	char *type;
	char *url;
	char *token; /* may be NULL for types without one */
	enum acme_status status;
	struct acme_problem *error; /* may be NULL */
};

struct acme_authz {
	enum acme_status status;
	char *identifier; /* the dns name */
	int wildcard;
	struct acme_challenge *challenges;
	size_t n_challenges;
};

/*
 * The parsers: each takes a response body of len bytes, checks it
 * whole (caps, https URLs, statuses of its kind, token characters) and
 * sets *out to a new object, or returns -1 with CF_E_PARSE or
 * CF_E_LIMIT naming the field.  Each _free is NULL-safe.
 */
int acme_directory_parse(const char *body, size_t len,
    struct acme_directory **out, struct cf_error *err);
void acme_directory_free(struct acme_directory *d);
int acme_account_parse(const char *body, size_t len, struct acme_account **out,
    struct cf_error *err);
void acme_account_free(struct acme_account *a);
int acme_order_parse(const char *body, size_t len, struct acme_order **out,
    struct cf_error *err);
void acme_order_free(struct acme_order *o);
int acme_authz_parse(const char *body, size_t len, struct acme_authz **out,
    struct cf_error *err);
void acme_authz_free(struct acme_authz *a);
int acme_problem_parse(const char *body, size_t len, struct acme_problem **out,
    struct cf_error *err);
void acme_problem_free(struct acme_problem *p);

/* 0 when s is an https URL (no userinfo, a host, no spaces or control
 * characters, at most ACME_URL_MAX bytes); -1 otherwise. */
int acme_url_check(const char *s);
/* 0 when s is a token of ACME_TOKEN_MIN..MAX base64url characters. */
int acme_token_check(const char *s);

/*
 * p as one line: "acme: TYPE: DETAIL" and each subproblem as
 * "; TYPE (IDENT): DETAIL", control characters replaced by '?', the
 * detail cut at ACME_DETAIL_MAX; into out (truncated to size).
 */
void acme_problem_render(const struct acme_problem *p, char *out, size_t size);
/* The challenge of type in a, or NULL (lent). */
const struct acme_challenge *acme_authz_challenge(
    const struct acme_authz *a, const char *type);

/* ---- http.c --------------------------------------------------------- */

struct acme_http;

/* A response: the status, the body (at most ACME_BODY_MAX bytes) and
 * the headers the client uses, each NULL when absent. */
struct acme_resp {
	long status;
	struct cf_buf body;
	char *content_type;
	char *location;
	char *nonce;
	char *link_up;
	char **alternates; /* Link rel="alternate" URLs */
	size_t n_alternates;
	long retry_after; /* seconds, -1 when absent */
};
void acme_resp_clear(struct acme_resp *r); /* NULL-safe */

/*
 * A transport for https URLs only: ca_file NULL trusts the system's
 * CAs, else only those in ca_file; timeout_ms bounds each request.
 * New; NULL and err set.
 */
struct acme_http *acme_http_new(
    const char *ca_file, long timeout_ms, struct cf_error *err);
void acme_http_free(struct acme_http *h); /* NULL-safe */

/*
 * One request: method "GET", "HEAD" or "POST" (body then sent as
 * application/jose+json).  Any HTTP status is a response (r filled);
 * -1 only when none came (connection, TLS, timeout, body over the cap).
 * A Replay-Nonce in the response is kept for acme_http_nonce_take.
 */
int acme_http_request(struct acme_http *h, const char *method, const char *url,
    const char *body, struct acme_resp *r, struct cf_error *err);
/* The nonce last received, handed over (new), or NULL when none. */
char *acme_http_nonce_take(struct acme_http *h);

/* ---- ari.c: ACME Renewal Information (RFC 9773) ----------------------- */

/* The CA's suggested window to renew a certificate in. */
struct acme_ari {
	time_t start, end;
	char *explanation; /* an https URL, or NULL */
	long retry_after;  /* seconds until asking again; -1: not said */
};

/* The certificate's ARI identifier: base64url of its authority key
 * identifier, ".", base64url of its serial number's content octets;
 * new, or NULL with err (no authority key identifier). */
char *acme_ari_cert_id(X509 *cert, struct cf_error *err);
/* A renewalInfo answer into *out (cleared first): the window's start
 * and end, RFC 3339, end after start; an explanationURL, https. */
int acme_ari_parse(
    const char *body, size_t len, struct acme_ari *out, struct cf_error *err);
void acme_ari_clear(struct acme_ari *a); /* NULL-safe */

/* ---- client.c ------------------------------------------------------- */

struct acme_client;

struct acme_client_config {
	const char *directory;   /* the directory URL (https) */
	const char *ca_file;     /* NULL: the system's CAs */
	long timeout_ms;         /* per request; 0: 30 s */
	long retry_after_max_ms; /* cap on a Retry-After; 0: 60 s */
};

/*
 * Fetches the directory at cfg->directory and returns a client signing
 * with s (borrowed: kept alive by the caller).  New; NULL and err set.
 */
struct acme_client *acme_client_new(const struct acme_client_config *cfg,
    const struct acme_signer *s, struct cf_error *err);
void acme_client_free(struct acme_client *c); /* NULL-safe */
/* The directory fetched (lent). */
const struct acme_directory *acme_client_directory(const struct acme_client *c);
/* The account URL (kid) once known, or NULL (lent). */
const char *acme_client_kid(const struct acme_client *c);
/* The requests retried after a badNonce so far (for tests and metrics). */
long acme_client_badnonce_retries(const struct acme_client *c);
/* Sets the account URL (kid) for an account known already. */
void acme_client_set_kid(struct acme_client *c, const char *kid);

struct acme_account_req {
	const char *const *contact; /* "mailto:..." URLs */
	size_t n_contact;
	int agree_tos;
	int only_existing;   /* onlyReturnExisting */
	const char *eab_kid; /* NULL: no binding */
	const unsigned char *eab_key;
	size_t eab_keylen;
};

/* newAccount: creates or finds the account of the signer's key; the
 * client keeps its URL (acme_client_kid).  -1 naming the step. */
int acme_account_new(struct acme_client *c, const struct acme_account_req *req,
    struct cf_error *err);

/* Deactivates the account (kid set) for good: POST {"status":
 * "deactivated"} to its URL (RFC 8555 7.3.6).  -1 naming the step. */
int acme_account_deactivate(struct acme_client *c, struct cf_error *err);

/* newOrder for n dns names, with profile (NULL: none; CF_E_UNSUPPORTED
 * when the directory does not offer it): *out a new order, *url its URL
 * (new). */
int acme_order_new(struct acme_client *c, const char *const *names, size_t n,
    const char *profile, struct acme_order **out, char **url,
    struct cf_error *err);
/* POST-as-GET of an order at url; *out new. */
int acme_order_get(struct acme_client *c, const char *url,
    struct acme_order **out, struct cf_error *err);
/* POST-as-GET of an authorization at url; *out new. */
int acme_authz_get(struct acme_client *c, const char *url,
    struct acme_authz **out, struct cf_error *err);
/* Deactivates the pending authorization at url (RFC 8555 7.5.2), so
 * that an order given up leaves nothing pending at the CA. */
int acme_authz_deactivate(
    struct acme_client *c, const char *url, struct cf_error *err);
/* Tells the CA to validate the challenge at url (POST {}). */
int acme_challenge_respond(
    struct acme_client *c, const char *url, struct cf_error *err);
/*
 * Polls the authorization at url until it leaves pending, or until
 * deadline_ms (cf_now_ms's clock); honours Retry-After, capped.  *out
 * is the last state seen (new).  -1 on a deadline or when it ended
 * other than valid, with the CA's problem in the message.
 */
int acme_authz_wait(struct acme_client *c, const char *url,
    long long deadline_ms, struct acme_authz **out, struct cf_error *err);
/* Finalizes the order at o->finalize with csr (DER). */
int acme_order_finalize(struct acme_client *c, const struct acme_order *o,
    const unsigned char *csr, size_t csrlen, struct cf_error *err);
/*
 * Polls the order at url while it is pending or processing (or ready,
 * when want is ACME_S_VALID) until it reaches want (0), ends otherwise
 * (-1, the CA's problem in the message) or deadline_ms passes (-1).
 * Honours Retry-After, capped.  *out is the last state seen (new).
 */
int acme_order_wait(struct acme_client *c, const char *url,
    enum acme_status want, long long deadline_ms, struct acme_order **out,
    struct cf_error *err);
/*
 * Downloads the certificate chain at url (PEM); alternate 0 the
 * default chain, N the Nth Link rel="alternate" one.  *pem new,
 * NUL-terminated.
 */
int acme_cert_download(struct acme_client *c, const char *url, int alternate,
    char **pem, size_t *len, struct cf_error *err);
/*
 * The renewal information of the certificate whose ARI identifier is
 * cert_id: GET of the directory's renewalInfo URL and the identifier;
 * its Retry-After in out->retry_after.  CF_E_UNSUPPORTED when the
 * directory offers no renewalInfo.
 */
int acme_ari_get(struct acme_client *c, const char *cert_id,
    struct acme_ari *out, struct cf_error *err);
/* revokeCert of cert (DER) for RFC 5280 reason code reason (-1: none),
 * signed by the account key. */
int acme_cert_revoke(struct acme_client *c, const unsigned char *cert,
    size_t certlen, int reason, struct cf_error *err);

#endif
