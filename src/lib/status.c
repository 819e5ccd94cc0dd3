/* status.c - Status computed when read: see status.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "status.h"
#include "util.h"

#define MAX_DEPTH 16

struct memo {
	char thumb[CF_THUMB_LEN + 1];
	int trusted;
};

/* A stored certificate looked up by thumbprint, or the note that there
 * is none (found 0). */
struct seen {
	struct cf_row row;
	int found;
};

/*
 * The walk above a certificate: from its issuer (signed_by) up, as of
 * now.  Rows of a listing mostly share their issuer, so the walk of the
 * last is kept for the next (a walk a row was a tenth of a listing).
 */
struct walk {
	char signed_by[CF_THUMB_LEN + 1]; /* "": nothing kept */
	time_t now;
	char list[(CF_THUMB_LEN + 1) * MAX_DEPTH + 1]; /* the Chain */
	int bad;         /* a certificate above has a bad signature */
	int chain_dates; /* every certificate above is within its dates */
	int trusted;     /* the top is trusted; -1 not asked yet */
	const struct cf_row *top; /* where the walk ended (lent) */
};

/*
 * Everything is read when first needed, so a context costs what the
 * certificates asked about need: their issuers (a few rows, whatever
 * the size of the store), and the trust of each chain's top once
 * (status_trust.c).
 */
struct cf_status_ctx {
	struct cf_store *store;
	/* Sorted by thumbprint; each allocated on its own, so that a row
	 * lookup returned stays where it is while later lookups insert. */
	struct seen **seen;
	size_t nseen;
	struct cf_row *ends; /* cf_status_ctx_ends, when asked */
	size_t nends;
	struct cf_status_trust *trust; /* the build's own, on first need */
	struct memo *memo;
	size_t nmemo;
	struct walk last; /* the walk above the last row, for the next */
};

static int
cmp_seen(const void *a, const void *b)
{
	return strcmp((*(const struct seen *const *)a)->row.f.thumbprint,
	    (*(const struct seen *const *)b)->row.f.thumbprint);
}

/*
 * The stored certificate thumb (end first, then chain), or NULL when the
 * store has none; remembered for the context's life.  An error reading
 * is taken as "not there": the status then says Untrusted, never more.
 */
static const struct cf_row *
lookup(struct cf_status_ctx *c, const char *thumb)
{
	size_t len = strnlen(thumb, CF_THUMB_LEN), i;
	struct seen key, *pkey = &key, **hit, *added;

	/* Only the thumbprint is compared: once a certificate of a large
	 * listing, so no clearing of the rest and no snprintf. */
	memcpy(key.row.f.thumbprint, thumb, len);
	key.row.f.thumbprint[len] = '\0';
	key.found = 0;
	hit = c->nseen ? bsearch(&pkey, c->seen, c->nseen, sizeof(*c->seen),
			     cmp_seen)
		       : NULL;
	if (hit != NULL)
		return (*hit)->found ? &(*hit)->row : NULL;
	if (cf_store_fetch(c->store, thumb, &key.row, NULL) == 1) {
		key.found = 1;
		free(key.row.der); /* links and dates are all status reads */
		key.row.der = NULL;
		key.row.der_len = 0;
	} else {
		memset(&key.row, 0, sizeof(key.row));
		snprintf(key.row.f.thumbprint, sizeof(key.row.f.thumbprint),
		    "%s", thumb);
	}
	added = xmalloc(sizeof(*added));
	*added = key;
	c->seen = xrealloc(c->seen, (c->nseen + 1) * sizeof(*c->seen));
	for (i = c->nseen; i > 0 && cmp_seen(&c->seen[i - 1], &added) > 0; i--)
		c->seen[i] = c->seen[i - 1];
	c->seen[i] = added;
	c->nseen++;
	return added->found ? &added->row : NULL;
}

struct cf_status_ctx *
cf_status_ctx_new(struct cf_store *s, struct cf_error *err)
{
	struct cf_status_ctx *c = xcalloc(1, sizeof(*c));

	(void)err; /* nothing is read yet */
	c->store = s;
	return c;
}

void
cf_status_ctx_free(struct cf_status_ctx *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nseen; i++) {
		cf_row_clear(&c->seen[i]->row);
		free(c->seen[i]);
	}
	free(c->seen);
	cf_rows_free(c->ends, c->nends);
	cf_status_trust_free(c->trust);
	free(c->memo);
	free(c);
}

struct cf_row *
cf_status_ctx_ends(struct cf_status_ctx *c, size_t *n)
{
	if (c->ends == NULL && cf_store_list(c->store, CF_END, NULL, 0,
				   &c->ends, &c->nends, NULL) == -1) {
		c->ends = NULL;
		c->nends = 0;
	}
	*n = c->nends;
	return c->ends;
}

/* The context's memo of thumb, or -1 when there is none yet. */
static int
memo_get(const struct cf_status_ctx *c, const char *thumb)
{
	size_t i;

	for (i = 0; i < c->nmemo; i++)
		if (strcmp(c->memo[i].thumb, thumb) == 0)
			return c->memo[i].trusted;
	return -1;
}

static int
memo_put(struct cf_status_ctx *c, const char *thumb, int trusted)
{
	c->memo = xrealloc(c->memo, (c->nmemo + 1) * sizeof(*c->memo));
	snprintf(
	    c->memo[c->nmemo].thumb, sizeof(c->memo[0].thumb), "%s", thumb);
	c->memo[c->nmemo++].trusted = trusted;
	return trusted;
}

/* Whether top, where a walk ended, is trusted: the store's own
 * self-signed certificates are; the rest the build's trust says
 * (status_trust.c), once a context. */
static int
top_trusted(struct cf_status_ctx *c, const struct cf_row *top)
{
	int ok;

	if (top->f.self_signed && top->table == CF_END)
		return 1;
	if ((ok = memo_get(c, top->f.thumbprint)) != -1)
		return ok;
	ok = cf_status_trust_top(c->store, top, &c->trust);
	return memo_put(c, top->f.thumbprint, ok == 1);
}

/* ---- the trust memo's roots (store.h: cf_store_trust_get) ------------ */

void
cf_status_roots_id(char *out, size_t size, const char *file, int from_env)
{
	struct stat st;

	if (stat(file, &st) == -1)
		snprintf(out, size, "%c:%s|-|-", from_env ? 'e' : 'd', file);
	else
		snprintf(out, size, "%c:%s|%lld.%09ld|%lld",
		    from_env ? 'e' : 'd', file, (long long)st.st_mtim.tv_sec,
		    st.st_mtim.tv_nsec, (long long)st.st_size);
}

int
cf_status_memo_get(struct cf_store *s, const char *thumb, const char *want)
{
	char roots[PATH_MAX + 64], now[PATH_MAX + 64], path[PATH_MAX + 64];
	const char *env = getenv("SSL_CERT_FILE"), *bar;
	size_t len;
	int trusted;

	if (cf_store_trust_get(s, thumb, &trusted, roots, sizeof(roots)) != 1)
		return -1;
	if (want != NULL)
		return strcmp(want, roots) == 0 ? trusted : -1;
	/* The default file, whichever it is, or SSL_CERT_FILE's: as kept,
	 * and unchanged since (its time and size).  The path is what comes
	 * before the last two '|'. */
	if (roots[0] != (env != NULL ? 'e' : 'd') || roots[1] != ':' ||
	    (bar = strrchr(roots, '|')) == NULL)
		return -1;
	len = (size_t)(bar - roots);
	memcpy(path, roots, len);
	path[len] = '\0';
	if ((bar = strrchr(path, '|')) == NULL)
		return -1;
	path[bar - path] = '\0';
	if (env != NULL && strcmp(env, path + 2) != 0)
		return -1;
	cf_status_roots_id(now, sizeof(now), path + 2, env != NULL);
	return strcmp(now, roots) == 0 ? trusted : -1;
}

/*
 * Walks from r up its links into w: the Chain, and whether all above r
 * is well signed and within its dates.  1 when w holds for any row of
 * r's issuer (the walk did not stop at r itself: a cycle through r).
 */
static int
walk_up(
    struct cf_status_ctx *c, const struct cf_row *r, time_t now, struct walk *w)
{
	const struct cf_row *cur = r, *next;
	size_t len = 0;
	int depth = 0, reusable = 1;

	w->signed_by[0] = w->list[0] = '\0'; /* not the whole list */
	w->bad = 0;
	w->chain_dates = 1;
	w->trusted = -1;
	w->now = now;
	while (!cur->f.self_signed && cur->signed_by[0] != '\0' &&
	       depth < MAX_DEPTH) {
		if ((next = lookup(c, cur->signed_by)) == NULL ||
		    strstr(w->list, next->f.thumbprint) != NULL)
			break; /* missing or a cycle */
		if (strcmp(next->f.thumbprint, r->f.thumbprint) == 0) {
			reusable = 0; /* a cycle through r */
			break;
		}
		if (len > 0)
			w->list[len++] = ',';
		memcpy(w->list + len, next->f.thumbprint, CF_THUMB_LEN + 1);
		len += strlen(next->f.thumbprint);
		if (now < next->f.not_before || now > next->f.not_after)
			w->chain_dates = 0;
		if (next->sig_state == CF_SIG_BAD)
			w->bad = 1;
		cur = next;
		depth++;
	}
	w->top = cur;
	if (reusable && cur != r)
		snprintf(
		    w->signed_by, sizeof(w->signed_by), "%s", r->signed_by);
	return reusable;
}

const char *
cf_status_of(
    struct cf_status_ctx *c, const struct cf_row *r, time_t now, char **chain)
{
	struct walk own, *w = &c->last;
	const struct cf_row *top;

	/* The last walk serves r when r hangs from the same issuer and is
	 * not itself in that chain (its own walk would stop at it). */
	if (r->f.self_signed || r->signed_by[0] == '\0' ||
	    strcmp(w->signed_by, r->signed_by) != 0 || w->now != now ||
	    strstr(w->list, r->f.thumbprint) != NULL)
		w = walk_up(c, r, now, &own) && own.signed_by[0] != '\0'
			? memcpy(&c->last, &own, sizeof(own))
			: &own;
	*chain = xstrdup(w->list);
	if (r->sig_state == CF_SIG_BAD || w->bad)
		return "Invalid";
	if (now < r->f.not_before || now > r->f.not_after)
		return "DateInvalid";
	if (w->trusted == -1) {
		top = w->top;
		w->trusted = top_trusted(c, top);
	}
	return w->trusted && w->chain_dates ? "Valid" : "Untrusted";
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
