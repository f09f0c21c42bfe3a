#!/usr/bin/env bash
# run.sh — `make test-faults`: the fault scenarios (tests/faults/test_*.py), each
# on a stack of its own that it breaks on purpose, then checks the invariants.
# Prints the figures of each scenario, then exactly one line "N passed, N failed";
# exits 1 if anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3

if ! make -s all; then
	echo "FAILED: build"
	echo "0 passed, 1 failed"
	exit 1
fi

out=$(mktemp -d /tmp/runorg-faults.XXXXXX)
export RUNORG_FAULTS_REPORT=$out/report
: >"$RUNORG_FAULTS_REPORT"
: >"$RUNORG_FAULTS_REPORT.rows"
timeout 900 "$PY" -m pytest -q -p no:cacheprovider -c tests/faults/pytest.ini tests/faults "$@" 2>&1 | tee "$out/pytest.out"
rc=${PIPESTATUS[0]}
summary=$(grep -E '[0-9]+ (passed|failed|errors?|skipped|deselected|no tests ran).* in [0-9.]+s' "$out/pytest.out" | tail -n 1)
count() { echo "$summary" | grep -Eo "[0-9]+ $1" | awk '{ n += $1 } END { print n + 0 }'; }
passed=$(count passed)
failed=$(($(count failed) + $(count 'errors?')))
if ((rc != 0 && failed == 0)); then
	echo "FAILED: pytest exited with status $rc"
	failed=1
fi
echo
echo "== fault scenarios"
cat "$RUNORG_FAULTS_REPORT"
echo
# The same figures for every scenario, one row each.
"$PY" - "$RUNORG_FAULTS_REPORT.rows" <<'EOF_TABLE'
import json, sys
rows = []
try:
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
except OSError:
    pass
rows.sort(key=lambda r: r["n"])
head = ["#", "scenario", "acknowledged", "applied", "lost", "duplicated", "statuses seen", "recovery"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    print("| " + " | ".join(str(x) for x in (r["n"], r["scenario"], r["acknowledged"], r["applied"], r["lost"],
                                               r["duplicated"], r["statuses"], r["recovery"])) + " |")
EOF_TABLE
rm -rf "$out"
echo "$passed passed, $failed failed"
((failed == 0))
