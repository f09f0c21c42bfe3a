#!/usr/bin/env bash
# run.sh — `make test`: builds, starts an isolated stack (free port, temp var dir,
# test mode, short sync timeout), runs the C unit tests and the API tests, stops
# the stack, and ends with exactly one line "N passed, N failed".
# Exits 1 if anything failed, errored, or the build or the stack did not come up
# (each of those counts as one failure in the closing line).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/suite.sh
source tests/lib/suite.sh # PY, build_or_exit, pytest_tally

passed=0
failed=0

# --- build -------------------------------------------------------------------

build_or_exit all unit-build

# --- an isolated stack ---------------------------------------------------------

RUNORG_VAR=$(mktemp -d /tmp/runorg.XXXXXX) # short: unix socket paths must stay < 100 chars
RUNORG_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RUNORG_VAR RUNORG_PORT RUNORG_TEST_MODE=1 RUNORG_SYNC_TIMEOUT_MS=1500
# A small per-token bound on waits, so that tests can go past it (README, "Limits").
export RUNORG_MAX_WAITS_PER_TOKEN=200
BUILD=${RUNORG_BUILD:-$ROOT/build} # make test SANITIZE=1: build/sanitize
# Sanitizer reports (make test SANITIZE=1) go to files, counted at the end: a
# worker that dies of one is replaced by the master, so a failing request alone
# would not show it.
export ASAN_OPTIONS=log_path=$RUNORG_VAR/sanitizer:detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=log_path=$RUNORG_VAR/sanitizer:print_stacktrace=1:halt_on_error=1

# Stops the stack; removes the var dir, or keeps it (for its logs) after a failure.
finish() {
	[[ -n ${RUNORG_VAR:-} && -d $RUNORG_VAR ]] || return 0
	bash "$ROOT/conf/stack.sh" stop >/dev/null 2>&1
	if ((failed > 0)); then
		echo "logs kept in $RUNORG_VAR/log"
	else
		rm -rf "$RUNORG_VAR"
	fi
	RUNORG_VAR=""
}
trap finish EXIT
trap 'exit 130' INT TERM

stack_up=1
if ! bash conf/stack.sh start; then
	echo "FAILED: the stack did not start"
	stack_up=0
	failed=$((failed + 1))
fi

# --- unit tests (cmocka) -------------------------------------------------------

# sum_of WORD FILE: the sum of N over cmocka's "[  WORD  ] N test(s)" lines ("" if none).
sum_of() {
	grep -Eo "^\[  $1  \] [0-9]+ test" "$2" | awk '{ n += $(NF - 1) } END { if (NR) print n }'
}

out=$RUNORG_VAR/unit.out
for src in tests/unit/test_*.c; do
	[[ -e $src ]] || continue
	bin=$BUILD/tests/$(basename "$src" .c)
	echo "== $bin"
	timeout 120 "$bin" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sum_of PASSED "$out")
	f=$(sum_of FAILED "$out")
	if [[ -z $p && -z $f ]]; then # no summary (crashed early?): judge by the exit code
		if ((rc == 0)); then p=1; else f=1; fi
	fi
	p=${p:-0} f=${f:-0}
	if ((rc != 0 && f == 0)); then # a summary, then a crash or a timeout
		echo "FAILED: $bin exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

# --- layers: the processor and runorgctl link nothing of the HTTP front ----------

echo "== make check-layers"
if bash tests/check-layers.sh "$BUILD"; then # what make check-layers runs
	passed=$((passed + 1))
else
	echo "FAILED: make check-layers"
	failed=$((failed + 1))
fi

# --- API tests (pytest, over HTTP through lighttpd) ------------------------------

if ((stack_up)); then
	export RUNORG_URL=http://127.0.0.1:$RUNORG_PORT RUNORG_ROOT=$ROOT
	out=$RUNORG_VAR/pytest.out
	timeout 1800 "$PY" -m pytest -q -p no:cacheprovider tests/api 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	pytest_tally "$out" "$rc" 5 # 5: no tests collected, not a failure
	passed=$((passed + PYTEST_PASSED))
	failed=$((failed + PYTEST_FAILED))
fi

# --- sanitizer reports (make test SANITIZE=1) -------------------------------------

for report in "$RUNORG_VAR"/sanitizer.*; do
	[[ -e $report ]] || continue
	echo "FAILED: sanitizer report $report"
	head -n 40 "$report"
	failed=$((failed + 1))
done

finish
echo "$passed passed, $failed failed"
((failed == 0))
