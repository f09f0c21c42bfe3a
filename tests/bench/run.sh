#!/usr/bin/env bash
# run.sh — `make bench`: starts a stack like `make start` (its own var dir and
# port), measures what users feel against baselines of the same run, then the
# reads again on a stack started with RUNORG_CACHE_KIB=0, prints one table and
# writes it to var/bench/latest.md. It never fails the build:
# a figure that cannot be measured is reported as such.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 0
PY=/usr/bin/python3

mkdir -p var/bench
export RUNORG_VAR=${RUNORG_BENCH_VAR:-/tmp/runorg-bench}
RUNORG_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RUNORG_PORT RUNORG_TEST_MODE=1
trap 'bash conf/stack.sh stop >/dev/null 2>&1' EXIT
bash conf/stack.sh stop >/dev/null 2>&1
rm -rf "$RUNORG_VAR"
if ! bash conf/stack.sh start >var/bench/stack.log 2>&1; then
	echo "bench: the stack did not start (var/bench/stack.log)"
	exit 0
fi
RUNORG_URL=http://127.0.0.1:$RUNORG_PORT RUNORG_ROOT=$ROOT "$PY" tests/bench/bench.py | tee var/bench/latest.md
# The reads again on a stack without the workers' caches: their path through MariaDB.
bash conf/stack.sh stop >/dev/null 2>&1
rm -rf "$RUNORG_VAR"
if ! RUNORG_CACHE_KIB=0 bash conf/stack.sh start >>var/bench/stack.log 2>&1; then
	echo "bench: the stack without caches did not start (var/bench/stack.log)"
	exit 0
fi
RUNORG_URL=http://127.0.0.1:$RUNORG_PORT RUNORG_ROOT=$ROOT RUNORG_BENCH_ONLY=reads "$PY" tests/bench/bench.py |
	tee -a var/bench/latest.md
exit 0
