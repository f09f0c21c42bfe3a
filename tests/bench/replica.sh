#!/usr/bin/env bash
# replica.sh — `make bench-replica`: two web hosts of one database
# (tests/replica/stack.sh: front A reading the primary, front B reading a
# MariaDB replica), R through each in the same run (with the workers' caches,
# then through MariaDB), and the sync overshoot across hosts. Prints one table,
# also in var/bench/replica.md. Never fails the build.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 0
PY=/usr/bin/python3

mkdir -p var/bench
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export RUNORG_VAR=${RUNORG_BENCH_VAR:-/tmp/runorg-bench-rep}
RUNORG_PORT=$(free_port)
RUNORG_MYSQL_PORT=$(free_port)
RUNORG_REPLICA_PORT=$(free_port)
RUNORG_B_PORT=$(free_port)
export RUNORG_PORT RUNORG_MYSQL_PORT RUNORG_REPLICA_PORT RUNORG_B_PORT RUNORG_TEST_MODE=1
# B reads the replica through its unix socket, as A reads the primary: the
# ratio compares the servers, not TCP with a socket (make test-replica uses TCP).
export RUNORG_B_READ_SOCKET=${RUNORG_B_READ_SOCKET:-1}
export RUNORG_A_URL=http://127.0.0.1:$RUNORG_PORT RUNORG_B_URL=http://127.0.0.1:$RUNORG_B_PORT RUNORG_ROOT=$ROOT
STACK=tests/replica/stack.sh
trap 'bash $STACK stop >/dev/null 2>&1' EXIT
bash $STACK stop >/dev/null 2>&1
rm -rf "$RUNORG_VAR"
if ! bash $STACK start >var/bench/replica-stack.log 2>&1; then
	echo "bench-replica: the stack did not start (var/bench/replica-stack.log)"
	exit 0
fi
{
	echo "# make bench-replica — $(date '+%Y-%m-%d %H:%M:%S'), $(nproc) cores"
	echo
	echo "| Figure | Value | Unit | Runs / samples (same run) | Ratio | Target |"
	echo "|---|---|---|---|---|---|"
	"$PY" tests/bench/replica.py
	if RUNORG_CACHE_KIB=0 bash $STACK fronts >>var/bench/replica-stack.log 2>&1; then
		RUNORG_BENCH_ONLY=reads RUNORG_BENCH_LABEL=", through MariaDB (cache_kib = 0)" "$PY" tests/bench/replica.py
	else
		echo "| R through MariaDB | n/a: the fronts did not restart (var/bench/replica-stack.log) | | | | |"
	fi
} | tee var/bench/replica.md
exit 0
