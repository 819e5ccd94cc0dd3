/*
 * tool.c - cf-etcd, a developer's tool that drives the etcd client
 * (etcd.h) from tests: one subcommand per etcd call, one JSON object per
 * line on stdout, errors on stderr as "cf-etcd: ...".  Credentials come
 * from a file or stdin, never argv.
 *
 *   cf-etcd --endpoints URL[,URL...] --ca F [--cert F --key F]
 *           [--user U --password-file F|-] [--timeout-ms N] [--hex]
 *           [--max-reply BYTES]
 *           [--repeat N --interval-ms MS] COMMAND ARGS...
 *
 * With --hex, keys and values on the command line are hexadecimal (for
 * binary keys).  --repeat runs the command N times on one client,
 * --interval-ms apart (a client that lives on, as an agent does).  Every key
 * and value printed carries its hex form too.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "tool.h"

struct cmd {
	const char *name;
	int (*fn)(struct etcd *, struct opts *, int, char **);
	const char *usage;
};

void
usage_exit(const char *msg)
{
	fprintf(stderr, "cf-etcd: %s\n", msg);
	exit(2);
}

/* An argument as bytes: hex-decoded with --hex (new, *len set). */
static unsigned char *
arg_bytes(const struct opts *o, const char *s, size_t *len)
{
	size_t n = strlen(s), i;
	unsigned char *p;
	unsigned v;

	if (!o->hex) {
		*len = n;
		return (unsigned char *)xstrdup(s);
	}
	if (n % 2 != 0)
		usage_exit("--hex: an odd number of hex digits");
	p = xmalloc(n / 2 + 1);
	for (i = 0; i < n / 2; i++) {
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			usage_exit("--hex: not hexadecimal");
		p[i] = (unsigned char)v;
	}
	*len = n / 2;
	return p;
}

int64_t
arg_i64(const char *s, const char *what)
{
	char *end;
	long long n = strtoll(s, &end, 10);

	if (end == s || *end != '\0') {
		fprintf(stderr, "cf-etcd: %s: not a number: %s\n", what, s);
		exit(2);
	}
	return n;
}

void
print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	puts(s);
	fflush(stdout);
	free(s);
	json_decref(o);
}

static json_t *
i64_str(int64_t n)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, n);
	return json_string(s);
}

/* Bytes as text (invalid UTF-8 and NULs shown as \xNN) and as hex. */
static void
set_bytes(json_t *o, const char *name, const unsigned char *p, size_t len)
{
	char *hex = xmalloc(2 * len + 1), *text, *hname;

	cf_hex_upper(p, len, hex);
	text = memchr(p, 0, len) == NULL ? cf_utf8_escape((const char *)p)
					 : xstrdup("(binary)");
	json_object_set_new(o, name, json_string(text));
	hname = xasprintf("%sHex", name);
	json_object_set_new(o, hname, json_string(hex));
	free(hname);
	free(hex);
	free(text);
}

static json_t *
kv_json(const struct etcd_kv *kv)
{
	json_t *o = json_object();

	set_bytes(o, "Key", kv->key, kv->key_len);
	if (kv->value != NULL)
		set_bytes(o, "Value", kv->value, kv->value_len);
	json_object_set_new(
	    o, "CreateRevision", json_integer(kv->create_revision));
	json_object_set_new(o, "ModRevision", json_integer(kv->mod_revision));
	json_object_set_new(o, "Version", json_integer(kv->version));
	if (kv->lease != 0)
		json_object_set_new(o, "Lease", i64_str(kv->lease));
	return o;
}

int
fail(const struct cf_error *err)
{
	fprintf(stderr, "cf-etcd: %s\n", err->msg);
	return 1;
}

/* get KEY [--prefix] [--keys-only] [--revision N] [--limit N] */
static int
cmd_get(struct etcd *e, struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"prefix", 0, NULL, 'p'},
	    {"keys-only", 0, NULL, 'k'}, {"revision", 1, NULL, 'r'},
	    {"limit", 1, NULL, 'l'}, {0}};
	int flags = 0, c;
	int64_t rev = 0, limit = 0;
	struct etcd_reply *r = NULL;
	struct cf_error err;
	unsigned char *key;
	size_t len, i;
	json_t *sum;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (c) {
		case 'p':
			flags |= ETCD_RANGE_PREFIX;
			break;
		case 'k':
			flags |= ETCD_RANGE_KEYS_ONLY;
			break;
		case 'r':
			rev = arg_i64(optarg, "--revision");
			break;
		case 'l':
			limit = arg_i64(optarg, "--limit");
			break;
		default:
			return 2;
		}
	if (optind + 1 != argc)
		usage_exit("usage: get KEY [--prefix] [--keys-only] "
			   "[--revision N] [--limit N]");
	key = arg_bytes(o, argv[optind], &len);
	if (etcd_call_wait(e, etcd_req_range(key, len, flags, rev, limit), &r,
		&err) == -1) {
		free(key);
		return fail(&err);
	}
	for (i = 0; i < r->n_kvs; i++)
		print_json(kv_json(&r->kvs[i]));
	sum = json_object();
	json_object_set_new(sum, "Revision", json_integer(r->revision));
	json_object_set_new(sum, "Count", json_integer(r->count));
	json_object_set_new(sum, "More", json_boolean(r->more));
	print_json(sum);
	etcd_reply_free(r);
	free(key);
	return 0;
}

/* put KEY VALUE [--lease ID] [--prev-kv] */
static int
cmd_put(struct etcd *e, struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"lease", 1, NULL, 'l'}, {"prev-kv", 0, NULL, 'p'}, {0}};
	int64_t lease = 0;
	int prev = 0, c, rc = 1;
	struct etcd_reply *r = NULL;
	struct cf_error err;
	unsigned char *key = NULL, *val = NULL;
	size_t klen, vlen;
	json_t *out;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (c) {
		case 'l':
			lease = arg_i64(optarg, "--lease");
			break;
		case 'p':
			prev = 1;
			break;
		default:
			return 2;
		}
	if (optind + 2 != argc)
		usage_exit("usage: put KEY VALUE [--lease ID] [--prev-kv]");
	key = arg_bytes(o, argv[optind], &klen);
	val = arg_bytes(o, argv[optind + 1], &vlen);
	if (etcd_call_wait(e, etcd_req_put(key, klen, val, vlen, lease, prev),
		&r, &err) == -1) {
		fail(&err);
		goto out;
	}
	out = json_object();
	json_object_set_new(out, "Revision", json_integer(r->revision));
	if (r->n_prev_kvs > 0)
		json_object_set_new(out, "Prev", kv_json(&r->prev_kvs[0]));
	print_json(out);
	rc = 0;
out:
	etcd_reply_free(r);
	free(key);
	free(val);
	return rc;
}

/* del KEY [--prefix] */
static int
cmd_del(struct etcd *e, struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"prefix", 0, NULL, 'p'}, {0}};
	struct etcd_reply *r = NULL;
	struct cf_error err;
	unsigned char *key;
	int flags = 0, c;
	size_t len;
	json_t *out;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (c == 'p')
			flags |= ETCD_RANGE_PREFIX;
		else
			return 2;
	if (optind + 1 != argc)
		usage_exit("usage: del KEY [--prefix]");
	key = arg_bytes(o, argv[optind], &len);
	if (etcd_call_wait(e, etcd_req_delete(key, len, flags, 0), &r, &err) ==
	    -1) {
		free(key);
		return fail(&err);
	}
	out = json_object();
	json_object_set_new(out, "Revision", json_integer(r->revision));
	json_object_set_new(out, "Deleted", json_integer(r->deleted));
	print_json(out);
	etcd_reply_free(r);
	free(key);
	return 0;
}

/*
 * txn-cas KEY MOD_REVISION VALUE: puts VALUE if KEY's mod_revision is
 * MOD_REVISION (0: the key is absent), else reads KEY: the fenced write
 * of a coordinator.  Exit 0 either way; "Succeeded" says which.
 */
static int
cmd_txn_cas(struct etcd *e, struct opts *o, int argc, char **argv)
{
	struct etcd_reply *r = NULL;
	struct etcd_req *txn;
	struct cf_error err;
	unsigned char *key, *val;
	size_t klen, vlen;
	int64_t rev;
	json_t *out;

	if (argc != 4)
		usage_exit("usage: txn-cas KEY MOD_REVISION VALUE");
	key = arg_bytes(o, argv[1], &klen);
	rev = arg_i64(argv[2], "MOD_REVISION");
	val = arg_bytes(o, argv[3], &vlen);
	txn = etcd_req_txn();
	etcd_txn_compare(txn, key, klen, ETCD_MOD, ETCD_EQUAL, rev, NULL, 0);
	etcd_txn_op(txn, 1, etcd_req_put(key, klen, val, vlen, 0, 0));
	etcd_txn_op(txn, 0, etcd_req_range(key, klen, 0, 0, 0));
	free(val);
	if (etcd_call_wait(e, txn, &r, &err) == -1) {
		free(key);
		return fail(&err);
	}
	out = json_object();
	json_object_set_new(out, "Succeeded", json_boolean(r->succeeded));
	json_object_set_new(out, "Revision", json_integer(r->revision));
	if (!r->succeeded && r->n_kvs > 0)
		json_object_set_new(out, "Current", kv_json(&r->kvs[0]));
	print_json(out);
	etcd_reply_free(r);
	free(key);
	return 0;
}

/* One lease call: grant, keepalive or revoke, as a JSON line. */
static int
lease_once(struct etcd *e, const char *verb, int64_t n)
{
	struct etcd_reply *r = NULL;
	struct etcd_req *req;
	struct cf_error err;
	json_t *out;

	if (strcmp(verb, "grant") == 0)
		req = etcd_req_lease_grant(n);
	else if (strcmp(verb, "keepalive") == 0)
		req = etcd_req_lease_keepalive(n);
	else
		req = etcd_req_lease_revoke(n);
	if (etcd_call_wait(e, req, &r, &err) == -1)
		return fail(&err);
	out = json_object();
	json_object_set_new(out, "Revision", json_integer(r->revision));
	if (strcmp(verb, "revoke") != 0) {
		json_object_set_new(out, "ID", i64_str(r->lease_id));
		json_object_set_new(out, "TTL", json_integer(r->ttl));
	}
	print_json(out);
	etcd_reply_free(r);
	return 0;
}

/* lease grant TTL | keepalive ID | revoke ID */
static int
cmd_lease(struct etcd *e, struct opts *o, int argc, char **argv)
{
	(void)o;
	if (argc != 3 || (strcmp(argv[1], "grant") != 0 &&
			     strcmp(argv[1], "keepalive") != 0 &&
			     strcmp(argv[1], "revoke") != 0))
		usage_exit("usage: lease grant TTL | keepalive ID | revoke ID");
	return lease_once(e, argv[1], arg_i64(argv[2], "TTL or ID"));
}

struct watching {
	struct event_base *base;
	long count; /* events to wait for; 0: until ^C */
	long seen;
	int rc;
};

static void
watch_msg(const struct etcd_watch_msg *m, void *arg)
{
	struct watching *wg = arg;
	json_t *o;
	size_t i;

	if (m->err != NULL) {
		wg->rc = fail(m->err);
		event_base_loopbreak(wg->base);
		return;
	}
	if (m->compact_revision > 0) {
		o = json_object();
		json_object_set_new(o, "Compacted", json_true());
		json_object_set_new(
		    o, "CompactRevision", json_integer(m->compact_revision));
		print_json(o);
		wg->rc = 0;
		event_base_loopbreak(wg->base);
		return;
	}
	if (m->created) {
		o = json_object();
		json_object_set_new(o, "Created", json_true());
		json_object_set_new(o, "Revision", json_integer(m->revision));
		print_json(o);
	}
	for (i = 0; i < m->n_events; i++) {
		o = kv_json(&m->events[i].kv);
		json_object_set_new(o, "Type",
		    json_string(m->events[i].type == ETCD_EV_DELETE ? "DELETE"
								    : "PUT"));
		print_json(o);
		if (wg->count > 0 && ++wg->seen >= wg->count) {
			wg->rc = 0;
			event_base_loopbreak(wg->base);
		}
	}
}

static void
watch_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct watching *wg = arg;

	(void)fd;
	(void)what;
	fprintf(stderr,
	    "cf-etcd: watch: %ld of %ld events before the "
	    "deadline\n",
	    wg->seen, wg->count);
	wg->rc = 1;
	event_base_loopbreak(wg->base);
}

/* watch PREFIX [--from REV] [--count N] [--wait-ms MS] */
static int
cmd_watch(struct etcd *e, struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {{"from", 1, NULL, 'f'},
	    {"count", 1, NULL, 'c'}, {"wait-ms", 1, NULL, 'w'},
	    {"range-end", 1, NULL, 'r'}, {0}};
	struct watching wg = {.base = o->base, .rc = 1};
	struct etcd_watch *w;
	struct event *deadline = NULL;
	int64_t from = 0, wait_ms = 0;
	unsigned char *prefix, *end = NULL;
	const char *end_arg = NULL;
	struct cf_error err;
	size_t len, end_len = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (c) {
		case 'f':
			from = arg_i64(optarg, "--from");
			break;
		case 'c':
			wg.count = (long)arg_i64(optarg, "--count");
			break;
		case 'w':
			wait_ms = arg_i64(optarg, "--wait-ms");
			break;
		case 'r':
			end_arg = optarg;
			break;
		default:
			return 2;
		}
	if (optind + 1 != argc)
		usage_exit("usage: watch PREFIX [--from REV] [--count N] "
			   "[--wait-ms MS] [--range-end KEY]");
	prefix = arg_bytes(o, argv[optind], &len);
	/* --range-end: the keys [PREFIX, KEY) rather than under PREFIX */
	if (end_arg != NULL) {
		end = arg_bytes(o, end_arg, &end_len);
		w = etcd_watch_new_range(
		    e, prefix, len, end, end_len, from, watch_msg, &wg, &err);
	} else
		w = etcd_watch_new(e, prefix, len, from, watch_msg, &wg, &err);
	free(prefix);
	free(end);
	if (wait_ms > 0) {
		struct timeval tv = {wait_ms / 1000, wait_ms % 1000 * 1000};
		deadline = evtimer_new(o->base, watch_deadline, &wg);
		evtimer_add(deadline, &tv);
	}
	event_base_dispatch(o->base);
	etcd_watch_free(w);
	if (deadline != NULL)
		event_free(deadline);
	return wg.rc;
}

static const struct cmd cmds[] = {
    {"get", cmd_get,
	"get KEY [--prefix] [--keys-only] [--revision N] "
	"[--limit N]"},
    {"put", cmd_put, "put KEY VALUE [--lease ID] [--prev-kv]"},
    {"del", cmd_del, "del KEY [--prefix]"},
    {"txn-cas", cmd_txn_cas, "txn-cas KEY MOD_REVISION VALUE"},
    {"lease", cmd_lease, "lease grant TTL | keepalive ID | revoke ID"},
    {"watch", cmd_watch,
	"watch PREFIX [--from REV] [--count N] "
	"[--wait-ms MS] [--range-end KEY]"},
    {"bench", cmd_bench, "bench PREFIX N SIZE"},
    {"sim", cmd_sim,
	"sim agents|seal|desire [--prefix P] NS ... (bench/converge.sh)"},
};

static void
help(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: cf-etcd --endpoints URL[,URL...] --ca FILE "
	    "[--cert FILE --key FILE]\n"
	    "               [--user NAME --password-file FILE|-] "
	    "[--timeout-ms N] [--max-reply BYTES] [--hex]\n"
	    "               [--repeat N --interval-ms MS] COMMAND ...\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].usage);
}

/* The password: the first line of a file, or of stdin ("-"). */
static struct cf_secret *
read_password(const char *path)
{
	struct cf_buf b = {0};
	struct cf_error err;
	struct cf_secret *s;
	size_t n;

	if (cf_read_file(path, 4096, &b, &err) == -1) {
		fprintf(stderr, "cf-etcd: password: %s\n", err.msg);
		exit(1);
	}
	for (n = 0; n < b.len && b.data[n] != '\n' && b.data[n] != '\r'; n++)
		;
	s = cf_secret_new(b.data, n);
	OPENSSL_cleanse(b.data, b.len);
	cf_buf_clear(&b);
	return s;
}

/* Global options into o; returns the index of the command. */
static int
parse_global(int argc, char **argv, struct opts *o, char **endpoints)
{
	static const struct option lo[] = {{"endpoints", 1, NULL, 'e'},
	    {"ca", 1, NULL, 'a'}, {"cert", 1, NULL, 'c'}, {"key", 1, NULL, 'k'},
	    {"user", 1, NULL, 'u'}, {"password-file", 1, NULL, 'p'},
	    {"timeout-ms", 1, NULL, 't'}, {"hex", 0, NULL, 'x'},
	    {"password", 1, NULL, 'P'}, {"repeat", 1, NULL, 'r'},
	    {"max-reply", 1, NULL, 'm'}, {"interval-ms", 1, NULL, 'i'},
	    {"help", 0, NULL, 'h'}, {0}};
	char *tok, *save = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1)
		switch (c) {
		case 'e':
			*endpoints = xstrdup(optarg);
			break;
		case 'a':
			o->cfg.ca_file = optarg;
			break;
		case 'c':
			o->cfg.cert_file = optarg;
			break;
		case 'k':
			o->cfg.key_file = optarg;
			break;
		case 'u':
			o->cfg.user = optarg;
			break;
		case 'p':
			o->password = read_password(optarg);
			break;
		case 't':
			o->cfg.timeout_ms =
			    (int)arg_i64(optarg, "--timeout-ms");
			break;
		case 'x':
			o->hex = 1;
			break;
		case 'm':
			o->cfg.max_reply =
			    (size_t)arg_i64(optarg, "--max-reply");
			break;
		case 'r':
			o->repeat = (long)arg_i64(optarg, "--repeat");
			break;
		case 'i':
			o->interval_ms = (long)arg_i64(optarg, "--interval-ms");
			break;
		case 'P': /* named, so that it is no abbreviation */
			usage_exit("--password: a password is never taken "
				   "from the command line; use --password-file "
				   "FILE, or - for stdin");
			break;
		case 'h':
			help(stdout);
			exit(0);
		default:
			help(stderr);
			exit(2);
		}
	if (*endpoints == NULL || optind >= argc) {
		help(stderr);
		exit(2);
	}
	for (tok = strtok_r(*endpoints, ",", &save);
	     tok != NULL && o->cfg.n_endpoints < ETCD_MAX_ENDPOINTS;
	     tok = strtok_r(NULL, ",", &save))
		o->cfg.endpoints[o->cfg.n_endpoints++] = tok;
	o->cfg.password = o->password;
	return optind;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	const struct cmd *cmd = NULL;
	char *endpoints = NULL;
	struct etcd *e = NULL;
	struct cf_error err;
	int first, rc = 1;
	size_t i;

	cf_process_harden();
	first = parse_global(argc, argv, &o, &endpoints);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, argv[first]) == 0)
			cmd = &cmds[i];
	if (cmd == NULL) {
		fprintf(stderr, "cf-etcd: %s: no such command\n", argv[first]);
		help(stderr);
		exit(2);
	}
	if (cmd->fn == cmd_watch || cmd->fn == cmd_bench || cmd->fn == cmd_sim)
		o.base = event_base_new();
	if ((e = etcd_new(o.base, &o.cfg, &err)) == NULL) {
		fail(&err);
		goto out;
	}
	for (i = 0; i < (size_t)(o.repeat > 1 ? o.repeat : 1); i++) {
		if (i > 0)
			cf_sleep_ms(o.interval_ms);
		optind = 0; /* GNU getopt: afresh on the command's argv */
		if ((rc = cmd->fn(e, &o, argc - first, argv + first)) != 0)
			break;
	}
out:
	etcd_free(e);
	if (o.base != NULL)
		event_base_free(o.base);
	cf_secret_free(o.password);
	free(endpoints);
	return rc;
}
