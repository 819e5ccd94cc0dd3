/*
 * ops_import_parse.h - the inputs of an import parsed into bundles before its
 * transaction (internal to ops_import.c).  Parsing is where an import spends
 * its time and each file is independent, so files are parsed on threads.
 */
#ifndef CF_OPS_IMPORT_PARSE_H
#define CF_OPS_IMPORT_PARSE_H

#include "bundle.h"
#include "ops.h"

/*
 * Parses the n inputs into bundles[0..n-1] (zeroed by the caller; each
 * becomes a new bundle or stays NULL, and the caller frees them, also on
 * failure) with opts->password, reporting opts->progress.
 * -1 with the first failing file's error in err.
 */
int cf_import_parse_all(const struct cf_input *in, size_t n,
    const struct cf_import_opts *opts, struct cf_bundle **bundles,
    struct cf_error *err);

#endif
