/* output.h - tables for people, JSON for scripts. */
#ifndef CF_OUTPUT_H
#define CF_OUTPUT_H

#include <stddef.h>

#include <jansson.h>

/*
 * Prints a table as PowerShell's Format-Table does: a header, a rule of
 * dashes, then the rows; every column padded but the last.
 * cells[r * ncols + c] holds the text of row r, column c.
 */
void out_table(const char *const *headers, size_t ncols, char **cells,
    size_t nrows);

/* Prints j (stolen) as JSON with a final newline: indented on a
 * terminal, compact otherwise. */
void out_json(json_t *j);

/*
 * A JSON array printed one element at a time, so a large listing never
 * holds its whole tree: out_json_open, out_json_item (stolen) for each,
 * out_json_close.
 */
void out_json_open(void);
void out_json_item(json_t *item);
void out_json_close(void);

#endif
