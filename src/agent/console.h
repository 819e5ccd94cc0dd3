/*
 * console.h - the web console (docs/certfleetd.8, CONSOLE): static
 * HTML, CSS and JavaScript built into certfleetd (console_assets.c,
 * generated from console/ by scripts/console-embed.sh) and served from
 * memory by the network process on its mutual-TLS listener; the pages
 * speak the JSON API (/v1/...) of the same origin.  Also GET /v1/csrf,
 * the token the console's POSTs carry (csrf.h).
 */
#ifndef CFD_CONSOLE_H
#define CFD_CONSOLE_H

#include <stddef.h>

#include <event2/http.h>

#include "identity.h"

struct server;
struct agent_config;

/* The route of the console's peers (console_peers_json). */
#define CONSOLE_PEERS_PATH "/v1/console/peers"

struct console_asset {
	const char *path;  /* "/" or "/console/NAME" */
	const char *ctype; /* its Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The generated table (console_assets.c). */
extern const struct console_asset console_assets[];
extern const size_t console_nassets;

/* The asset served at path, or NULL. */
const struct console_asset *console_find(const char *path);

/*
 * Answers req when method and path are the console's: GET or HEAD of an
 * asset (with its Content-Security-Policy and other headers), or GET
 * /v1/csrf for the client whose certificate's fingerprint is fp.
 * Returns 1 when it answered, 0 when the request is the API's.  Loop
 * thread.
 */
int console_serve(struct server *srv, struct evhttp_request *req,
    const char *method, const char *path, const char *fp);

/*
 * [{"Name": "ex2", "Url": "https://10.0.0.2:8443"}, ...]: the agents of
 * c's console_peers, in the file's order, as JSON text (new).  Served at
 * GET CONSOLE_PEERS_PATH to any role the store admits (request.c).
 */
char *console_peers_json(const struct agent_config *c);

/*
 * The CORS headers (Access-Control-Allow-Origin: the origin,
 * -Credentials: true, Vary: Origin) on req's answer when it is a GET of
 * a route the fleet page reads (whoami, certificates, services) and its
 * Origin header is one of the console_peers origins exactly; nothing
 * otherwise, so a browser keeps any other page from reading the answer.
 * Never a preflight: the fleet page's requests are simple ones.  Loop
 * thread.
 */
void console_cors(struct server *srv, struct evhttp_request *req,
    const char *method, const char *path);

#endif
