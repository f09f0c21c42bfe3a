# suite.sh — sourced by the run scripts of the pytest suites (tests/run.sh,
# tests/faults/run.sh, tests/replica/run.sh), from the repository's root: the
# build before a run, and the counts of pytest's closing line.

PY=/usr/bin/python3 # Debian's python, which has python3-pytest (not a pyenv one on PATH)

# build_or_exit TARGET...: make -s TARGET...; if the build fails, the closing
# line of a failed build ("0 passed, 1 failed") and exit 1.
build_or_exit() {
	if ! make -s "$@"; then
		echo "FAILED: build"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

# pytest_tally OUT RC [RC_OK]: the counts of pytest's summary, the last line of
# OUT like "3 failed, 40 passed, 1 error in 12.34s", into PYTEST_PASSED and
# PYTEST_FAILED (failures and errors). An exit status RC other than 0 (and
# RC_OK) with no failure counted (interrupted, internal or usage error) counts
# as one failure, said on a FAILED line.
pytest_tally() {
	local out=$1 rc=$2 ok=${3:-0} summary
	summary=$(grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected|no tests ran).* in [0-9.]+s' "$out" | tail -n 1)
	PYTEST_PASSED=$(pytest_count "$summary" passed)
	PYTEST_FAILED=$(($(pytest_count "$summary" failed) + $(pytest_count "$summary" 'errors?')))
	if ((rc != 0 && rc != ok && PYTEST_FAILED == 0)); then
		echo "FAILED: pytest exited with status $rc"
		PYTEST_FAILED=1
	fi
}

# pytest_count SUMMARY WORD: the sum of the N of each "N WORD" in SUMMARY (0 if none).
pytest_count() { echo "$1" | grep -Eo "[0-9]+ $2" | awk '{ n += $1 } END { print n + 0 }'; }
