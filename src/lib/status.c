/* status.c - Status computed when read: see status.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "status.h"
#include "util.h"

#define MAX_DEPTH 16

struct memo {
	char thumb[CF_THUMB_LEN + 1];
	int trusted;
};

struct cf_status_ctx {
	struct cf_store *store;
	struct cf_row *ends, *chains; /* sorted by thumbprint */
	size_t nends, nchains;
	X509_STORE *trust;             /* loaded on first need */
	char (*sys)[CF_THUMB_LEN + 1]; /* system roots' thumbprints, sorted */
	size_t nsys;
	int trust_loaded, sys_loaded;
	struct memo *memo;
	size_t nmemo;
};

static int
cmp_thumb(const void *a, const void *b)
{
	return strcmp(((const struct cf_row *)a)->f.thumbprint,
	    ((const struct cf_row *)b)->f.thumbprint);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static const struct cf_row *
find(const struct cf_row *rows, size_t n, const char *thumb)
{
	struct cf_row key;

	if (n == 0)
		return NULL;
	/* Only the thumbprint is compared: no need to clear the rest. */
	strncpy(key.f.thumbprint, thumb, CF_THUMB_LEN);
	key.f.thumbprint[CF_THUMB_LEN] = '\0';
	return bsearch(&key, rows, n, sizeof(*rows), cmp_thumb);
}

static const struct cf_row *
lookup(struct cf_status_ctx *c, const char *thumb)
{
	const struct cf_row *r = find(c->ends, c->nends, thumb);
	return r ? r : find(c->chains, c->nchains, thumb);
}

struct cf_status_ctx *
cf_status_ctx_new(struct cf_store *s, struct cf_error *err)
{
	struct cf_status_ctx *c = xcalloc(1, sizeof(*c));

	c->store = s;
	if (cf_store_list(s, CF_END, NULL, 0, &c->ends, &c->nends, err) == -1 ||
	    cf_store_list(s, CF_CHAIN, NULL, 0, &c->chains, &c->nchains, err) ==
		-1) {
		cf_status_ctx_free(c);
		return NULL;
	}
	return c;
}

void
cf_status_ctx_free(struct cf_status_ctx *c)
{
	if (c == NULL)
		return;
	cf_rows_free(c->ends, c->nends);
	cf_rows_free(c->chains, c->nchains);
	X509_STORE_free(c->trust);
	free(c->sys);
	free(c->memo);
	free(c);
}

struct cf_row *
cf_status_ctx_ends(struct cf_status_ctx *c, size_t *n)
{
	*n = c->nends;
	return c->ends;
}

static const char *
system_roots_file(void)
{
	const char *file = getenv("SSL_CERT_FILE");

	return file != NULL ? file : X509_get_default_cert_file();
}

/*
 * The thumbprints of the system's roots, kept sorted for membership
 * tests.  Only the PEM armour is undone and the DER hashed: parsing ~150
 * certificates into X509 objects would cost more than the rest of `get`.
 */
static void
load_system_thumbs(struct cf_status_ctx *c)
{
	BIO *bio = BIO_new_file(system_roots_file(), "r");
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL, md[20];
	long len = 0;
	size_t cap = 0;

	c->sys_loaded = 1;
	while (bio != NULL &&
	       PEM_read_bio(bio, &name, &header, &data, &len) == 1) {
		if (strcmp(name, "CERTIFICATE") == 0 &&
		    EVP_Digest(data, (size_t)len, md, NULL, EVP_sha1(), NULL) ==
			1) {
			if (c->nsys == cap) {
				cap = cap ? cap * 2 : 256;
				c->sys =
				    xrealloc(c->sys, cap * sizeof(*c->sys));
			}
			cf_hex_upper(md, 20, c->sys[c->nsys++]);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	BIO_free(bio);
	ERR_clear_error();
	if (c->nsys > 0)
		qsort(c->sys, c->nsys, sizeof(*c->sys), cmp_str);
}

/*
 * The trust store for chains whose top is not self-signed: the system's
 * roots and the store's own self-signed certificates.  Loaded once, and
 * only when such a chain is met.
 */
static void
load_trust(struct cf_status_ctx *c)
{
	size_t i;

	c->trust_loaded = 1;
	if ((c->trust = X509_STORE_new()) == NULL)
		abort();
	if (X509_STORE_load_file(c->trust, system_roots_file()) != 1)
		ERR_clear_error(); /* no system roots: only our own */
	for (i = 0; i < c->nends; i++) {
		struct cf_row r;
		X509 *x;
		if (!c->ends[i].f.self_signed)
			continue;
		if (cf_store_fetch(
			c->store, c->ends[i].f.thumbprint, &r, NULL) != 1)
			continue;
		if ((x = cf_cert_from_der(r.der, r.der_len, NULL)) != NULL) {
			X509_STORE_add_cert(c->trust, x);
			X509_free(x);
		}
		cf_row_clear(&r);
	}
	ERR_clear_error();
}

static int
is_system_root(struct cf_status_ctx *c, const char *thumb)
{
	if (!c->sys_loaded)
		load_system_thumbs(c);
	return c->nsys > 0 && bsearch(thumb, c->sys, c->nsys, sizeof(*c->sys),
				  cmp_str) != NULL;
}

/* Verifies top (not self-signed) against the trust store; memoized. */
static int
top_trusted(struct cf_status_ctx *c, const struct cf_row *top)
{
	X509_STORE_CTX *ctx = NULL;
	struct cf_row r;
	X509 *x = NULL;
	size_t i;
	int ok = 0;

	for (i = 0; i < c->nmemo; i++)
		if (strcmp(c->memo[i].thumb, top->f.thumbprint) == 0)
			return c->memo[i].trusted;
	if (!c->trust_loaded)
		load_trust(c);
	if (cf_store_fetch(c->store, top->f.thumbprint, &r, NULL) == 1) {
		x = cf_cert_from_der(r.der, r.der_len, NULL);
		cf_row_clear(&r);
	}
	if (x != NULL && (ctx = X509_STORE_CTX_new()) != NULL &&
	    X509_STORE_CTX_init(ctx, c->trust, x, NULL) == 1) {
		/* Dates are judged separately; here only the path counts. */
		X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	ERR_clear_error();
	c->memo = xrealloc(c->memo, (c->nmemo + 1) * sizeof(*c->memo));
	snprintf(c->memo[c->nmemo].thumb, sizeof(c->memo[0].thumb), "%s",
	    top->f.thumbprint);
	c->memo[c->nmemo++].trusted = ok;
	return ok;
}

static void
append(char **list, const char *thumb)
{
	char *old = *list;

	*list = old[0] ? xasprintf("%s,%s", old, thumb) : xstrdup(thumb);
	free(old);
}

const char *
cf_status_of(
    struct cf_status_ctx *c, const struct cf_row *r, time_t now, char **chain)
{
	const struct cf_row *cur = r, *next;
	int depth = 0, bad = 0, chain_dates = 1, trusted;

	*chain = xstrdup("");
	for (;;) {
		if (cur->sig_state == CF_SIG_BAD)
			bad = 1;
		if (cur->f.self_signed || cur->signed_by[0] == '\0' ||
		    depth == MAX_DEPTH)
			break;
		if ((next = lookup(c, cur->signed_by)) == NULL ||
		    strstr(*chain, next->f.thumbprint) != NULL ||
		    strcmp(next->f.thumbprint, r->f.thumbprint) == 0)
			break; /* missing or a cycle */
		append(chain, next->f.thumbprint);
		if (now < next->f.not_before || now > next->f.not_after)
			chain_dates = 0;
		cur = next;
		depth++;
	}
	if (bad)
		return "Invalid";
	if (now < r->f.not_before || now > r->f.not_after)
		return "DateInvalid";
	if (cur->f.self_signed)
		trusted = find(c->ends, c->nends, cur->f.thumbprint) != NULL ||
			  is_system_root(c, cur->f.thumbprint);
	else
		trusted = top_trusted(c, cur);
	return trusted && chain_dates ? "Valid" : "Untrusted";
}

int
cf_status_chain(struct cf_store *s, const struct cf_row *leaf,
    struct cf_row **rows, size_t *n, struct cf_error *err)
{
	char next[CF_THUMB_LEN + 1];
	int depth, found, cycle;
	size_t i;

	*rows = NULL;
	*n = 0;
	if (leaf->f.self_signed)
		return 0;
	snprintf(next, sizeof(next), "%s", leaf->signed_by);
	for (depth = 0; next[0] != '\0' && depth < MAX_DEPTH; depth++) {
		struct cf_row r;
		cycle = strcmp(next, leaf->f.thumbprint) == 0;
		for (i = 0; i < *n; i++)
			cycle |= strcmp((*rows)[i].f.thumbprint, next) == 0;
		if (cycle)
			break;
		if ((found = cf_store_fetch(s, next, &r, err)) == -1) {
			cf_rows_free(*rows, *n);
			*rows = NULL;
			*n = 0;
			return -1;
		}
		if (found == 0)
			break;
		*rows = xrealloc(*rows, (*n + 1) * sizeof(**rows));
		(*rows)[(*n)++] = r;
		if (r.f.self_signed || r.sig_state != CF_SIG_OK)
			break;
		snprintf(next, sizeof(next), "%s", r.signed_by);
	}
	return 0;
}
