/* seal.h — short secrets encrypted at rest: AES-256-GCM under the server secret, bound to where they belong.
 */
#ifndef RUNORG_SEAL_H
#define RUNORG_SEAL_H

#include <stddef.h>

#define SEAL_KEY_SIZE 32 /* AES-256 */

/* Encrypts n bytes under key with a fresh random nonce. aad (not secret, not
 * stored) is authenticated with them: opening takes the same aad, so a sealed
 * text moved elsewhere (another database's key row) does not open. Returns
 * malloc'd text "g1:" + hex(nonce 12, tag 16, ciphertext n), or NULL. */
char *seal_text(const unsigned char key[SEAL_KEY_SIZE], const char *aad, const unsigned char *in, size_t n);

/* The plaintext of a sealed text into out (room for max bytes): its length,
 * or -1 when the text is malformed, altered, or was sealed under another key
 * or aad. */
long seal_open(const unsigned char key[SEAL_KEY_SIZE], const char *aad, const char *text, unsigned char *out,
               size_t max);

#endif
