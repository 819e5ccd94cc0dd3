/*
 * autopilot_ari.c - the CA's renewal window (RFC 9773) for a namespace's
 * certificate, as `certfleet autopilot` asks it (autopilot.h): the
 * account's directory URL from the agent that keeps the account, the
 * certificate's ARI identifier from its chain exported without the key
 * (kept in the renewal state, so asked once per certificate), then a
 * plain GET of renewalInfo.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "acme_agent.h"
#include "autopilot.h"

#define ARI_TIMEOUT_MS 15000

/* The ARI identifier of the certificate thumb held by target i of b,
 * from its chain exported without the key (new), or NULL with err. */
static char *
ari_id_of(struct backend *b, size_t i, const char *thumb, struct cf_error *err)
{
	struct backend_req req;
	struct backend_reply *r = backend_replies_new(b);
	BIO *bio = NULL;
	X509 *x = NULL;
	char *id = NULL;
	size_t k;

	memset(&req, 0, sizeof(req));
	req.arg = thumb;
	req.export.format = CF_EXPORT_PEM;
	req.export.no_key = 1;
	for (k = 0; k < backend_count(b); k++)
		r[k].todo = k == i;
	backend_run(b, BACKEND_EXPORT, &req, r);
	if (r[i].err.code != CF_OK)
		*err = r[i].err;
	else if ((bio = BIO_new_mem_buf(r[i].data.data, (int)r[i].data.len)) ==
		     NULL ||
		 (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL)
		cf_errorf(
		    err, CF_E_PARSE, "%.8s: its PEM does not read", thumb);
	else
		id = acme_ari_cert_id(x, err);
	X509_free(x);
	BIO_free(bio);
	backend_replies_free(r, backend_count(b));
	return id;
}

/* The directory URL of account on the first target of b that keeps
 * it (new), or NULL with err. */
static char *
account_directory(struct backend *b, const char *account, struct cf_error *err)
{
	struct acme_agent a;
	const char *dir;
	char *out = NULL;
	json_t *l;
	size_t i;

	cf_errorf(err, CF_E_NOTFOUND,
	    "ACME account %s: no server of the namespace keeps it", account);
	for (i = 0; i < backend_count(b) && out == NULL; i++) {
		if (backend_target(b, i) == NULL)
			continue;
		acme_agent_init(&a, backend_target(b, i), account);
		if ((l = acme_agent_accounts(&a, account, err)) != NULL &&
		    (dir = json_string_value(json_object_get(
			 json_array_get(l, 0), "Directory"))) != NULL)
			out = xstrdup(dir);
		json_decref(l);
		acme_agent_close(&a);
	}
	return out;
}

int
autopilot_ari(struct backend *b, size_t i, const struct fleet_ns *ns,
    const char *acme_ca_file, struct cf_renew_state *st, struct cf_error *err)
{
	const char *account =
	    json_string_value(json_object_get(ns->issuer, "account"));
	struct acme_client_config cfg = {0};
	struct acme_signer none; /* a GET signs nothing */
	struct acme_client *c = NULL;
	struct acme_ari ari = {0};
	char *dir = NULL, *id = NULL;
	int rc = -1;

	memset(&none, 0, sizeof(none));
	if (account == NULL ||
	    (dir = account_directory(b, account, err)) == NULL)
		goto out;
	cfg.directory = dir;
	cfg.ca_file = acme_ca_file;
	cfg.timeout_ms = ARI_TIMEOUT_MS;
	if ((c = acme_client_new(&cfg, &none, err)) == NULL)
		goto out;
	if (acme_client_directory(c)->renewal_info == NULL) {
		st->ari_start = st->ari_end = 0; /* none to follow */
		rc = 0;
		goto out;
	}
	if (st->ari_id[0] == '\0') {
		if ((id = ari_id_of(b, i, ns->desired, err)) == NULL)
			goto out;
		snprintf(st->ari_id, sizeof(st->ari_id), "%s", id);
	}
	if (acme_ari_get(c, st->ari_id, &ari, err) == -1)
		goto out;
	st->ari_start = ari.start;
	st->ari_end = ari.end;
	rc = 0;
out:
	if (rc == -1)
		cf_error_prefix(err, "renewal information: ");
	acme_ari_clear(&ari);
	acme_client_free(c);
	free(id);
	free(dir);
	return rc;
}
