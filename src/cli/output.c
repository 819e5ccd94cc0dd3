/* output.c - tables and JSON: see output.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void
out_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(j);
}
