/*
 * fuzz_api.c - libFuzzer harness over the agent's request handler,
 * route_serve (src/agent/routes.c: the route table, then cf_api_render
 * and the statuses and error bodies certfleetd sends): the first byte
 * picks the route, the rest is the body (POST, parsed as
 * request.c parses it) or the query (GET).  Bytes 0xfe and 0xff take the
 * rest as a raw path ("/v1/" + rest, with its query after '?'), as a
 * client may send any path.  Each input runs as a reader, then as an
 * admin, against one store in a temporary directory that holds the test
 * identity's certificate with its key and a kind=files service; the
 * store is rebuilt every FZ_RESET runs.  The agent's identity and
 * transfer peer are the fixed test identities, so the sealed routes run.
 *
 * A crash, a sanitizer report, a status outside 200..599 or a reply that
 * is not JSON is a finding.
 *
 * FUZZ-LINK: src/agent/routes.c
 */
#include <jansson.h>

#include "api.h"
#include "harness.h"
#include "routes.h"
#include "ops.h"
#include "service.h"
#include "store.h"
#include "transfer.h"

static const struct {
	const char *method, *path;
} routes[] = {
    {"GET", "/v1/whoami"}, {"GET", "/v1/certificates"}, {"GET", "/v1/log"},
    {"GET", "/v1/services"}, {"POST", "/v1/import"}, {"POST", "/v1/export"},
    {"POST", "/v1/enable"}, {"POST", "/v1/replace"}, {"POST", "/v1/disable"},
    {"POST", "/v1/remove"}, {"POST", "/v1/new-self-signed"},
    {"POST", "/v1/request/new"}, {"POST", "/v1/request/complete"},
    {"POST", "/v1/renew"}, {"POST", "/v1/export-sealed"},
    {"POST", "/v1/import-sealed"},
    {"POST", "/v1/certificates"}, /* a wrong method */
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static struct cf_store *store;
static struct cf_services *services;
static struct cf_transfer transfer;
static char peer_fp[CF_FP_LEN + 1];
static const char *peers[1] = {peer_fp};
static unsigned long runs;

/* The store, new, with the test identity's certificate and key in it. */
static void
store_build(void)
{
	char svc[128];

	cf_store_free(store);
	fz_path(svc, sizeof(svc), "svc");
	fz_rmrf(svc);
	mkdir(svc, 0700);
	store = fz_store_a("store", services);
}

/* One kind=files service, "web", writing into the temporary directory. */
static void
services_build(void)
{
	struct cf_service *svc;
	struct cf_error err;
	char path[128];

	cf_error_clear(&err);
	services = cf_services_new();
	if ((svc = cf_services_add(services, "web", &err)) == NULL)
		abort();
	fz_path(path, sizeof(path), "svc/chain.pem");
	if (cf_service_set(svc, "kind", "files", NULL, &err) == -1 ||
	    cf_service_set(svc, "chain", path, NULL, &err) == -1)
		abort();
	fz_path(path, sizeof(path), "svc/key.pem");
	if (cf_service_set(svc, "key", path, NULL, &err) == -1 ||
	    cf_service_set(svc, "test", "none", NULL, &err) == -1 ||
	    cf_service_set(svc, "reload", "none", NULL, &err) == -1 ||
	    cf_service_finish(svc, &err) == -1) {
		fprintf(stderr, "fuzz_api: service: %s\n", err.msg);
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *pkey;
	X509 *peer;

	(void)argc;
	(void)argv;
	fz_identity("a", &transfer.key, &transfer.cert);
	fz_identity("b", &pkey, &peer);
	cf_cert_fingerprint(peer, peer_fp);
	EVP_PKEY_free(pkey);
	X509_free(peer);
	transfer.peers = peers;
	transfer.npeers = 1;
	services_build();
	store_build();
	return 0;
}

/* The body as certfleetd's request.c takes it: NULL when empty, and no
 * call at all (400 there) when it is not JSON or nested too deep. */
static int
body_parse(const uint8_t *data, size_t size, json_t **body)
{
	json_error_t je;

	*body = NULL;
	if (size == 0)
		return 0;
	*body =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
	if (*body == NULL)
		return -1;
	if (cf_json_depth(*body) > CF_API_MAX_DEPTH) {
		json_decref(*body);
		*body = NULL;
		return -1;
	}
	return 0;
}

/* Keeps an answer as a seed of fuzz_wire (CF_FUZZ_REPLIES=DIR): the
 * file is named after the path. */
static void
save_reply(const char *path, const char *text)
{
	char file[512], *p;

	snprintf(
	    file, sizeof(file), "%s/%s", getenv("CF_FUZZ_REPLIES"), path + 4);
	for (p = file + strlen(getenv("CF_FUZZ_REPLIES")) + 1; *p; p++)
		if (*p == '/')
			*p = '-';
	fz_write(file, text, strlen(text));
}

static void
call(enum cf_role role, const char *method, const char *path, const char *query,
    json_t *body)
{
	struct cf_api_caller c = {
	    .actor = role == CF_ROLE_ADMIN ? "tls:SHA256:admin" : "unix:uid1",
	    .client = role == CF_ROLE_ADMIN ? "SHA256:admin" : "",
	    .role = role,
	    .agent = "fuzz",
	    .transfer = &transfer,
	};
	char *text = NULL;
	json_t *back;
	int status;

	status = route_serve(store, &c, method, path, query, body, &text);
	if (status < 200 || status > 599 || text == NULL)
		abort();
	if ((back = json_loads(text, 0, NULL)) == NULL)
		abort(); /* the agent sends what it rendered */
	if (getenv("CF_FUZZ_REPLIES") != NULL && role == CF_ROLE_ADMIN &&
	    status == 200)
		save_reply(path, text);
	json_decref(back);
	free(text);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *rest, *path = NULL, *q;
	const char *method, *query = NULL;
	json_t *body = NULL;

	if (size < 1 || size > 65536)
		return 0;
	if (++runs % FZ_RESET == 0)
		store_build();
	rest = strndup((const char *)data + 1, size - 1);
	if (data[0] >= 0xfe) {
		method = data[0] == 0xfe ? "GET" : "POST";
		path = malloc(strlen(rest) + 5);
		sprintf(path, "/v1/%s", rest);
		if ((q = strchr(path, '?')) != NULL) {
			*q = '\0';
			query = q + 1;
		}
	} else {
		method = routes[data[0] % NROUTES].method;
		path = strdup(routes[data[0] % NROUTES].path);
		if (strcmp(method, "GET") == 0)
			query = rest;
		else if (body_parse(data + 1, size - 1, &body) == -1)
			goto out;
	}
	call(CF_ROLE_READER, method, path, query, body);
	call(CF_ROLE_ADMIN, method, path, query, body);
out:
	json_decref(body);
	free(path);
	free(rest);
	return 0;
}
