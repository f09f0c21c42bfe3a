#!/usr/bin/env bash
# run.sh — `make test-faults`: the fault scenarios (tests/faults/test_*.py), each
# on a stack of its own that it breaks on purpose, then checks the invariants.
# Prints the figures of each scenario, then exactly one line "N passed, N failed";
# exits 1 if anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/suite.sh
source tests/lib/suite.sh # PY, build_or_exit, pytest_tally

build_or_exit all

out=$(mktemp -d /tmp/runorg-faults.XXXXXX)
export RUNORG_FAULTS_REPORT=$out/report
: >"$RUNORG_FAULTS_REPORT"
: >"$RUNORG_FAULTS_REPORT.rows"
timeout 900 "$PY" -m pytest -q -p no:cacheprovider -c tests/faults/pytest.ini tests/faults "$@" 2>&1 | tee "$out/pytest.out"
rc=${PIPESTATUS[0]}
pytest_tally "$out/pytest.out" "$rc"
passed=$PYTEST_PASSED failed=$PYTEST_FAILED
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
