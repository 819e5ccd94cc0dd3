/*
 * svc_nginx.c - nginx: a full-chain file and a key file (ssl_certificate,
 * ssl_certificate_key), `nginx -t` before `nginx -s reload`.  The reload
 * signals the master, which starts new workers with the new files; the
 * check that follows waits for them.
 */
#include "service.h"

const struct cf_service_kind cf_kind_nginx = {
    .name = "nginx",
    .test = "nginx -t -q",
    .reload = "nginx -s reload",
};
