/* hex.c — bytes as hexadecimal text and back, without branches on the digits' values. */
#include "core/hex.h"

void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

/* The value of one hex digit in the low bits, and bit 8 set when c is none.
 * Comparisons into masks, no branch: compilers make them setcc/sbb. */
static unsigned digit(unsigned char c)
{
	unsigned d = (unsigned)c - '0', l = ((unsigned)c | 0x20u) - 'a';
	unsigned is_d = 0u - (unsigned)(d < 10u), is_l = 0u - (unsigned)(l < 6u);
	return (d & is_d) | ((l + 10) & is_l) | (~(is_d | is_l) & 0x100u);
}

long hex_decode(const char *in, size_t len, unsigned char *out, size_t max)
{
	if (len % 2 || len / 2 > max)
		return -1;
	unsigned bad = 0;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned hi = digit((unsigned char)in[2 * i]), lo = digit((unsigned char)in[2 * i + 1]);
		bad |= (hi | lo) & 0x100u;
		out[i] = (unsigned char)((hi << 4) | (lo & 15));
	}
	return bad ? -1 : (long)(len / 2);
}
