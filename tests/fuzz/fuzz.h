/* fuzz.h — what the fuzz targets share: a check that aborts (libFuzzer then
 * keeps the input as a crash), and the switch that lets tests/unit/test_fuzz.c
 * replay every target's corpus and regressions without libFuzzer.
 *
 * Each target defines `int fuzz_<name>(const uint8_t *data, size_t size)`;
 * built by tests/fuzz/run.sh it also gets LLVMFuzzerTestOneInput. */
#ifndef RUNORG_FUZZ_H
#define RUNORG_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                                     \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

#ifdef FUZZ_REPLAY
#define FUZZ_ENTRY(fn)
#else
#define FUZZ_ENTRY(fn)                                                                                       \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                         \
	{                                                                                                    \
		return fn(data, size);                                                                       \
	}
#endif

#endif
