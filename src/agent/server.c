/*
 * server.c - certfleetd run: set up the loop, the TLS context, the
 * workers and both listeners; serve until SIGTERM; reload on SIGHUP.
 *
 * Stopping: SIGTERM (or SIGINT) closes the listeners and lets running
 * jobs finish and their replies go out, for at most
 * SERVER_DRAIN_TIMEOUT seconds; new requests on open connections get a
 * 503.  A second signal stops at once.  Queued jobs that never started
 * are dropped (their clients see the connection close).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <event2/http.h>
#include <event2/thread.h>

#include "agent.h"
#include "api.h"
#include "confine.h"
#include "registry.h"
#include "routes.h"
#include "server.h"
#include "tls.h"
#include "util.h"

void
server_drain_check(struct server *srv)
{
	if (srv->draining && pool_outstanding(srv->pool) == 0 &&
	    srv->writing == 0)
		event_base_loopexit(srv->base, NULL);
}

static void
pool_idle(void *arg)
{
	server_drain_check(arg);
}

static void
on_drain_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	fprintf(stderr,
	    "certfleetd: %s: requests still running after %d s; "
	    "stopping without them\n",
	    srv->cfg->name, SERVER_DRAIN_TIMEOUT);
	event_base_loopexit(srv->base, NULL);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = {SERVER_DRAIN_TIMEOUT, 0};

	(void)what;
	if (srv->draining) { /* asked twice: now */
		event_base_loopexit(srv->base, NULL);
		return;
	}
	fprintf(stderr, "certfleetd: %s: stopping (%s)\n", srv->cfg->name,
	    sig == SIGINT    ? "SIGINT"
	    : sig == SIGCHLD ? "the store process ended"
			     : "SIGTERM");
	agent_notify("STOPPING=1");
	srv->draining = 1;
	/* No new connections: the listeners go now. */
	if (srv->https_sock != NULL)
		evhttp_del_accept_socket(srv->https, srv->https_sock);
	if (srv->local_sock != NULL)
		evhttp_del_accept_socket(srv->local, srv->local_sock);
	if (srv->metrics_sock != NULL)
		evhttp_del_accept_socket(srv->metrics, srv->metrics_sock);
	if (srv->acme_sock != NULL)
		evhttp_del_accept_socket(srv->acme, srv->acme_sock);
	srv->https_sock = srv->local_sock = srv->metrics_sock = NULL;
	srv->acme_sock = NULL;
	evtimer_add(srv->ev_drain, &tv);
	server_drain_check(srv);
}

/*
 * SIGCHLD: the store process ended without being asked (it ends by
 * itself only after the channels close).  Requests waiting on it fail
 * with a 500; the agent stops with status 1, for its service manager to
 * start it again: a store process that recovers deploys at its start
 * is the one way back to a known state.
 */
static void
on_child(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	pid_t pid;
	int status;

	(void)sig;
	(void)what;
	if (srv->store == NULL || srv->failed ||
	    (pid = storeproc_pid(srv->store)) <= 0 ||
	    waitpid(pid, &status, WNOHANG) != pid)
		return;
	srv->failed = 1;
	if (WIFSIGNALED(status))
		fprintf(stderr,
		    "certfleetd: %s: the store process (pid %ld) died "
		    "(signal %d, %s); stopping\n",
		    srv->cfg->name, (long)pid, WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	else
		fprintf(stderr,
		    "certfleetd: %s: the store process (pid %ld) ended "
		    "(status %d); stopping\n",
		    srv->cfg->name, (long)pid,
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	on_stop(SIGCHLD, 0, srv);
}

/* Keeps *now as it was (was) across a reload, saying so when it changed. */
static void
keep_string(const char *key, const char *was, char **now)
{
	const char *a = was ? was : "none";
	const char *b = *now ? *now : "none";

	if (strcmp(a, b) != 0)
		fprintf(stderr,
		    "certfleetd: reload: %s changed to %s: restart "
		    "certfleetd to apply it; still %s\n",
		    key, b, a);
	free(*now);
	*now = was ? xstrdup(was) : NULL;
}

/*
 * Keeps in c what a reload cannot change, saying so.  The services and
 * transfer peers stay as they were: the store process holds them, maybe
 * mid-deployment.
 */
static void
keep_fixed(struct agent_config *old, struct agent_config *c)
{
	keep_string("listen", old->listen, &c->listen);
	keep_string("socket", old->socket, &c->socket);
	keep_string("state", old->state, &c->state);
	keep_string("metrics_listen", old->metrics_listen, &c->metrics_listen);
	keep_string("acme_listen", old->acme_listen, &c->acme_listen);
	if (!config_registry_equal(old->registry, c->registry))
		fprintf(stderr, "certfleetd: reload: [registry] changed: "
				"restart certfleetd to apply it; the running "
				"one stays\n");
	config_registry_swap(old, c);
	if (old->probe_interval != c->probe_interval) {
		fprintf(stderr,
		    "certfleetd: reload: probe_interval changed to %ld: "
		    "restart certfleetd to apply it; still %ld\n",
		    c->probe_interval, old->probe_interval);
		c->probe_interval = old->probe_interval;
	}
	if (old->workers != c->workers) {
		fprintf(stderr,
		    "certfleetd: reload: workers changed to %d: "
		    "restart certfleetd to apply it; still %d\n",
		    c->workers, old->workers);
		c->workers = old->workers;
	}
	if (cf_services_count(c->services) != 0 ||
	    cf_services_count(old->services) != 0)
		fprintf(stderr, "certfleetd: reload: [service] sections and "
				"transfer_peers take effect when certfleetd "
				"restarts\n");
	cf_services_free(c->services);
	c->services = old->services;
	old->services = NULL;
	while (c->ntransfer_peers > 0)
		free(c->transfer_peers[--c->ntransfer_peers]);
	free(c->transfer_peers);
	c->transfer_peers = old->transfer_peers;
	c->ntransfer_peers = old->ntransfer_peers;
	old->transfer_peers = NULL;
	old->ntransfer_peers = 0;
}

/*
 * The configuration and its admin CA, read again for a reload by the
 * store process (this one opens no file: confine.h) and parsed here;
 * NULL with err.
 */
static struct agent_config *
reload_read(struct server *srv, X509_STORE **ca, struct cf_error *err)
{
	struct agent_config *c = NULL;
	struct chan_msg m, r;
	struct cf_buf text;

	*ca = NULL;
	memset(&m, 0, sizeof(m));
	chan_add(&m, "reload");
	if (storeproc_call(srv->ctl, &m, &r, err) == -1)
		return NULL;
	if (strcmp(chan_str(&r, 0), "ok") != 0 || r.n != 4) {
		cf_errorf(err, CF_E_USAGE, "%s", chan_str(&r, 1));
	} else {
		text.data = (unsigned char *)r.f[2];
		text.len = r.len[2];
		c = agent_config_from_text(
		    srv->cfg_path, r.f[2] ? &text : NULL, err);
		if (c != NULL &&
		    tls_admin_ca_from_pem(c->admin_ca, chan_str(&r, 3),
			r.len[3], ca, err) == -1) {
			agent_config_free(c);
			c = NULL;
		}
	}
	chan_clear(&r);
	return c;
}

/* SIGHUP: name, admin_ca, the connection limits and the audit retention
 * take effect for what comes next. */
static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct agent_config *c;
	struct cf_error err;
	struct timespec ts;
	X509_STORE *ca = NULL;
	char state[64];

	(void)sig;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	agent_notify(state);
	cf_error_clear(&err);
	if ((c = reload_read(srv, &ca, &err)) == NULL) {
		fprintf(stderr,
		    "certfleetd: reload: %s; the running "
		    "configuration stays\n",
		    err.msg);
	} else {
		keep_fixed(srv->cfg, c);
		agent_config_free(srv->cfg);
		srv->cfg = c;
		X509_STORE_free(srv->admin_ca);
		srv->admin_ca = ca;
		accept_limits(srv);
		fprintf(stderr,
		    "certfleetd: %s: configuration reloaded from "
		    "%s (admin_ca %s)\n",
		    c->name, c->file ? c->file : "defaults",
		    c->admin_ca ? c->admin_ca : "none");
	}
	agent_notify("READY=1");
}

/* evhttp's bufferevent callback for the Unix socket: a plain one, so
 * that its error pages are made JSON as on HTTPS. */
static struct bufferevent *
local_new_bev(struct event_base *base, void *arg)
{
	struct bufferevent *bev;

	(void)arg;
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL)
		abort();
	errpage_watch(bev);
	return bev;
}

/* An evhttp with the API's limits; TLS via conn_new_bev when tls. */
static struct evhttp *
http_new(struct server *srv, int tls)
{
	struct evhttp *h = evhttp_new(srv->base);

	if (h == NULL)
		abort();
	evhttp_set_max_body_size(h, CF_API_MAX_BODY);
	evhttp_set_max_headers_size(h, ROUTE_MAX_HEADERS);
	evhttp_set_timeout(h, SERVER_IDLE_TIMEOUT);
	/* Every method reaches route_serve, which answers 405 in JSON. */
	evhttp_set_allowed_methods(
	    h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
		   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
		   EVHTTP_REQ_PATCH);
	/*
	 * No EVHTTP_SERVER_LINGERING_CLOSE: with it evhttp reads and drops
	 * every byte an oversized request declares before answering, so a
	 * Content-Length of 10^20 (or an Expect: 100-continue with one) held
	 * the connection until the request deadline.  Without it the 413
	 * goes out at once.  A client that sends more than 8 MiB without
	 * waiting for 100 Continue may see a reset instead; certfleet
	 * refuses such a body before sending it, and curl waits.
	 */
	evhttp_set_bevcb(h, tls ? conn_new_bev : local_new_bev, srv);
	evhttp_set_gencb(h, tls ? request_serve_tls : request_serve_local, srv);
	return h;
}

/* The plain-HTTP metrics listener, when metrics_listen is set: bound
 * now, before the process confines itself (it cannot bind later). */
static int
server_listen_metrics(struct server *srv, struct cf_error *err)
{
	struct evconnlistener *lev;

	if (srv->cfg->metrics_listen == NULL)
		return 0;
	srv->metrics = http_new(srv, 0);
	evhttp_set_gencb(srv->metrics, request_serve_metrics, srv);
	if ((lev = agent_listen_tcp(srv->base, srv->cfg->metrics_listen,
		 srv->metrics_bound, sizeof(srv->metrics_bound), err)) == NULL)
		return -1;
	srv->metrics_sock = evhttp_bind_listener(srv->metrics, lev);
	return 0;
}

/* The ACME HTTP-01 responder, when acme_listen is set: bound now too. */
static int
server_listen_acme(struct server *srv, struct cf_error *err)
{
	struct evconnlistener *lev;

	if (srv->cfg->acme_listen == NULL)
		return 0;
	srv->acme = http_new(srv, 0);
	evhttp_set_gencb(srv->acme, request_serve_acme, srv);
	if ((lev = agent_listen_tcp(srv->base, srv->cfg->acme_listen,
		 srv->acme_bound, sizeof(srv->acme_bound), err)) == NULL)
		return -1;
	srv->acme_sock = evhttp_bind_listener(srv->acme, lev);
	return 0;
}

/* The listeners; the Unix socket unless configured "none". */
static int
server_listen(struct server *srv, struct cf_error *err)
{
	struct evconnlistener *lev;

	if (server_listen_metrics(srv, err) == -1 ||
	    server_listen_acme(srv, err) == -1)
		return -1;

	srv->https = http_new(srv, 1);
	if ((lev = agent_listen_tcp(srv->base, srv->cfg->listen, srv->bound,
		 sizeof(srv->bound), err)) == NULL)
		return -1;
	srv->https_sock = evhttp_bind_listener(srv->https, lev);
	if (srv->cfg->socket == NULL)
		return 0;
	srv->local = http_new(srv, 0);
	if ((lev = agent_listen_unix(
		 srv->base, srv->cfg->socket, &srv->sock_ino, err)) == NULL)
		return -1;
	srv->local_sock = evhttp_bind_listener(srv->local, lev);
	return 0;
}

/* Signals, the drain timer and the store process. */
static int
server_events(struct server *srv, struct cf_error *err)
{
	srv->ev_term = evsignal_new(srv->base, SIGTERM, on_stop, srv);
	srv->ev_int = evsignal_new(srv->base, SIGINT, on_stop, srv);
	srv->ev_hup = evsignal_new(srv->base, SIGHUP, on_reload, srv);
	srv->ev_chld = evsignal_new(srv->base, SIGCHLD, on_child, srv);
	srv->ev_drain = evtimer_new(srv->base, on_drain_timeout, srv);
	if (srv->ev_term == NULL || srv->ev_int == NULL ||
	    srv->ev_hup == NULL || srv->ev_chld == NULL ||
	    srv->ev_drain == NULL || evsignal_add(srv->ev_term, NULL) == -1 ||
	    evsignal_add(srv->ev_int, NULL) == -1 ||
	    evsignal_add(srv->ev_hup, NULL) == -1 ||
	    evsignal_add(srv->ev_chld, NULL) == -1)
		abort();
	/* One channel per worker, one for the audit writer, one for the
	 * loop thread's reloads, and one for the registry's thread. */
	if ((srv->store = storeproc_start(srv->cfg_path, srv->cfg_explicit,
		 srv->cfg->workers + 2 + (srv->cfg->registry != NULL),
		 srv->lock_fd, err)) == NULL)
		return -1;
	srv->ctl = storeproc_chan(srv->store, srv->cfg->workers + 1);
	return 0;
}

/*
 * The network process gives up its capabilities and, with Landlock,
 * the file system (confine.h), then starts the workers.  In that order:
 * capabilities, no_new_privs and Landlock bind the calling thread and
 * the threads it starts afterwards, not those already running.
 */
static int
server_confine(struct server *srv, struct cf_error *err)
{
	/* The registry reads its files (password, TLS, identity) now,
	 * and starts its thread once confined, with the others. */
	if (srv->cfg->registry != NULL &&
	    (srv->registry = registry_new(srv->cfg, srv->bound,
		 storeproc_chan(srv->store, srv->cfg->workers + 2), err)) ==
		NULL)
		return -1;
	if (confine_network(
		srv->cfg->socket, srv->cfg->registry != NULL, err) == -1 ||
	    (srv->pool = pool_new(
		 srv->base, srv->store, srv->cfg->workers, err)) == NULL)
		return -1;
	pool_set_idle_cb(srv->pool, pool_idle, srv);
	if (srv->registry != NULL && registry_start(srv->registry, err) == -1)
		return -1;
	return 0;
}

/* The TLS context and the admin CA. */
static int
server_tls(struct server *srv, struct cf_error *err)
{
	char *key = agent_state_path(srv->cfg, AGENT_KEY_FILE);
	char *crt = agent_state_path(srv->cfg, AGENT_CERT_FILE);
	char *cn = xasprintf("certfleetd %s", srv->cfg->name);
	int rc = -1;

	if ((srv->ssl = tls_server_new(key, crt, cn, srv->fp, err)) != NULL &&
	    tls_admin_ca_load(srv->cfg->admin_ca, &srv->admin_ca, err) == 0)
		rc = 0;
	free(key);
	free(crt);
	free(cn);
	return rc;
}

/*
 * Frees everything, workers first: they finish what they run, and the
 * jobs they drop still point at requests evhttp_free then frees.
 */
static void
server_free(struct server *srv)
{
	registry_free(srv->registry); /* its deploy, before the store */
	refusals_free(srv); /* its last records, before the pool stops */
	pool_free(srv->pool);
	storeproc_stop(srv->store, SERVER_DRAIN_TIMEOUT * 1000LL);
	srv->store = NULL; /* on_child may still run in the loop below */
	if (srv->https != NULL)
		evhttp_free(srv->https);
	if (srv->local != NULL)
		evhttp_free(srv->local);
	if (srv->metrics != NULL)
		evhttp_free(srv->metrics);
	if (srv->acme != NULL)
		evhttp_free(srv->acme);
	/* Bufferevents free their SSL (and our conn) in deferred
	 * finalizers: let them run while the base is whole. */
	if (srv->base != NULL)
		event_base_loop(srv->base, EVLOOP_NONBLOCK);
	accept_free(srv);
	if (srv->sock_ino != 0)
		agent_unlisten_unix(srv->cfg->socket, srv->sock_ino);
	if (srv->ev_term != NULL)
		event_free(srv->ev_term);
	if (srv->ev_int != NULL)
		event_free(srv->ev_int);
	if (srv->ev_hup != NULL)
		event_free(srv->ev_hup);
	if (srv->ev_chld != NULL)
		event_free(srv->ev_chld);
	if (srv->ev_drain != NULL)
		event_free(srv->ev_drain);
	SSL_CTX_free(srv->ssl);
	X509_STORE_free(srv->admin_ca);
	if (srv->base != NULL)
		event_base_free(srv->base);
	agent_config_free(srv->cfg);
}

int
server_run(struct agent_config *cfg, const char *cfg_path, int cfg_explicit,
    int lock_fd)
{
	struct server srv;
	struct cf_error err;
	int rc = 1;

	memset(&srv, 0, sizeof(srv));
	cf_error_clear(&err);
	srv.cfg = cfg;
	srv.cfg_path = cfg_path;
	srv.cfg_explicit = cfg_explicit;
	srv.lock_fd = lock_fd;
	/* Workers hand results back with event_active: locks first. */
	if (evthread_use_pthreads() == -1 ||
	    (srv.base = event_base_new()) == NULL)
		abort();
	signal(SIGPIPE, SIG_IGN);
	conn_setup();
	if (server_tls(&srv, &err) == -1 || server_events(&srv, &err) == -1 ||
	    server_listen(&srv, &err) == -1 ||
	    server_confine(&srv, &err) == -1) {
		agent_fail("run", &err);
		goto out;
	}
	accept_setup(&srv);
	refusals_setup(&srv);
	fprintf(stderr, "certfleetd: %s fingerprint %s\n", cfg->name, srv.fp);
	if (cfg->socket != NULL)
		fprintf(stderr, "certfleetd: %s admits root on %s\n", cfg->name,
		    cfg->socket);
	fprintf(
	    stderr, "certfleetd: %s listening on %s\n", cfg->name, srv.bound);
	if (cfg->metrics_listen != NULL)
		fprintf(stderr,
		    "certfleetd: %s serves GET /metrics over plain HTTP on "
		    "%s\n",
		    cfg->name, srv.metrics_bound);
	if (cfg->acme_listen != NULL)
		fprintf(stderr,
		    "certfleetd: %s answers ACME HTTP-01 challenges over "
		    "plain HTTP on %s\n",
		    cfg->name, srv.acme_bound);
	agent_notify("READY=1");
	if (event_base_dispatch(srv.base) == -1)
		fprintf(stderr, "certfleetd: the event loop failed\n");
	else
		rc = srv.failed ? 1 : 0;
out:
	server_free(&srv);
	libevent_global_shutdown();
	return rc;
}

/*
 * server_run while holding the store's owner lock: `certfleet --store`
 * then refuses to change the store behind the agent's back (it would
 * assign without deploying), and a second agent on it refuses to start.
 */
static int
run_owning_store(struct agent_config *c, const char *path, int explicit)
{
	char *dir = agent_state_path(c, AGENT_STORE_DIR);
	struct cf_store_lock *lock;
	struct cf_error err;
	int rc;

	cf_error_clear(&err);
	lock = cf_store_lock_take(dir, &err);
	free(dir);
	if (lock == NULL) {
		agent_config_free(c);
		return agent_fail("run", &err);
	}
	rc = server_run(c, path, explicit, cf_store_lock_fd(lock));
	cf_store_lock_release(lock);
	return rc;
}

static int
run_usage(FILE *f)
{
	fprintf(f, "Usage: certfleetd run [--config FILE]\n"
		   "Serves the API in the foreground until SIGTERM; SIGHUP "
		   "re-reads the configuration.\n");
	return f == stdout ? 0 : 2;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {AGENT_COMMON_OPTS, {0}};
	struct agent_config *c;
	const char *copt = NULL, *path;
	int ch, explicit;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (ch == 'c')
			copt = optarg;
		else if (ch == 'h')
			return run_usage(stdout);
		else
			return agent_bad_option("run", ch, argv);
	}
	if (optind != argc)
		return agent_usage(
		    "run", "unexpected argument %s", argv[optind]);
	if ((c = agent_open_config("run", copt, &path, &explicit)) == NULL)
		return 1;
	if (!agent_initialized("run", c)) {
		agent_config_free(c);
		return 1;
	}
	return run_owning_store(c, path, explicit);
}
