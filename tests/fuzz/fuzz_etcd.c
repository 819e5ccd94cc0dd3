/*
 * fuzz_etcd.c - libFuzzer harness over the etcd client's decoding of
 * gateway replies (src/registry/etcd_msg.c: etcd_reply_error, then
 * etcd_reply_parse).  The first byte picks the call the reply answers
 * and whether its HTTP status was 200; the rest is the JSON body.  A
 * member, or whoever holds its address, may send anything: the decoder
 * accepts a reply whole or rejects it with a reason, and never reads an
 * int64 through a double.
 *
 * FUZZ-LINK: src/registry/etcd_msg.c
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../src/registry/etcd_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *ops[] = {"range", "put", "delete", "txn",
	    "lease grant", "lease keepalive", "lease revoke", "authenticate"};
	struct etcd_req req = {0};
	struct etcd_reply r;
	struct cf_error err;
	json_t *root;
	int grpc;

	if (size < 1)
		return 0;
	req.op = ops[data[0] % 8];
	root = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (root == NULL)
		return 0;
	if (etcd_reply_error(root, data[0] & 0x80 ? 400 : 200, req.op,
		"https://fuzz:1", &grpc, &err) == -1)
		(void)etcd_error_reason(&err);
	else if (etcd_reply_parse(root, &req, &r, &err) == 0) {
		struct etcd_reply *h = malloc(sizeof(*h));
		if (h == NULL)
			abort();
		*h = r;
		etcd_reply_free(h);
	} else {
		struct etcd_reply *h = malloc(sizeof(*h));
		if (h == NULL)
			abort();
		*h = r; /* a failed parse leaves what it had: freed alike */
		etcd_reply_free(h);
	}
	json_decref(root);
	return 0;
}
