/*
 * tool.h - what the files of cf-acme (tool.c: options, accounts;
 * tool_order.c: orders and revocation) share.  A developer's tool, not
 * part of the ACME library.
 */
#ifndef CF_ACME_TOOL_H
#define CF_ACME_TOOL_H

#include <jansson.h>
#include <openssl/evp.h>

#include "acme.h"

#define NAMES_MAX 100

struct opts {
	struct acme_client_config cfg;
};

/* "cf-acme: msg" on stderr, exit 2 (a usage error). */
void usage_exit(const char *msg) __attribute__((noreturn));
/* err's message on stderr as "cf-acme: ..."; returns 1. */
int fail(const struct cf_error *err);
/* One JSON line on stdout (flushed); takes o. */
void print_json(json_t *o);
/* The unencrypted PEM private key in path (new); NULL with err naming it. */
EVP_PKEY *key_load(const char *path, struct cf_error *err);
/*
 * The client for o signing with the account key in key_path: *pk (new)
 * and s (cleared by the caller with acme_signer_clear) filled on the
 * way, so the caller frees them whatever happened.  NULL and err set.
 */
struct acme_client *client_open(struct opts *o, const char *key_path,
    EVP_PKEY **pk, struct acme_signer *s, struct cf_error *err);

/* order ... and revoke ... (tool_order.c), argv from the command. */
int cmd_order(struct opts *o, int argc, char **argv);
int cmd_revoke(struct opts *o, int argc, char **argv);
/* dns01 ... (tool_dns01.c): the DNS-01 record, no CA involved. */
int cmd_dns01(struct opts *o, int argc, char **argv);
/* http01-check ... (tool_dns01.c): a member asked for a token. */
int cmd_http01_check(struct opts *o, int argc, char **argv);
/* ari ... (tool_dns01.c): a certificate's renewal window. */
int cmd_ari(struct opts *o, int argc, char **argv);

#endif
