/* hash.h — FNV-1a over strings, for the workers' direct-mapped tables (not for secrets). */
#ifndef RUNORG_HASH_H
#define RUNORG_HASH_H

#define HASH_START 2166136261u

/* Folds the bytes of s into h (start from HASH_START); chain calls to hash several strings. */
static inline unsigned hash_str(unsigned h, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

#endif
