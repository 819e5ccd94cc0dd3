/* output.c - tables, tab-separated values and JSON: see output.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"
#include "util.h"
#include "view.h"

#define MAX_WIDTH 10000 /* of $COLUMNS */

static int out_tty = -1; /* stdout is a terminal; asked once */

static int
stdout_tty(void)
{
	if (out_tty == -1)
		out_tty = isatty(STDOUT_FILENO);
	return out_tty;
}

int
out_tsv(void)
{
	return cli.tsv;
}

/*
 * $COLUMNS first, so that a test (or a script that wants a person's
 * table in a file) can set the width; then the terminal's.  A pipe
 * without $COLUMNS is not cut: whatever reads it wants whole values.
 */
size_t
out_width(void)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long v;

	if (env != NULL && env[0] != '\0') {
		v = strtol(env, &end, 10);
		if (*end == '\0' && v > 0 && v <= MAX_WIDTH)
			return (size_t)v;
	}
	if (stdout_tty() && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		return ws.ws_col;
	return stdout_tty() ? 80 : 0;
}

/* ---- tables --------------------------------------------------------- */

/* Columns a string takes: its UTF-8 characters (continuation bytes do
 * not count). */
static size_t
text_width(const char *s)
{
	const uint64_t high = 0x8080808080808080ULL;
	size_t len = strlen(s), n = len, i = 0;
	uint64_t x;

	/* Eight bytes at a time: a continuation byte has bit 7 set and
	 * bit 6 clear (a byte at a time was a tenth of a large table).
	 * The flags (one a byte, at bit 7) are added up by a multiply:
	 * __builtin_popcountll is a call into libgcc without -mpopcnt,
	 * which was a third of the widths of a 10,000-row table. */
	for (; i + 8 <= len; i += 8) {
		memcpy(&x, s + i, 8);
		x = (x & ~(x << 1) & high) >> 7;
		n -= (size_t)((x * 0x0101010101010101ULL) >> 56);
	}
	for (; i < len; i++)
		n -= ((unsigned char)s[i] & 0xc0) == 0x80;
	return n;
}

/* The bytes of s's first n characters. */
static size_t
prefix_bytes(const char *s, size_t n)
{
	size_t i = 0;

	while (s[i] != '\0') {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n-- == 0)
			break;
		i++;
	}
	return i;
}

/* n spaces, a block at a time: a character at a time was a tenth of a
 * 10,000-row table. */
static void
pad(size_t n)
{
	static const char spaces[] = "                                "
				     "                                ";
	size_t k;

	for (; n > 0; n -= k) {
		k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		fwrite_unlocked(spaces, 1, k, stdout);
	}
}

/*
 * Prints s in w columns: cut with "…" when longer, padded with spaces
 * unless it is the last column.  Unlocked writes: the table is printed
 * under one flockfile (out_table), not a lock a call.
 */
static void
print_cell(const char *s, size_t len, size_t w, int last)
{
	if (len > w && w > 0) {
		fwrite_unlocked(s, 1, prefix_bytes(s, w - 1), stdout);
		fputs_unlocked("…", stdout);
		len = w;
	} else if (len > w)
		len = 0;
	else
		fputs_unlocked(s, stdout);
	if (!last && len < w)
		pad(w - len);
}

/*
 * Narrows the widest columns, one character at a time, until the row
 * (columns and the single spaces between them) fits limit; no column
 * goes below its header's width.
 */
static void
fit_widths(const char *const *headers, size_t ncols, size_t *w, size_t limit)
{
	size_t total = ncols - 1, c, widest;

	for (c = 0; c < ncols; c++)
		total += w[c];
	while (total > limit) {
		widest = ncols;
		for (c = 0; c < ncols; c++)
			if (w[c] > text_width(headers[c]) &&
			    (widest == ncols || w[c] > w[widest]))
				widest = c;
		if (widest == ncols)
			break; /* every column at its floor: let it wrap */
		w[widest]--;
		total--;
	}
}

/* A cell for --format tsv: tabs and line ends would split it. */
static void
print_tsv_cell(const char *s, int last)
{
	for (; *s != '\0'; s++)
		putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
	putchar(last ? '\n' : '\t');
}

static void
print_tsv(const char *const *headers, size_t ncols, size_t nrows,
    const char *(*cell)(void *, size_t, size_t), void *arg)
{
	size_t r, c;

	for (c = 0; !cli.no_header && c < ncols; c++)
		print_tsv_cell(headers[c], c + 1 == ncols);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			print_tsv_cell(cell(arg, r, c), c + 1 == ncols);
}

void
out_table_each(const char *const *headers, size_t ncols, size_t nrows,
    const char *(*cell)(void *, size_t, size_t), void *arg)
{
	size_t *w, r, c, k, limit;
	const char *s;

	if (cli.tsv) {
		print_tsv(headers, ncols, nrows, cell, arg);
		return;
	}
	w = xcalloc(ncols, sizeof(*w));
	for (c = 0; c < ncols; c++)
		w[c] = cli.no_header ? 0 : text_width(headers[c]);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			if ((k = text_width(cell(arg, r, c))) > w[c])
				w[c] = k;
	if ((limit = out_width()) > 0)
		fit_widths(headers, ncols, w, limit);
	for (c = 0; !cli.no_header && c < ncols; c++) {
		print_cell(
		    headers[c], text_width(headers[c]), w[c], c + 1 == ncols);
		putchar(c + 1 < ncols ? ' ' : '\n');
	}
	for (c = 0; !cli.no_header && c < ncols; c++) {
		size_t len = c + 1 < ncols ? w[c] : text_width(headers[c]);
		for (k = 0; k < len && k < w[c]; k++)
			putchar('-');
		putchar(c + 1 < ncols ? ' ' : '\n');
	}
	flockfile(stdout);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++) {
			s = cell(arg, r, c);
			print_cell(s, text_width(s), w[c], c + 1 == ncols);
			putchar_unlocked(c + 1 < ncols ? ' ' : '\n');
		}
	funlockfile(stdout);
	free(w);
}

/* What out_table's cells hold. */
struct cells {
	char **cells;
	size_t ncols;
};

static const char *
cells_get(void *arg, size_t r, size_t c)
{
	const struct cells *t = arg;

	return t->cells[r * t->ncols + c];
}

void
out_table(const char *const *headers, size_t ncols, char **cells, size_t nrows)
{
	struct cells t = {.cells = cells, .ncols = ncols};

	out_table_each(headers, ncols, nrows, cells_get, &t);
}

/* ---- JSON ----------------------------------------------------------- */

static size_t json_items;

static size_t
json_flags(void)
{
	return (stdout_tty() ? JSON_INDENT(2) : JSON_COMPACT) |
	       JSON_PRESERVE_ORDER;
}

/* Prints text, each line after the first indented by four spaces (an
 * item inside the indented envelope). */
static void
print_indented(const char *text)
{
	for (; *text != '\0'; text++) {
		putchar(*text);
		if (*text == '\n')
			fputs("    ", stdout);
	}
}

void
out_json_open(void)
{
	json_items = 0;
	printf(stdout_tty() ? "{\n  \"SchemaVersion\": %d,\n  \"Items\": ["
			    : "{\"SchemaVersion\":%d,\"Items\":[",
	    OUT_SCHEMA_VERSION);
}

void
out_json_item(json_t *item)
{
	char *text = json_dumps(item, json_flags());

	fputs(json_items++ ? "," : "", stdout);
	if (stdout_tty())
		fputs("\n    ", stdout);
	if (text != NULL) {
		if (stdout_tty())
			print_indented(text);
		else
			fputs(text, stdout);
		free(text);
	}
	json_decref(item);
}

int
out_json_compact(void)
{
	return !stdout_tty();
}

void
out_json_item_text(const char *text)
{
	fputs(json_items++ ? "," : "", stdout);
	fputs(text, stdout);
}

void
out_json_close(void)
{
	if (json_items > 0 && stdout_tty())
		fputs("\n  ", stdout);
	puts(stdout_tty() ? "]\n}" : "]}");
}

void
out_json_items(json_t *a)
{
	size_t i;

	out_json_open();
	for (i = 0; i < json_array_size(a); i++)
		out_json_item(json_incref(json_array_get(a, i)));
	out_json_close();
	json_decref(a);
}

/*
 * Indented for a person at a terminal, compact for a program; dumped into
 * one buffer and written at once (jansson's stream dump writes token by
 * token, which dominates a large document).
 */
void
out_json(json_t *o)
{
	json_t *doc = json_object();
	char *text;

	json_object_set_new(
	    doc, "SchemaVersion", json_integer(OUT_SCHEMA_VERSION));
	json_object_update(doc, o);
	json_decref(o);
	text = json_dumps(doc, json_flags());
	if (text != NULL) {
		fputs(text, stdout);
		free(text);
	}
	putchar('\n');
	json_decref(doc);
}

json_t *
out_result_json(const char *server, const struct cf_import_result *x)
{
	json_t *o = json_object();

	json_object_set_new(o, "Server", json_string(server));
	json_object_set_new(o, "Thumbprint", cf_json_string(x->thumbprint));
	json_object_set_new(o, "Result", json_string(x->what));
	json_object_set_new(o, "Services", cf_json_list(x->services));
	json_object_set_new(o, "SkippedServices", cf_json_list(x->skipped));
	if (x->detail != NULL)
		json_object_set_new(o, "Detail", cf_json_string(x->detail));
	return o;
}

json_t *
out_error_json(const char *server, const char *msg)
{
	json_t *o = json_object();

	json_object_set_new(o, "Server", json_string(server));
	json_object_set_new(o, "Error", cf_json_string(msg));
	return o;
}

json_t *
out_time_json(time_t t)
{
	char iso[21];

	if (t == 0)
		return json_null();
	cf_time_iso(t, iso);
	return json_string(iso);
}
