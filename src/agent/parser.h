/*
 * parser.h - the parser process: outside bytes (PKCS#12, PEM, DER,
 * PKCS#7, a CA's answer) are parsed by `certfleetd parse`, a child
 * started afresh with exec for each file, that holds no master key, no
 * store and no privileges, and hands back DER over a socket.
 *
 * The conversation, one per file, over a SOCK_STREAM socket pair whose
 * child end is the child's fd 0 (integers are 4-byte big-endian):
 *
 *   agent -> parser  "CFP1", name length, name, password flag (1 byte),
 *                    password length, password, data length, data;
 *                    then the agent shuts its writing side.
 *   parser -> agent  records of a tag byte, a length and that many bytes:
 *                    'C' a certificate (i2d_X509_AUX: friendly name kept)
 *                    'K' a private key (PKCS#8 DER, unencrypted)
 *                    'P' the input was PKCS#12 (no bytes)
 *                    'E' failure: a 4-byte cf_code, then the message
 *                    'Z' the bundle is complete (no bytes)
 *
 * Keys and the password cross the socket in the clear: both ends wipe
 * every buffer that held them.
 */
#ifndef CFD_PARSER_H
#define CFD_PARSER_H

#include <stddef.h>

#include "bundle.h"
#include "error.h"

/* A parse that takes longer is stopped (the PKCS#12 caps allow 10
 * million iterations: a few seconds on a slow machine). */
#define PARSER_TIMEOUT_MS 60000

/*
 * cf_bundle_parse's contract, done by a new parser process: the agent
 * hands this to cf_bundle_set_parser.  A parser that crashes, is killed
 * or takes longer than PARSER_TIMEOUT_MS fails this call only
 * (CF_E_INTERNAL, naming the signal and the file).
 */
int parser_parse(const char *name, const unsigned char *data, size_t len,
    const char *password, struct cf_bundle *out, struct cf_error *err);

/* `certfleetd parse`: the child's side; not for people (not listed). */
int cmd_parse(int argc, char **argv);

/*
 * Confines the calling process for parsing: every fd but 0 closed,
 * nobody's uid and gid when root, no core, few fds, no_new_privs and a
 * seccomp filter that allows memory, read and write and nothing that
 * opens a file, a socket or a program.  -1 with err set when a step
 * failed (the caller must then not parse).
 */
int parser_sandbox(struct cf_error *err);

#endif
