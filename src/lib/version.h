/* version.h - the one version of certfleet, certfleetd and their API. */
#ifndef CF_VERSION_H
#define CF_VERSION_H

#define CF_VERSION "0.1.0"

#endif
