/*
 * fuzz_acme.c - libFuzzer harness over the parsers of what an ACME CA
 * sends (src/acme/msg.c): the directory, accounts, orders,
 * authorizations with their challenges, and problem documents, each
 * rendered as the client would show it.  The first byte picks the
 * parser; the rest is the response body.  A CA, or whoever stands
 * between, may send anything: each parser takes a message whole or
 * refuses it with a reason.
 *
 * FUZZ-LINK: src/acme/msg.c src/acme/ari.c src/acme/jws.c
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/acme/acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every string of p, as acme_problem_render does. */
static void
render(const struct acme_problem *p)
{
	char out[256];

	if (p != NULL)
		acme_problem_render(p, out, sizeof(out));
}

static void
authz(const char *b, size_t n)
{
	struct acme_authz *a;
	struct cf_error err;
	size_t i;

	if (acme_authz_parse(b, n, &a, &err) != 0)
		return;
	for (i = 0; i < a->n_challenges; i++) {
		render(a->challenges[i].error);
		if (a->challenges[i].token != NULL &&
		    acme_token_check(a->challenges[i].token) != 0)
			abort();
	}
	(void)acme_authz_challenge(a, "http-01");
	acme_authz_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data + 1;
	struct acme_directory *d;
	struct acme_account *ac;
	struct acme_problem *p;
	struct acme_order *o;
	struct acme_ari ari;
	struct cf_error err;
	size_t n = size - 1, i;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		if (acme_directory_parse(b, n, &d, &err) == 0) {
			if (acme_url_check(d->new_nonce) != 0)
				abort();
			acme_directory_free(d);
		}
		break;
	case 1:
		if (acme_account_parse(b, n, &ac, &err) == 0)
			acme_account_free(ac);
		break;
	case 2:
		if (acme_order_parse(b, n, &o, &err) == 0) {
			for (i = 0; i < o->n_authorizations; i++)
				if (acme_url_check(o->authorizations[i]) != 0)
					abort();
			render(o->error);
			acme_order_free(o);
		}
		break;
	case 3:
		authz(b, n);
		break;
	case 4:
		if (acme_ari_parse(b, n, &ari, &err) == 0) {
			if (ari.end <= ari.start)
				abort();
			acme_ari_clear(&ari);
		}
		break;
	default:
		if (acme_problem_parse(b, n, &p, &err) == 0) {
			render(p);
			acme_problem_free(p);
		}
		break;
	}
	return 0;
}
