/*
 * svc_files.c - the generic kind: write the files, run the commands the
 * section names (test, reload), check the endpoint if there is one.  For
 * any program that reads a certificate from files: another web server, a
 * VPN, a directory server.
 */
#include "service.h"

const struct cf_service_kind cf_kind_files = {
    .name = "files",
};
