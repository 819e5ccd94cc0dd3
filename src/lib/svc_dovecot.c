/*
 * svc_dovecot.c - dovecot: ssl_cert = <chain and ssl_key = <key;
 * `doveconf -n` parses the configuration (and the files it names), then
 * `doveadm reload` restarts the login processes that present them.
 */
#include "service.h"

const struct cf_service_kind cf_kind_dovecot = {
    .name = "dovecot",
    .test = "doveconf -n >/dev/null",
    .reload = "doveadm reload",
};
