/* hex.h — bytes as hexadecimal text and back, without branches on the digits' values. */
#ifndef RUNORG_HEX_H
#define RUNORG_HEX_H

#include <stddef.h>

/* n bytes as 2n lower-case hex digits and a NUL, into out (2n + 1 bytes). */
void hex_encode(const unsigned char *in, size_t n, char *out);

/* len hex digits (either case) into len / 2 bytes at out (room for max bytes).
 * Returns the number of bytes, or -1 when len is odd, too large, or a
 * character is not a hex digit. The time taken depends on len only, not on
 * the digits: hex text that holds a secret (a key) leaks nothing through it. */
long hex_decode(const char *in, size_t len, unsigned char *out, size_t max);

#endif
