/* id.c — 11-character identifiers [0-9A-Za-z] that sort by creation time. */
#include "core/id.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define ID_EPOCH_MS 1577836800000ull /* 2020-01-01T00:00:00Z */
#define ID_SEQ_COUNT 3844u           /* 62 * 62: values of a 2-character field */

/* Writes v as exactly `width` base-62 digits, most significant first
 * (higher digits beyond the width are dropped). */
static void put62(char *out, int width, uint64_t v)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = alphabet[v % 62];
		v /= 62;
	}
}

void id_make(char out[ID_LEN + 1], uint64_t ms, uint32_t node, uint32_t seq)
{
	put62(out, 7, ms);
	put62(out + 7, 2, node % ID_SEQ_COUNT);
	put62(out + 9, 2, seq % ID_SEQ_COUNT);
	out[ID_LEN] = 0;
}

/* Shared by all threads of the process, guarded by `lock`: the node, and the
 * (ms, seq) of the last identifier made. Each new identifier is strictly above
 * the last one: same or earlier millisecond (clock stepped back) → next seq;
 * seq exhausted → borrow the next millisecond. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t node;
static bool started;
static uint64_t last_ms;
static uint32_t last_seq;

void id_set_node(uint32_t n)
{
	pthread_mutex_lock(&lock);
	node = n % ID_SEQ_COUNT;
	pthread_mutex_unlock(&lock);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	return ms > ID_EPOCH_MS ? ms - ID_EPOCH_MS : 0;
}

void id_next(char out[ID_LEN + 1])
{
	uint64_t now = now_ms();
	pthread_mutex_lock(&lock);
	if (!started || now > last_ms) {
		started = true;
		last_ms = now;
		last_seq = 0;
	} else if (++last_seq >= ID_SEQ_COUNT) {
		last_ms++;
		last_seq = 0;
	}
	id_make(out, last_ms, node, last_seq);
	pthread_mutex_unlock(&lock);
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static size_t alnum_prefix(const char *s, size_t max)
{
	size_t n = 0;
	while (n <= max && is_alnum(s[n]))
		n++;
	return n;
}

bool id_valid(const char *s)
{
	return s && alnum_prefix(s, ID_LEN) == ID_LEN && s[ID_LEN] == 0;
}

bool id_custom_valid(const char *s)
{
	if (!s)
		return false;
	size_t n = alnum_prefix(s, ID_CUSTOM_MAX);
	return n >= 1 && n <= ID_CUSTOM_MAX && s[n] == 0;
}

bool id_group_valid(const char *s)
{
	return s && (id_valid(s) || id_custom_valid(s));
}
