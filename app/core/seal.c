/* seal.c — short secrets encrypted at rest: AES-256-GCM under the server secret, bound to where they belong.
 *
 * A nonce is 96 random bits, fresh for every seal: a server seals a few
 * thousand keys, far below the 2^32 seals per key that NIST allows random
 * nonces. */
#include "core/seal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <string.h>

#include "core/hex.h"
#include "core/xalloc.h"

#define PREFIX "g1:"
#define NONCE 12
#define TAG 16
#define MAX_PLAIN 1024

char *seal_text(const unsigned char key[SEAL_KEY_SIZE], const char *aad, const unsigned char *in, size_t n)
{
	if (n > MAX_PLAIN)
		return NULL;
	unsigned char buf[NONCE + TAG + MAX_PLAIN];
	unsigned char *nonce = buf, *tag = buf + NONCE, *ct = buf + NONCE + TAG;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;
	bool ok = c && RAND_bytes(nonce, NONCE) == 1 &&
	          EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	          EVP_EncryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	          EVP_EncryptUpdate(c, ct, &len, in, (int)n) == 1 &&
	          EVP_EncryptFinal_ex(c, ct + len, &fin) == 1 && (size_t)(len + fin) == n &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	char *out = NULL;
	if (ok) {
		out = xmalloc(strlen(PREFIX) + 2 * (NONCE + TAG + n) + 1);
		strcpy(out, PREFIX);
		hex_encode(buf, NONCE + TAG + n, out + strlen(PREFIX));
	}
	OPENSSL_cleanse(buf, sizeof buf);
	return out;
}

long seal_open(const unsigned char key[SEAL_KEY_SIZE], const char *aad, const char *text, unsigned char *out,
               size_t max)
{
	if (!text || strncmp(text, PREFIX, strlen(PREFIX)))
		return -1;
	text += strlen(PREFIX);
	unsigned char buf[NONCE + TAG + MAX_PLAIN];
	long k = hex_decode(text, strlen(text), buf, sizeof buf);
	if (k < NONCE + TAG || (size_t)(k - NONCE - TAG) > max)
		return -1;
	size_t n = (size_t)k - NONCE - TAG;
	unsigned char *nonce = buf, *tag = buf + NONCE, *ct = buf + NONCE + TAG;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, fin = 0;
	bool ok = c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	          EVP_DecryptUpdate(c, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	          EVP_DecryptUpdate(c, out, &len, ct, (int)n) == 1 &&
	          EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1 &&
	          EVP_DecryptFinal_ex(c, out + len, &fin) == 1 && (size_t)(len + fin) == n;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, n);
	return ok ? (long)n : -1;
}
