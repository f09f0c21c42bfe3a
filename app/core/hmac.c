/* hmac.c — HMAC assertions (SPEC §6): the hash a key names, a MAC, and a proof checked in constant time. */
#include "core/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "core/hex.h"

enum hmac_alg hmac_alg_parse(const char *name)
{
	if (name && !strcmp(name, "SHA-1"))
		return HMAC_SHA1;
	if (name && !strcmp(name, "SHA-256"))
		return HMAC_SHA256;
	return HMAC_NONE;
}

const char *hmac_alg_name(enum hmac_alg alg)
{
	return alg == HMAC_SHA1 ? "SHA-1" : alg == HMAC_SHA256 ? "SHA-256" : "";
}

size_t hmac_size(enum hmac_alg alg)
{
	return alg == HMAC_SHA1 ? 20 : alg == HMAC_SHA256 ? 32 : 0;
}

int hmac_mac(enum hmac_alg alg, const unsigned char *key, size_t keylen, const char *msg, size_t len,
             unsigned char *out)
{
	const EVP_MD *md = alg == HMAC_SHA1 ? EVP_sha1() : alg == HMAC_SHA256 ? EVP_sha256() : NULL;
	unsigned int n = 0;
	if (!md || !HMAC(md, key, (int)keylen, (const unsigned char *)msg, len, out, &n))
		return -1;
	return n == hmac_size(alg) ? 0 : -1;
}

bool hmac_equal(const unsigned char *mac, size_t n, const char *proof, size_t len)
{
	/* The lengths are public (the key's hash is no secret): only a proof of
	 * the right length is compared. */
	if (n == 0 || n > HMAC_MAX_SIZE || len != 2 * n)
		return false;
	unsigned char given[HMAC_MAX_SIZE];
	long k = hex_decode(proof, len, given, sizeof given);
	int diff = CRYPTO_memcmp(mac, given, n);
	return (k == (long)n) & (diff == 0);
}

bool hmac_proof_ok(enum hmac_alg alg, const unsigned char *key, size_t keylen, const char *msg,
                   const char *proof)
{
	unsigned char mac[HMAC_MAX_SIZE];
	if (hmac_mac(alg, key, keylen, msg, strlen(msg), mac))
		return false;
	bool ok = hmac_equal(mac, hmac_size(alg), proof, strlen(proof));
	OPENSSL_cleanse(mac, sizeof mac);
	return ok;
}
