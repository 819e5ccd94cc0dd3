/*
 * ari.c - ACME Renewal Information (RFC 9773): a certificate's ARI
 * identifier, and the CA's suggested renewal window parsed from what it
 * sends (outside bytes: sizes, times and the order of the window
 * checked).  The request itself is acme_ari_get (client.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "acme.h"

char *
acme_ari_cert_id(X509 *cert, struct cf_error *err)
{
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(cert);
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	unsigned char serial[64];
	BIGNUM *bn;
	char *a, *s, *id;
	int n, pad;

	if (aki == NULL || ASN1_STRING_length(aki) < 1) {
		cf_errorf(err, CF_E_PARSE,
		    "ari: the certificate has no authority key identifier");
		return NULL;
	}
	if (sn == NULL || (bn = ASN1_INTEGER_to_BN(sn, NULL)) == NULL ||
	    BN_is_negative(bn) || BN_num_bytes(bn) > (int)sizeof(serial) - 1) {
		if (sn != NULL)
			BN_free(ASN1_INTEGER_to_BN(sn, NULL));
		cf_errorf(err, CF_E_PARSE,
		    "ari: the certificate's serial number is not one");
		return NULL;
	}
	/* the INTEGER's DER content octets: big-endian, a 0x00 first when
	 * the top bit is set, one 0x00 for zero */
	n = BN_bn2bin(bn, serial + 1);
	BN_free(bn);
	pad = n == 0 || (serial[1] & 0x80) != 0;
	serial[0] = 0;
	a = acme_b64u_new(
	    ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki));
	s = acme_b64u_new(serial + 1 - pad, (size_t)(n + pad));
	id = xasprintf("%s.%s", a, s);
	free(a);
	free(s);
	return id;
}

/* An RFC 3339 time ("2025-01-02T04:00:00Z", fractions and an offset
 * allowed) into *t; -1 when it is not one. */
static int
rfc3339(const char *v, time_t *t)
{
	struct tm tm;
	const char *p;
	int sign, hh, mm, used = 0;

	memset(&tm, 0, sizeof(tm));
	if (v == NULL || strlen(v) > 40 ||
	    (p = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	*t = timegm(&tm);
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
		return 0;
	if ((*p != '+' && *p != '-') ||
	    sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &used) != 2 ||
	    p[1 + used] != '\0' || hh > 23 || mm > 59)
		return -1;
	sign = *p == '+' ? -1 : 1;
	*t += sign * (hh * 3600 + mm * 60);
	return 0;
}

int
acme_ari_parse(
    const char *body, size_t len, struct acme_ari *out, struct cf_error *err)
{
	json_error_t je;
	json_t *o, *w, *x;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	if (len > ACME_BODY_MAX)
		return cf_errorf(
		    err, CF_E_LIMIT, "ari: over %d bytes", ACME_BODY_MAX);
	if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		return cf_errorf(err, CF_E_PARSE,
		    "ari: the renewal information is not JSON");
	}
	w = json_object_get(o, "suggestedWindow");
	x = json_object_get(o, "explanationURL");
	if (!json_is_object(w) ||
	    rfc3339(json_string_value(json_object_get(w, "start")),
		&out->start) == -1 ||
	    rfc3339(json_string_value(json_object_get(w, "end")), &out->end) ==
		-1)
		cf_errorf(err, CF_E_PARSE,
		    "ari: suggestedWindow: give start and end as RFC 3339 "
		    "times");
	else if (out->end <= out->start)
		cf_errorf(err, CF_E_PARSE,
		    "ari: suggestedWindow: its end is not after its start");
	else if (x != NULL && (!json_is_string(x) ||
				  acme_url_check(json_string_value(x)) != 0))
		cf_errorf(
		    err, CF_E_PARSE, "ari: explanationURL: not an https URL");
	else {
		out->explanation =
		    x != NULL ? xstrdup(json_string_value(x)) : NULL;
		rc = 0;
	}
	json_decref(o);
	return rc;
}

void
acme_ari_clear(struct acme_ari *a)
{
	if (a == NULL)
		return;
	free(a->explanation);
	memset(a, 0, sizeof(*a));
}
