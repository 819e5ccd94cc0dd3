/* output.c - tables and JSON: see output.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "util.h"

void
out_table(const char *const *headers, size_t ncols, char **cells,
    size_t nrows)
{
	size_t *w = xcalloc(ncols, sizeof(*w)), r, c, k;

	for (c = 0; c < ncols; c++)
		w[c] = strlen(headers[c]);
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			if (strlen(cells[r * ncols + c]) > w[c])
				w[c] = strlen(cells[r * ncols + c]);
	for (c = 0; c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? (int)w[c] : 0, headers[c],
		    c + 1 < ncols ? " " : "\n");
	for (c = 0; c < ncols; c++) {
		size_t len = c + 1 < ncols ? w[c] : strlen(headers[c]);
		for (k = 0; k < len; k++)
			putchar('-');
		putchar(c + 1 < ncols ? ' ' : '\n');
	}
	for (r = 0; r < nrows; r++)
		for (c = 0; c < ncols; c++)
			printf("%-*s%s", c + 1 < ncols ? (int)w[c] : 0,
			    cells[r * ncols + c], c + 1 < ncols ? " " : "\n");
	free(w);
}

static size_t json_items;
static int out_tty = -1; /* stdout is a terminal; asked once */

static int
stdout_tty(void)
{
	if (out_tty == -1)
		out_tty = isatty(STDOUT_FILENO);
	return out_tty;
}

static size_t
json_flags(void)
{
	return stdout_tty() ? JSON_INDENT(2) : JSON_COMPACT;
}

void
out_json_open(void)
{
	json_items = 0;
	putchar('[');
}

void
out_json_item(json_t *item)
{
	char *text = json_dumps(item, json_flags());

	fputs(json_items++ ? "," : "", stdout);
	if (stdout_tty())
		putchar('\n');
	if (text != NULL) {
		fputs(text, stdout);
		free(text);
	}
	json_decref(item);
}

void
out_json_close(void)
{
	if (json_items > 0 && stdout_tty())
		putchar('\n');
	puts("]");
}

/*
 * Indented for a person at a terminal, compact for a program; dumped into
 * one buffer and written at once (jansson's stream dump writes token by
 * token, which dominates `get --json` on a large store).
 */
void
out_json(json_t *j)
{
	char *text = json_dumps(j, json_flags());

	if (text != NULL) {
		fputs(text, stdout);
		free(text);
	}
	putchar('\n');
	json_decref(j);
}
