#!/usr/bin/env bash
# run.sh — `make fuzz`: builds the libFuzzer targets (fuzz_*.c) with clang,
# AddressSanitizer and UBSan into build/fuzz, runs each for FUZZ_SECONDS
# (default 30) on its corpus, and reports runs, corpus size and crashes.
#
#   FUZZ_SECONDS=300 make fuzz       longer runs
#   FUZZ_TARGETS="clock uri" make fuzz
#
# The seeds are tests/fuzz/corpus/<target>/; what a run adds stays in
# build/fuzz/corpus/<target>/. A crash is saved as build/fuzz/crash-<target>-*:
# copy it into tests/fuzz/regressions/<target>/ (tests/unit/test_fuzz.c replays
# that folder in every `make test`) and fix the code.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
OUT=build/fuzz
SECONDS_EACH=${FUZZ_SECONDS:-30}
TARGETS=${FUZZ_TARGETS:-clock uri label body}
CC=${FUZZ_CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-std=gnu11 -g -O1 -Wall -Wextra -pthread -Iapp $(pkg-config --cflags libmariadb json-c inih libcrypto)"
LIBS="$(pkg-config --libs libmariadb json-c inih libcrypto) -lfcgi -pthread"

mkdir -p "$OUT/obj"
# The application's code with coverage for libFuzzer (every app/**/*.c but the main.c files).
objs=()
for src in $(find app -name '*.c' ! -name main.c | sort); do
	obj=$OUT/obj/${src//\//_}.o
	if [[ ! -e $obj || $src -nt $obj || -n $(find app -name '*.h' -newer "$obj" | head -n 1) ]]; then
		$CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || exit 1
	fi
	objs+=("$obj")
done

passed=0
failed=0
for t in $TARGETS; do
	bin=$OUT/fuzz_$t
	$CC $CFLAGS $SAN -fsanitize=fuzzer -Itests/fuzz "tests/fuzz/fuzz_$t.c" "${objs[@]}" $LIBS -o "$bin" || exit 1
	corpus=$OUT/corpus/$t
	mkdir -p "$corpus" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t"
	dict=()
	[[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
	log=$OUT/$t.log
	echo "== fuzz_$t: ${SECONDS_EACH}s"
	# close_fd_mask=2: the handlers' log lines ("server gone") would drown the
	# output; libFuzzer and the sanitizers keep a stderr of their own.
	"$bin" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -close_fd_mask=2 -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="$OUT/crash-$t-" "${dict[@]}" \
		"$corpus" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" >"$log" 2>&1
	rc=$?
	runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
	size=$(find "$corpus" -type f | wc -l)
	crashes=$(find "$OUT" -maxdepth 1 -name "crash-$t-*" -o -maxdepth 1 -name "leak-$t-*" -o -maxdepth 1 -name "timeout-$t-*" | wc -l)
	echo "fuzz_$t: ${runs:-?} runs, corpus $size inputs, exit $rc, artifacts $crashes"
	if ((rc != 0)); then
		grep -E -A25 'ERROR|property does not hold|SUMMARY' "$log" | head -n 60
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
done
echo "$passed passed, $failed failed"
((failed == 0))
