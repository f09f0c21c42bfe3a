#!/usr/bin/env bash
# run.sh — `make test-replica`: builds, starts two web hosts of one database on
# free ports and a temporary var dir (tests/replica/stack.sh: the primary with
# front A, a MariaDB replica with front B), runs tests/replica (pytest), stops
# everything, and ends with exactly one line "N passed, N failed".
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/suite.sh
source tests/lib/suite.sh # PY, build_or_exit, pytest_tally

build_or_exit all

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RUNORG_VAR=$(mktemp -d /tmp/runorg-rep.XXXXXX) # short: unix socket paths must stay < 100 chars
RUNORG_PORT=$(free_port)
RUNORG_MYSQL_PORT=$(free_port)
RUNORG_REPLICA_PORT=$(free_port)
RUNORG_B_PORT=$(free_port)
export RUNORG_VAR RUNORG_PORT RUNORG_MYSQL_PORT RUNORG_REPLICA_PORT RUNORG_B_PORT
export RUNORG_TEST_MODE=1 RUNORG_SYNC_TIMEOUT_MS=1500 RUNORG_DB_READ_STALE_MS=300

failed=0
passed=0
finish() {
	[[ -n ${RUNORG_VAR:-} && -d $RUNORG_VAR ]] || return 0
	bash tests/replica/stack.sh stop >/dev/null 2>&1
	if ((failed > 0)); then
		echo "logs kept in $RUNORG_VAR/log and $RUNORG_VAR/b/log"
	else
		rm -rf "$RUNORG_VAR"
	fi
	RUNORG_VAR=""
}
trap finish EXIT
trap 'exit 130' INT TERM

if ! timeout 300 bash tests/replica/stack.sh start; then
	echo "FAILED: the replicated stack did not start"
	failed=1
	finish
	echo "0 passed, 1 failed"
	exit 1
fi

export RUNORG_A_URL=http://127.0.0.1:$RUNORG_PORT RUNORG_B_URL=http://127.0.0.1:$RUNORG_B_PORT RUNORG_ROOT=$ROOT
out=$RUNORG_VAR/pytest.out
timeout 600 "$PY" -m pytest -q -p no:cacheprovider -c tests/replica/pytest.ini tests/replica 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
pytest_tally "$out" "$rc"
passed=$PYTEST_PASSED failed=$PYTEST_FAILED
finish
echo "$passed passed, $failed failed"
((failed == 0))
