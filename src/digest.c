/* digest.c: SHA-256 and HMAC-SHA256 through libcrypto, which libcurl
 * already loads; configuration digests, run ids and webhook signatures. */
#include <config.h>

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dq.h"

/* libcrypto fails here only when it cannot allocate or finds no
 * SHA-256, which leaves nothing to do but stop. */
static void
need(int ok)
{
	if (!ok)
		dq_die(DQ_EXIT_SOFTWARE, "libcrypto: SHA-256 failed");
}

void
dq_sha256_init(struct dq_sha256 *c)
{
	need((c->md = EVP_MD_CTX_new()) != NULL);
	need(EVP_DigestInit_ex(c->md, EVP_sha256(), NULL));
}

void
dq_sha256_update(struct dq_sha256 *c, const void *data, size_t len)
{
	need(EVP_DigestUpdate(c->md, data, len));
}

void
dq_sha256_final(struct dq_sha256 *c, unsigned char out[32])
{
	need(EVP_DigestFinal_ex(c->md, out, NULL));
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

void
dq_hex(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
dq_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
    unsigned char out[32])
{
	/* A zero-length key is legal in HMAC; libcrypto wants a pointer. */
	static const unsigned char none;

	need(keylen <= INT_MAX);
	need(HMAC(EVP_sha256(), keylen ? key : &none, (int)keylen, data, len,
	    out, NULL) != NULL);
}
