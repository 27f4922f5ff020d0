/* SHA-256 and HMAC-SHA256 through libcrypto: config digests and webhook signatures must
 * match what every other implementation computes, so the RFC vectors. */
#include <config.h>

#include <string.h>

#include "dq.h"
#include "tap.h"

static const char *
hex(const unsigned char *md)
{
	static char out[65];

	dq_hex(md, 32, out);
	return out;
}

static const char *
sha256(const char *s)
{
	struct dq_sha256 c;
	unsigned char md[32];

	dq_sha256_init(&c);
	dq_sha256_update(&c, s, strlen(s));
	dq_sha256_final(&c, md);
	return hex(md);
}

static const char *
hmac(const void *key, size_t keylen, const char *data)
{
	unsigned char md[32];

	dq_hmac_sha256(key, keylen, data, strlen(data), md);
	return hex(md);
}

int
main(void)
{
	unsigned char key[131];

	/* FIPS 180-2 examples. */
	is_str(sha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "SHA-256 of nothing");
	is_str(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "SHA-256 of abc");
	is_str(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "SHA-256 of two blocks");
	{
		/* One message fed in pieces hashes as it does whole. */
		struct dq_sha256 c;
		unsigned char md[32];

		dq_sha256_init(&c);
		dq_sha256_update(&c, "abcdbcdecdefdefgefghfghighij", 28);
		dq_sha256_update(&c, "", 0);
		dq_sha256_update(&c, "hijkijkljklmklmnlmnomnopnopq", 28);
		dq_sha256_final(&c, md);
		is_str(hex(md), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
		    "SHA-256 of two blocks fed in pieces");
	}
	/* RFC 4231 test cases 1, 2, 6 and 7. */
	memset(key, 0x0b, 20);
	is_str(hmac(key, 20, "Hi There"),
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
	    "HMAC: a 20-byte key");
	is_str(hmac("Jefe", 4, "what do ya want for nothing?"),
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
	    "HMAC: a key shorter than the output");
	memset(key, 0xaa, sizeof key);
	is_str(hmac(key, sizeof key, "Test Using Larger Than Block-Size Key - Hash Key First"),
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
	    "HMAC: a key longer than a block is hashed first");
	is_str(hmac(key, sizeof key, "This is a test using a larger than block-size key "
	    "and a larger than block-size data. The key needs to be hashed before "
	    "being used by the HMAC algorithm."),
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
	    "HMAC: long key and long data");
	/* An empty secret is still HMAC, not a crash in the library. */
	is_str(hmac("", 0, ""),
	    "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
	    "HMAC: an empty key and message");
	return done_testing();
}
