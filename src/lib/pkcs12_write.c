/*
 * pkcs12_write.c - writing PKCS#12 (PFX) files: cf_pkcs12_build, see
 * pkcs12.h.  Reading lives in pkcs12.c.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "pkcs12.h"
#include "util.h"

/*
 * The export profiles.  MODERN and TRANSFER: PBES2 (AES-256-CBC,
 * PBKDF2-HMAC-SHA256) for key and certificates, HMAC-SHA256 MAC, 16-byte
 * random salts everywhere.
 *
 * LEGACY copies the shape Windows CryptoAPI itself exports (see the
 * dotnet-runtime-assets vectors): pbeWithSHA1And3-KeyTripleDES-CBC for
 * key and certificates, SHA-1 MAC, 2000 iterations, 8-byte bag salts and
 * a 20-byte MAC salt.  It is for readers that cannot take AES (Windows
 * Server 2016 and older, old Java and macOS), which are exactly the
 * readers tested against that shape; a file that weak rests on its
 * password, and 2000 is what those readers' own exports use.  No RC2.
 */
static const struct profile {
	int key_nid, cert_nid; /* PBE, or a cipher NID for PBES2 */
	const char *mac_md;
	int iter, bag_salt, mac_salt;
} profiles[] = {
    [CF_P12_MODERN] = {NID_aes_256_cbc, NID_aes_256_cbc, "SHA256",
	CF_P12_EXPORT_ITER, 16, 16},
    [CF_P12_LEGACY] = {NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
	NID_pbe_WithSHA1And3_Key_TripleDES_CBC, "SHA1", 2000, 8, 20},
    [CF_P12_TRANSFER] = {NID_aes_256_cbc, NID_aes_256_cbc, "SHA256", 1000, 16,
	16},
};

/* Export never sees the legacy provider, whatever the process loaded. */
static const char build_propq[] = "provider=default";

static int
add_attrs(PKCS12_SAFEBAG *bag, const char *friendly_name, unsigned char *keyid,
    unsigned keyid_len)
{
	if (friendly_name != NULL && friendly_name[0] != '\0' &&
	    !PKCS12_add_friendlyname_utf8(bag, friendly_name, -1))
		return -1;
	if (keyid != NULL && !PKCS12_add_localkeyid(bag, keyid, (int)keyid_len))
		return -1;
	return 0;
}

/* The shrouded key bag: PKCS#8 encrypted with the profile's scheme. */
static PKCS12_SAFEBAG *
key_bag(EVP_PKEY *key, const struct profile *pr, const char *password,
    struct cf_error *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	EVP_CIPHER *aes = NULL;
	X509_SIG *sig = NULL;
	PKCS12_SAFEBAG *bag = NULL;

	if ((p8 = EVP_PKEY2PKCS8(key)) == NULL) {
		cf_errorf_ossl(
		    err, CF_E_CRYPTO, "cannot encode the private key");
		goto out;
	}
	if (pr->key_nid == NID_aes_256_cbc) {
		if ((aes = EVP_CIPHER_fetch(
			 NULL, "AES-256-CBC", build_propq)) != NULL)
			sig = PKCS8_encrypt_ex(NID_hmacWithSHA256, aes,
			    password, -1, NULL, pr->bag_salt, pr->iter, p8,
			    NULL, build_propq);
	} else
		sig = PKCS8_encrypt_ex(pr->key_nid, NULL, password, -1, NULL,
		    pr->bag_salt, pr->iter, p8, NULL, build_propq);
	if (sig == NULL || (bag = PKCS12_SAFEBAG_create0_pkcs8(sig)) == NULL) {
		X509_SIG_free(sig);
		cf_errorf_ossl(
		    err, CF_E_CRYPTO, "cannot encrypt the private key");
	}
out:
	PKCS8_PRIV_KEY_INFO_free(p8);
	EVP_CIPHER_free(aes);
	return bag;
}

/* Appends the encrypted certificate safe: cert first, then the chain. */
static int
cert_safe(STACK_OF(PKCS7) * safes, X509 *cert, STACK_OF(X509) * chain,
    const char *friendly_name, unsigned char *keyid, unsigned keyid_len,
    const struct profile *pr, const char *password, struct cf_error *err)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS12_SAFEBAG *bag;
	PKCS7 *p7 = NULL;
	int i, rc = -1;

	if ((bag = PKCS12_add_cert(&bags, cert)) == NULL ||
	    add_attrs(bag, friendly_name, keyid, keyid_len) == -1)
		goto fail;
	for (i = 0; i < sk_X509_num(chain); i++)
		if (PKCS12_add_cert(&bags, sk_X509_value(chain, i)) == NULL)
			goto fail;
	/* certificates only and no password: nothing secret to encrypt */
	if (password == NULL)
		p7 = PKCS12_pack_p7data(bags);
	else
		p7 = PKCS12_pack_p7encdata_ex(pr->cert_nid, password, -1, NULL,
		    pr->bag_salt, pr->iter, bags, NULL, build_propq);
	if (p7 == NULL || !sk_PKCS7_push(safes, p7))
		goto fail;
	p7 = NULL;
	rc = 0;
	goto out;
fail:
	cf_errorf_ossl(err, CF_E_CRYPTO, "cannot build the certificate safe");
out:
	PKCS7_free(p7);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	return rc;
}

static int
key_safe(STACK_OF(PKCS7) * safes, EVP_PKEY *key, const char *friendly_name,
    unsigned char *keyid, unsigned keyid_len, const struct profile *pr,
    const char *password, struct cf_error *err)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	PKCS12_SAFEBAG *bag;
	PKCS7 *p7 = NULL;
	int rc = -1;

	if ((bag = key_bag(key, pr, password, err)) == NULL)
		return -1;
	if (add_attrs(bag, friendly_name, keyid, keyid_len) == -1 ||
	    (bags = sk_PKCS12_SAFEBAG_new_null()) == NULL ||
	    !sk_PKCS12_SAFEBAG_push(bags, bag)) {
		PKCS12_SAFEBAG_free(bag);
		goto fail;
	}
	if ((p7 = PKCS12_pack_p7data(bags)) == NULL ||
	    !sk_PKCS7_push(safes, p7))
		goto fail;
	p7 = NULL;
	rc = 0;
	goto out;
fail:
	cf_errorf_ossl(err, CF_E_CRYPTO, "cannot build the key safe");
out:
	PKCS7_free(p7);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	return rc;
}

int
cf_pkcs12_build(X509 *cert, EVP_PKEY *key, STACK_OF(X509) * chain,
    const char *friendly_name, const char *password,
    enum cf_p12_profile profile, unsigned char **der, size_t *len,
    struct cf_error *err)
{
	const struct profile *pr;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12 *p12 = NULL;
	EVP_MD *sha1 = NULL, *mac_md = NULL;
	unsigned char keyid[EVP_MAX_MD_SIZE], *buf = NULL;
	unsigned keyid_len = 0;
	int n, rc = -1;

	*der = NULL;
	*len = 0;
	ERR_clear_error();
	if (cert == NULL || (int)profile < 0 ||
	    (size_t)profile >= sizeof(profiles) / sizeof(profiles[0]))
		return cf_errorf(err, CF_E_USAGE,
		    "PKCS#12 export needs a certificate and a profile");
	if (key != NULL && password == NULL)
		return cf_errorf(err, CF_E_USAGE,
		    "a password is needed to export a private key");
	pr = &profiles[profile];
	if (key != NULL && !X509_check_private_key(cert, key)) {
		ERR_clear_error();
		return cf_errorf(err, CF_E_MISMATCH,
		    "the private key does not belong to the certificate");
	}
	if ((sha1 = EVP_MD_fetch(NULL, "SHA1", build_propq)) == NULL ||
	    (mac_md = EVP_MD_fetch(NULL, pr->mac_md, build_propq)) == NULL ||
	    (key != NULL && !X509_digest(cert, sha1, keyid, &keyid_len)) ||
	    (safes = sk_PKCS7_new_null()) == NULL) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot start the PKCS#12");
		goto out;
	}
	/* localKeyID (SHA-1 of the certificate) links key and certificate */
	if (cert_safe(safes, cert, chain, friendly_name,
		key != NULL ? keyid : NULL, keyid_len, pr, password,
		err) == -1 ||
	    (key != NULL && key_safe(safes, key, friendly_name, keyid,
				keyid_len, pr, password, err) == -1))
		goto out;
	/*
	 * No propq here: OpenSSL 3.0's PKCS12_free leaks the copy that
	 * PKCS12_init_ex keeps.  That context only serves the MAC (PKCS#12
	 * KDF and HMAC-SHA1/SHA-256), which no provider but the default
	 * one offers; the ciphers above were fetched with build_propq.
	 */
	if ((p12 = PKCS12_add_safes_ex(safes, 0, NULL, NULL)) == NULL ||
	    !PKCS12_set_mac(p12, password, password != NULL ? -1 : 0, NULL,
		pr->mac_salt, pr->iter, mac_md) ||
	    (n = i2d_PKCS12(p12, &buf)) <= 0) {
		cf_errorf_ossl(err, CF_E_CRYPTO, "cannot finish the PKCS#12");
		goto out;
	}
	*der = xmalloc((size_t)n);
	memcpy(*der, buf, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	OPENSSL_free(buf);
	PKCS12_free(p12);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	EVP_MD_free(sha1);
	EVP_MD_free(mac_md);
	ERR_clear_error();
	return rc;
}
