/*
 * test_store_acme.c - ACME accounts in a real store: the round trip of
 * an account and its sealed key, a name taken refused, the key's bytes
 * nowhere in the database file, and a sealed key moved under another
 * account's name that does not open there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "check.h"
#include "identity.h"
#include "store.h"

static struct cf_error err;

/* The PKCS#8 DER of a new P-256 key into *der (OPENSSL_free), its length. */
static int
new_key(unsigned char **der)
{
	EVP_PKEY *k = cf_key_generate("p256", &err);
	int n;

	*der = NULL;
	n = i2d_PrivateKey(k, der);
	EVP_PKEY_free(k);
	return n;
}

/* Whether file path holds the n bytes of p anywhere. */
static int
file_has(const char *path, const unsigned char *p, size_t n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = malloc(1 << 22);
	size_t len, i;
	int found = 0;

	if (f == NULL)
		return -1;
	len = fread(buf, 1, 1 << 22, f);
	fclose(f);
	for (i = 0; i + n <= len && !found; i++)
		found = memcmp(buf + i, p, n) == 0;
	free(buf);
	return found;
}

static void
test_round_trip(void)
{
	char dir[512], db[600];
	struct cf_acme_account a = {0}, *l = NULL;
	struct cf_secret *key = NULL;
	struct cf_store *s;
	unsigned char *der = NULL;
	size_t n = 0;
	int len;

	snprintf(dir, sizeof(dir), "%s/acme", check_tmpdir());
	snprintf(db, sizeof(db), "%s/%s", dir, CF_STORE_DB);
	CHECK((s = cf_store_open(dir, &err)) != NULL, "acme: store");
	CHECK((len = new_key(&der)) > 0, "acme: key");
	a.name = "le";
	a.directory = "https://acme.example/dir";
	a.key_type = "p256";
	a.contact = "mailto:ops@example.com";
	CHECK(
	    cf_store_acme_put(s, &a, der, (size_t)len, &err) == 0, "acme: put");
	CHECK(cf_store_acme_list(s, NULL, &l, &n, &err) == 0 && n == 1,
	    "acme: listed");
	CHECK_STR(l[0].name, "le", "acme: name");
	CHECK_STR(l[0].url, "", "acme: no url yet");
	CHECK_STR(l[0].contact, "mailto:ops@example.com", "acme: contact");
	cf_acme_accounts_free(l, n);
	CHECK(cf_store_acme_key(s, "le", &key, &err) == 0 &&
		  key->len == (size_t)len &&
		  memcmp(key->data, der, (size_t)len) == 0,
	    "acme: key back");
	cf_secret_free(key);
	key = NULL;

	/* a name taken: refused, the first account as it was */
	a.directory = "https://other.example/dir";
	CHECK(cf_store_acme_put(s, &a, der, (size_t)len, &err) == -1 &&
		  err.code == CF_E_CONFLICT,
	    "acme: a second put refused");
	CHECK(cf_store_acme_list(s, "le", &l, &n, &err) == 0 && n == 1 &&
		  strcmp(l[0].directory, "https://acme.example/dir") == 0,
	    "acme: the first unchanged");
	cf_acme_accounts_free(l, n);

	CHECK(cf_store_acme_set_url(
		  s, "le", "https://acme.example/acct/1", &err) == 0,
	    "acme: url set");
	CHECK(cf_store_acme_set_url(s, "nope", "https://x/", &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "acme: url of no account refused");
	CHECK(cf_store_acme_list(s, "le", &l, &n, &err) == 0 && n == 1 &&
		  strcmp(l[0].url, "https://acme.example/acct/1") == 0,
	    "acme: url kept");
	cf_acme_accounts_free(l, n);
	cf_store_free(s);
	CHECK(file_has(db, der, (size_t)len) == 0,
	    "acme: the key's bytes not in the database");
	CHECK(
	    file_has(db, (const unsigned char *)"acme.example/acct/1", 19) == 1,
	    "acme: (the search finds what is there)");
	OPENSSL_free(der);
}

/* A sealed key copied into another account's row does not open there. */
static void
test_aad(void)
{
	char dir[512], db[600];
	struct cf_acme_account a = {0};
	struct cf_secret *key = NULL;
	struct cf_store *s;
	unsigned char *der = NULL;
	sqlite3 *h = NULL;
	int len;

	snprintf(dir, sizeof(dir), "%s/acme-aad", check_tmpdir());
	snprintf(db, sizeof(db), "%s/%s", dir, CF_STORE_DB);
	s = cf_store_open(dir, &err);
	len = new_key(&der);
	a.directory = "https://acme.example/dir";
	a.key_type = "p256";
	a.name = "one";
	CHECK(cf_store_acme_put(s, &a, der, (size_t)len, &err) == 0,
	    "aad: put one");
	a.name = "two";
	CHECK(cf_store_acme_put(s, &a, der, (size_t)len, &err) == 0,
	    "aad: put two");
	cf_store_free(s);
	CHECK(sqlite3_open(db, &h) == SQLITE_OK &&
		  sqlite3_exec(h,
		      "UPDATE acme_accounts SET sealed = (SELECT sealed FROM "
		      "acme_accounts WHERE name = 'one') WHERE name = 'two'",
		      NULL, NULL, NULL) == SQLITE_OK,
	    "aad: moved");
	sqlite3_close(h);
	s = cf_store_open(dir, &err);
	CHECK(cf_store_acme_key(s, "one", &key, &err) == 0, "aad: one opens");
	cf_secret_free(key);
	key = NULL;
	CHECK(cf_store_acme_key(s, "two", &key, &err) == -1 && key == NULL,
	    "aad: moved under another name does not open");
	CHECK(cf_store_acme_remove(s, "one", &err) == 0, "aad: removed");
	CHECK(cf_store_acme_key(s, "one", &key, &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "aad: removed is gone");
	CHECK(cf_store_acme_remove(s, "one", &err) == -1 &&
		  err.code == CF_E_NOTFOUND,
	    "aad: removed twice refused");
	cf_store_free(s);
	OPENSSL_free(der);
}

int
main(int argc, char **argv)
{
	check_init(argc, argv);
	if (check_test("round_trip"))
		test_round_trip();
	if (check_test("aad"))
		test_aad();
	return check_done();
}
