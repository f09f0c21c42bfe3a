/* hmac.h — HMAC assertions (SPEC §6): the hash a key names, a MAC, and a proof checked in constant time. */
#ifndef RUNORG_HMAC_H
#define RUNORG_HMAC_H

#include <stdbool.h>
#include <stddef.h>

enum hmac_alg { HMAC_NONE, HMAC_SHA1, HMAC_SHA256 };

#define HMAC_MAX_SIZE 32 /* bytes of the longest MAC (SHA-256) */

/* "SHA-1" or "SHA-256" (the API's names); HMAC_NONE for anything else. */
enum hmac_alg hmac_alg_parse(const char *name);
const char *hmac_alg_name(enum hmac_alg alg);
/* Bytes of a MAC: 20 or 32 (0 for HMAC_NONE). */
size_t hmac_size(enum hmac_alg alg);

/* HMAC(key, msg) into out (hmac_size(alg) bytes). Returns 0, or -1. */
int hmac_mac(enum hmac_alg alg, const unsigned char *key, size_t keylen, const char *msg, size_t len,
             unsigned char *out);

/* Whether `proof` (len hex digits, either case) spells the n bytes of mac.
 * Constant time: every digit is decoded and every byte compared
 * (CRYPTO_memcmp) whatever their values, so the time depends on len and n
 * alone, never on how many leading digits were right. tests/unit/test_hmac.c
 * measures it. */
bool hmac_equal(const unsigned char *mac, size_t n, const char *proof, size_t len);

/* Whether proof is the hex HMAC of msg under key: hmac_mac, then hmac_equal. */
bool hmac_proof_ok(enum hmac_alg alg, const unsigned char *key, size_t keylen, const char *msg,
                   const char *proof);

#endif
