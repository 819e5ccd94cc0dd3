/*
 * output.h - tables for people, tab-separated values and JSON for
 * scripts.  The conventions (the envelope, SchemaVersion, Items) are
 * written down in docs/json.md.
 */
#ifndef CF_OUTPUT_H
#define CF_OUTPUT_H

#include <stddef.h>

#include <time.h>

#include <jansson.h>

#include "ops.h"

/* The version of the JSON of every command (docs/json.md); raised when a
 * key changes meaning or type, never when one is added. */
#define OUT_SCHEMA_VERSION 1

/*
 * Prints a table as PowerShell's Format-Table does: a header, a rule of
 * dashes, then the rows; every column padded but the last.  On a
 * terminal (or when $COLUMNS is set) the widest columns are cut, with
 * "…", until a row fits its width.  --no-header leaves out the header
 * and the rule; --format tsv prints the cells as they are, one tab
 * between them.  cells[r * ncols + c] holds the text of row r, column c.
 */
void out_table(
    const char *const *headers, size_t ncols, char **cells, size_t nrows);
/*
 * out_table without the cells held at once: cell(arg, r, c) gives the
 * text of row r, column c (lent until the next call), and is asked
 * twice, once for the widths and once to print, so that a table of
 * 10,000 rows needs no copy of its text.  It must give the same text
 * both times.
 */
void out_table_each(const char *const *headers, size_t ncols, size_t nrows,
    const char *(*cell)(void *arg, size_t r, size_t c), void *arg);

/* True when tables are tab-separated (--format tsv): then cells hold
 * full values, not the shortened ones meant for a person. */
int out_tsv(void);

/* The width tables must fit: the terminal's, else $COLUMNS; 0 when
 * there is no limit (output to a pipe or file, no $COLUMNS). */
size_t out_width(void);

/*
 * Prints the object o (stolen) as one JSON document with a final
 * newline, SchemaVersion first: indented on a terminal, compact
 * otherwise.
 */
void out_json(json_t *o);

/*
 * A listing printed one element at a time, so a large one never holds
 * its whole tree: {"SchemaVersion": 1, "Items": [ ... ]}.  out_json_open,
 * out_json_item (stolen) for each, out_json_close.
 */
void out_json_open(void);
void out_json_item(json_t *item);
void out_json_close(void);
/* True when JSON is printed compact (stdout is not a terminal): then an
 * item may be given as text, out_json_item_text. */
int out_json_compact(void);
/* An item of the listing as compact JSON text (lent). */
void out_json_item_text(const char *text);
/* A listing whose items are already in the array a (stolen). */
void out_json_items(json_t *a);

/*
 * The item of what a server did with one certificate (import, new,
 * copy): {"Server", "Thumbprint", "Result", "Services": [...],
 * "Detail"?} (new reference).
 */
json_t *out_result_json(const char *server, const struct cf_import_result *x);
/* The item of a server that failed: {"Server", "Error"} (new). */
json_t *out_error_json(const char *server, const char *msg);
/* An ISO 8601 time as JSON ("2026-12-04T15:00:00Z"), or null for 0
 * (never) (new). */
json_t *out_time_json(time_t t);

#endif
