/*
 * acme_agent.c - an ACME account kept on an agent, as the CLI uses it
 * (acme account, issue, revoke): JSON calls to the agent, and a signer
 * whose every JWS the agent signs (POST /v1/acme/accounts/NAME/sign)
 * after checking it is that account's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme_agent.h"
#include "cli.h"

#define ACCOUNTS "/v1/acme/accounts"

/*
 * One JSON request to the agent at path: the 2xx body into *out (new;
 * may be NULL), else -1 with the agent's error.
 */
int
acme_agent_call(struct acme_agent *a, const char *method, const char *path,
    json_t *body, json_t **out, struct cf_error *err)
{
	struct client_answer ans;
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc = -1;

	if (out != NULL)
		*out = NULL;
	memset(&ans, 0, sizeof(ans));
	client_request(
	    a->c, a->t, method, path, text, text ? strlen(text) : 0, &ans);
	client_run(a->c);
	if (ans.err.code != CF_OK)
		*err = ans.err;
	else {
		if (out != NULL) {
			*out = ans.json;
			ans.json = NULL;
		}
		rc = 0;
	}
	client_answer_clear(&ans);
	free(text);
	return rc;
}

/* The signer's callback: the agent signs the JWS signing input in
 * ("PROTECTED.PAYLOAD") after checking it is its account's. */
static int
acme_agent_sign(void *arg, const unsigned char *in, size_t inlen,
    unsigned char *sig, size_t *siglen)
{
	struct acme_agent *a = arg;
	const char *dot = memchr(in, '.', inlen);
	struct cf_buf raw = {0};
	json_t *body, *ans = NULL;
	const char *s;
	char *path;
	int rc = -1;

	if (dot == NULL)
		return cf_errorf(&a->err, CF_E_INTERNAL, "JWS: no '.'");
	body = json_pack("{s:s%, s:s%}", "Protected", (const char *)in,
	    (size_t)(dot - (const char *)in), "Payload", dot + 1,
	    inlen - (size_t)(dot - (const char *)in) - 1);
	path = xasprintf("%s/%s/sign", ACCOUNTS, a->name);
	if (acme_agent_call(a, "POST", path, body, &ans, &a->err) == 0) {
		s = json_string_value(json_object_get(ans, "Signature"));
		if (s == NULL ||
		    acme_b64u_decode(s, "Signature", &raw, &a->err) == -1 ||
		    raw.len > *siglen)
			cf_errorf(&a->err, CF_E_PARSE,
			    "the agent's signature does not read");
		else {
			memcpy(sig, raw.data, raw.len);
			*siglen = raw.len;
			rc = 0;
		}
	}
	cf_buf_clear(&raw);
	json_decref(ans);
	json_decref(body);
	free(path);
	return rc;
}

/* The one agent --server names, and a client for it. */
void
acme_agent_init(
    struct acme_agent *a, const struct client_target *t, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->name = name;
	a->t = t;
	a->c = client_new();
}

int
acme_agent_open(const char *op, const char *name, struct acme_agent *a)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->name = name;
	if ((rc = backend_open(op, &a->b)) != 0)
		return rc;
	if (backend_count(a->b) != 1 ||
	    (a->t = backend_target(a->b, 0)) == NULL) {
		backend_free(a->b);
		a->b = NULL;
		return cli_usage(op,
		    "the account is kept on one agent: name it with --server");
	}
	a->c = client_new();
	return 0;
}

void
acme_agent_close(struct acme_agent *a)
{
	client_free(a->c);
	backend_free(a->b);
}

/* The signer of account view v (Alg, Jwk) signing through a. */
int
acme_agent_signer(json_t *v, struct acme_agent *a, struct acme_signer *s,
    struct cf_error *err)
{
	const char *alg = json_string_value(json_object_get(v, "Alg"));
	json_t *jwk = json_object_get(v, "Jwk");

	memset(s, 0, sizeof(*s));
	if (alg == NULL || strlen(alg) >= sizeof(s->alg) ||
	    !json_is_object(jwk) || json_object_get(jwk, "d") != NULL)
		return cf_errorf(
		    err, CF_E_PARSE, "the agent's account has no public JWK");
	snprintf(s->alg, sizeof(s->alg), "%s", alg);
	s->jwk = json_incref(jwk);
	s->sign = acme_agent_sign;
	s->arg = a;
	return 0;
}

/* The agent's accounts, or the one named (NULL when not there). */
json_t *
acme_agent_accounts(
    struct acme_agent *a, const char *name, struct cf_error *err)
{
	json_t *all = NULL, *v, *out;
	size_t i;

	if (acme_agent_call(a, "GET", ACCOUNTS, NULL, &all, err) == -1)
		return NULL;
	if (!json_is_array(all)) {
		json_decref(all);
		cf_errorf(err, CF_E_PARSE, "the agent's accounts do not read");
		return NULL;
	}
	if (name == NULL)
		return all;
	out = json_array();
	json_array_foreach(all, i, v)
		if (json_is_string(json_object_get(v, "Name")) &&
		    strcmp(json_string_value(json_object_get(v, "Name")),
			name) == 0)
			json_array_append(out, v);
	json_decref(all);
	if (json_array_size(out) == 0) {
		json_decref(out);
		cf_errorf(err, CF_E_NOTFOUND,
		    "ACME account %s: no such account on this agent", name);
		return NULL;
	}
	return out;
}
