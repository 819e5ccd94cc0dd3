/*
 * svc_postfix.c - postfix: smtpd_tls_chain_files (key, then chain) or
 * smtpd_tls_cert_file and smtpd_tls_key_file; `postfix check`, then
 * `postfix reload`.  smtpd processes already running finish their
 * sessions with the old certificate, so the check retries until new
 * ones answer.
 */
#include "service.h"

const struct cf_service_kind cf_kind_postfix = {
    .name = "postfix",
    .test = "postfix check",
    .reload = "postfix reload",
};
