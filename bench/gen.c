/*
 * gen.c - the benchmark corpus, made fast and cached.
 *
 *   gen [-j JOBS] p12 N DIR   N PKCS#12 files into DIR/p12-N/
 *   gen [-j JOBS] pem N DIR   N certificate-only leaves into DIR/pem-N/
 *
 * DIR/ca/ holds one root and one intermediate CA (RSA-2048, SHA-256),
 * made on first use and reused afterwards, so every corpus made under DIR
 * chains to the same two certificates.  DIR/password holds the fixed
 * benchmark password.  A corpus is built in DIR/MODE-N.tmp and renamed to
 * DIR/MODE-N only when complete, so an existing DIR/MODE-N is a valid
 * cache and an interrupted run leaves nothing that looks finished.
 *
 * p12: each file holds one RSA-2048 leaf with its own fresh key, plus the
 * intermediate and the root (the two-certificate chain), written with
 * PKCS12_create_ex in the modern profile: key and certificate bags under
 * PBES2 (AES-256-CBC, PBKDF2-HMAC-SHA256), MAC HMAC-SHA256, all three
 * derivations at OpenSSL's default PKCS12_DEFAULT_ITER (2048) -- what
 * `openssl pkcs12 -export` writes on OpenSSL 3.
 *
 * pem: EC P-256 leaves (key generation is ~1000x cheaper than RSA-2048
 * and the keys are never written: these only fill a store), PEM_PER_FILE
 * leaves per file followed by the intermediate and the root, which stays
 * under certfleet's cap of 64 certificates per file.
 *
 * RSA key generation dominates, so -j forks workers; worker w makes items
 * w, w + JOBS, ...  OpenSSL 3 reseeds its DRBG in a forked child (it
 * compares the pid), so the workers' keys are independent.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define BENCH_PASSWORD "certfleet-bench"
#define PEM_PER_FILE 48 /* + intermediate + root = 50 <= 64 */
#define LEAF_DAYS 365
#define CA_DAYS 3650

struct ca {
	X509 *root, *inter;
	EVP_PKEY *root_key, *inter_key;
};

static void
die(const char *what)
{
	fprintf(stderr, "gen: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

/* A path into buf (size bytes); a path too long for it is fatal. */
static void __attribute__((format(printf, 3, 4)))
path_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		die("path too long");
}

/* Adds extension nid (OpenSSL config syntax value) to x. */
static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, ext, -1))
		die(value);
	X509_EXTENSION_free(ext);
}

/*
 * A certificate for key named cn, signed by issuer_key (issuer NULL:
 * self-signed).  ca: a CA certificate; otherwise a TLS server leaf with
 * cn as its one DNS name.  A random 127-bit serial keeps every
 * certificate distinct even across corpora.
 */
static X509 *
cert_new(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
    int ca, long days)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();
	char san[300];

	if (x == NULL || name == NULL || bn == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
		(const unsigned char *)"certfleet bench", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x,
		issuer ? X509_get_subject_name(issuer) : name) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) == NULL ||
	    !X509_set_pubkey(x, key))
		die("cannot build a certificate");
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier,
		    "keyid:always");
	if (ca) {
		add_ext(x, issuer ? issuer : x, NID_basic_constraints,
		    issuer ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE");
		add_ext(x, issuer ? issuer : x, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		snprintf(san, sizeof(san), "DNS:%s", cn);
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature,keyEncipherment");
		add_ext(x, issuer, NID_ext_key_usage, "serverAuth");
		add_ext(x, issuer, NID_subject_alt_name, san);
	}
	if (!X509_sign(x, issuer_key, EVP_sha256()))
		die("cannot sign a certificate");
	X509_NAME_free(name);
	BN_free(bn);
	return x;
}

/* Writes len bytes to path through a temporary file and a rename. */
static void
write_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	FILE *f;

	path_fmt(tmp, sizeof(tmp), "%s.part", path);
	if ((f = fopen(tmp, "wb")) == NULL ||
	    fwrite(data, 1, len, f) != len || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		perror(path);
		exit(1);
	}
}

static void
write_pem_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || !PEM_write_X509(f, x) || fclose(f) != 0)
		die(path);
}

static void
write_pem_key(const char *path, EVP_PKEY *k)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0)
		die(path);
}

static X509 *
read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static EVP_PKEY *
read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f != NULL)
		fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

/* The CA of dir/ca, made on first use. */
static void
ca_load(const char *dir, struct ca *ca)
{
	char d[4096], p[4200];

	path_fmt(d, sizeof(d), "%s/ca", dir);
	path_fmt(p, sizeof(p), "%s/inter.pem", d);
	if (access(p, R_OK) != 0) {
		if (mkdir(d, 0700) != 0 && errno != EEXIST)
			die(d);
		ca->root_key = EVP_RSA_gen(2048);
		ca->inter_key = EVP_RSA_gen(2048);
		if (ca->root_key == NULL || ca->inter_key == NULL)
			die("RSA key generation failed");
		ca->root = cert_new(ca->root_key, "certfleet bench root CA",
		    NULL, ca->root_key, 1, CA_DAYS);
		ca->inter = cert_new(ca->inter_key,
		    "certfleet bench intermediate CA", ca->root, ca->root_key,
		    1, CA_DAYS / 2);
		path_fmt(p, sizeof(p), "%s/root.key", d);
		write_pem_key(p, ca->root_key);
		path_fmt(p, sizeof(p), "%s/inter.key", d);
		write_pem_key(p, ca->inter_key);
		path_fmt(p, sizeof(p), "%s/root.pem", d);
		write_pem_cert(p, ca->root);
		/* Last: its presence says the CA is complete. */
		path_fmt(p, sizeof(p), "%s/inter.pem", d);
		write_pem_cert(p, ca->inter);
		return;
	}
	path_fmt(p, sizeof(p), "%s/root.pem", d);
	ca->root = read_cert(p);
	path_fmt(p, sizeof(p), "%s/root.key", d);
	ca->root_key = read_key(p);
	path_fmt(p, sizeof(p), "%s/inter.pem", d);
	ca->inter = read_cert(p);
	path_fmt(p, sizeof(p), "%s/inter.key", d);
	ca->inter_key = read_key(p);
}

/* PKCS#12 file i: fresh RSA-2048 leaf, key, intermediate, root. */
static void
make_p12(const struct ca *ca, const char *out, long i)
{
	char cn[64], fname[32], path[4200];
	STACK_OF(X509) *chain = sk_X509_new_null();
	EVP_PKEY *key = EVP_RSA_gen(2048);
	unsigned char *der = NULL;
	PKCS12 *p12;
	X509 *leaf;
	int len;

	if (key == NULL || chain == NULL)
		die("RSA key generation failed");
	snprintf(cn, sizeof(cn), "p12-%06ld.bench.certfleet.test", i);
	snprintf(fname, sizeof(fname), "bench-%06ld", i);
	leaf = cert_new(key, cn, ca->inter, ca->inter_key, 0, LEAF_DAYS);
	sk_X509_push(chain, ca->inter);
	sk_X509_push(chain, ca->root);
	/*
	 * mac_iter -1: no MAC here, because PKCS12_create's MAC is SHA-1;
	 * PKCS12_set_mac below adds the SHA-256 one `openssl pkcs12 -export`
	 * writes.  iter PKCS12_DEFAULT_ITER is the explicit form of 0.
	 */
	p12 = PKCS12_create_ex(BENCH_PASSWORD, fname, key, leaf, chain,
	    NID_aes_256_cbc, NID_aes_256_cbc, PKCS12_DEFAULT_ITER, -1, 0, NULL,
	    NULL);
	if (p12 == NULL ||
	    !PKCS12_set_mac(p12, BENCH_PASSWORD, -1, NULL, 0,
		PKCS12_DEFAULT_ITER, EVP_sha256()) ||
	    (len = i2d_PKCS12(p12, &der)) <= 0)
		die("PKCS12_create_ex failed");
	path_fmt(path, sizeof(path), "%s/%06ld.p12", out, i);
	write_file(path, der, (size_t)len);
	OPENSSL_free(der);
	PKCS12_free(p12);
	sk_X509_free(chain); /* the CA certificates stay ca's */
	X509_free(leaf);
	EVP_PKEY_free(key);
}

/* PEM file f: leaves f*PEM_PER_FILE ... (below n), intermediate, root. */
static void
make_pem(const struct ca *ca, const char *out, long f, long n)
{
	char cn[64], path[4200];
	BIO *b = BIO_new(BIO_s_mem());
	long i, end = (f + 1) * PEM_PER_FILE < n ? (f + 1) * PEM_PER_FILE : n;
	char *data;
	long len;

	if (b == NULL)
		die("out of memory");
	for (i = f * PEM_PER_FILE; i < end; i++) {
		EVP_PKEY *key = EVP_EC_gen("P-256");
		X509 *leaf;

		if (key == NULL)
			die("EC key generation failed");
		snprintf(cn, sizeof(cn), "pem-%06ld.bench.certfleet.test", i);
		leaf = cert_new(key, cn, ca->inter, ca->inter_key, 0,
		    LEAF_DAYS);
		if (!PEM_write_bio_X509(b, leaf))
			die("PEM write failed");
		X509_free(leaf);
		EVP_PKEY_free(key);
	}
	if (!PEM_write_bio_X509(b, ca->inter) ||
	    !PEM_write_bio_X509(b, ca->root))
		die("PEM write failed");
	len = BIO_get_mem_data(b, &data);
	path_fmt(path, sizeof(path), "%s/%04ld.pem", out, f);
	write_file(path, data, (size_t)len);
	BIO_free(b);
}

static int
usage(void)
{
	fputs("Usage: gen [-j JOBS] p12|pem N DIR\n", stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	char out[4200], final[4096], pwpath[4200];
	struct ca ca;
	long n, items, i, jobs = 1, w;
	int c, is_p12, status, failed = 0;
	pid_t pid;

	umask(077); /* keys, the password and the corpus: owner only */
	while ((c = getopt(argc, argv, "j:")) != -1) {
		if (c != 'j' || (jobs = strtol(optarg, NULL, 10)) < 1)
			return usage();
	}
	if (argc - optind != 3)
		return usage();
	is_p12 = strcmp(argv[optind], "p12") == 0;
	if (!is_p12 && strcmp(argv[optind], "pem") != 0)
		return usage();
	if ((n = strtol(argv[optind + 1], NULL, 10)) < 1)
		return usage();
	path_fmt(final, sizeof(final), "%s/%s-%ld", argv[optind + 2],
	    argv[optind], n);
	if (access(final, F_OK) == 0)
		return 0; /* cached */
	if (mkdir(argv[optind + 2], 0700) != 0 && errno != EEXIST)
		die(argv[optind + 2]);
	path_fmt(pwpath, sizeof(pwpath), "%s/password", argv[optind + 2]);
	write_file(pwpath, BENCH_PASSWORD "\n", strlen(BENCH_PASSWORD) + 1);
	memset(&ca, 0, sizeof(ca));
	ca_load(argv[optind + 2], &ca);
	path_fmt(out, sizeof(out), "%s.tmp", final);
	if (mkdir(out, 0700) != 0 && errno != EEXIST)
		die(out);

	items = is_p12 ? n : (n + PEM_PER_FILE - 1) / PEM_PER_FILE;
	fflush(NULL);
	for (w = 0; w < jobs; w++) {
		if ((pid = fork()) == -1)
			die("fork");
		if (pid != 0)
			continue;
		for (i = w; i < items; i += jobs) {
			if (is_p12)
				make_p12(&ca, out, i);
			else
				make_pem(&ca, out, i, n);
		}
		_exit(0);
	}
	for (w = 0; w < jobs; w++)
		if (wait(&status) == -1 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed)
		die("a worker failed");
	if (rename(out, final) != 0)
		die(final);
	X509_free(ca.root);
	X509_free(ca.inter);
	EVP_PKEY_free(ca.root_key);
	EVP_PKEY_free(ca.inter_key);
	return 0;
}
