#!/usr/bin/env bash
# stack.sh — two web hosts of one RunOrg database on this machine, for
# make test-replica and make bench-replica (README, "Scaling out"):
#
#   the primary  conf/stack.sh with RUNORG_BINLOG=1: MariaDB (binary log, GTID,
#                also on 127.0.0.1:$RUNORG_MYSQL_PORT), runorg-processor, and
#                front A (runorg-fcgi + lighttpd on $RUNORG_PORT), all reading it;
#   a replica    a second mariadbd from Debian's packages, data in $RUNORG_VAR/replica,
#                listening on 127.0.0.1:$RUNORG_REPLICA_PORT, following the primary
#                by GTID (MariaDB's own replication, nothing of RunOrg's);
#   front B      runorg-fcgi + lighttpd on $RUNORG_B_PORT (conf/stack.sh with
#                RUNORG_FRONT_ONLY=1, under $RUNORG_VAR/b), writing to the primary
#                and reading from the replica (db_read_host, db_read_port; or with
#                RUNORG_B_READ_SOCKET=1, db_read_socket, as front A reads the
#                primary through its socket)
#
#   tests/replica/stack.sh start     start what is not running; returns once the
#                                    replica has caught up and both fronts answer
#   tests/replica/stack.sh stop      stop everything (safe when nothing runs)
#   tests/replica/stack.sh replica   start the replica alone (after a kill -9)
#   tests/replica/stack.sh fronts    restart runorg-fcgi of A and of B (with the
#                                    RUNORG_* settings of this call, e.g. RUNORG_CACHE_KIB=0)
#   tests/replica/stack.sh rsql ...  mariadb as root on the replica
#
# Every RUNORG_* variable reaches both fronts. Default ports: 18585..18588.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VAR=$(realpath -m "${RUNORG_VAR:-/tmp/runorg-replica}")
export RUNORG_VAR=$VAR
export RUNORG_PORT=${RUNORG_PORT:-18585}
export RUNORG_MYSQL_PORT=${RUNORG_MYSQL_PORT:-18586}
REPLICA_PORT=${RUNORG_REPLICA_PORT:-18587}
B_PORT=${RUNORG_B_PORT:-18588}
RUN=$VAR/run
LOG=$VAR/log
RDATA=$VAR/replica/mysql
RSOCK=$RUN/replica.sock
PATH=$PATH:/usr/sbin:/sbin
STACK=$ROOT/conf/stack.sh

say() { echo "replica: $*"; }
fail() {
	echo "replica: $1" >&2
	[[ -f ${2:-} ]] && tail -n 30 "$2" >&2
	exit 1
}

psql() { mariadb --no-defaults --socket="$RUN/mysql.sock" -uroot "$@"; }
rsql() { mariadb --no-defaults --socket="$RSOCK" -uroot "$@"; }

pid_of() {
	local pid=""
	[[ -f $RUN/$1.pid ]] && read -r pid <"$RUN/$1.pid"
	[[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
	return 0
}
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for() {
	local tries=$(($1 * 10))
	shift
	while ((tries-- > 0)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

primary() { env RUNORG_BINLOG=1 bash "$STACK" "$@"; }

# Front B: the environment of a front whose reads go to the replica.
front_b() {
	local read=(RUNORG_DB_READ_HOST=127.0.0.1 RUNORG_DB_READ_PORT="$REPLICA_PORT")
	[[ ${RUNORG_B_READ_SOCKET:-0} != 1 ]] || read=(RUNORG_DB_READ_SOCKET="$RSOCK")
	env RUNORG_VAR="$VAR/b" RUNORG_PORT="$B_PORT" RUNORG_FRONT_ONLY=1 RUNORG_DB_SOCKET="$RUN/mysql.sock" \
		"${read[@]}" RUNORG_KEY_SECRET_FILE="$VAR/key-secret" bash "$STACK" "$@"
}

# The accounts the replica needs, made on the primary (and so replicated too):
# replication itself; the programs' account over TCP (the replica listens on
# 127.0.0.1); SLAVE MONITOR, so that /status can show SHOW SLAVE STATUS.
accounts() {
	psql -e "CREATE USER IF NOT EXISTS repl@'127.0.0.1' IDENTIFIED BY 'repl';
		GRANT REPLICATION SLAVE ON *.* TO repl@'127.0.0.1';
		CREATE USER IF NOT EXISTS runorg@'127.0.0.1';
		GRANT ALL PRIVILEGES ON runorg.* TO runorg@'127.0.0.1';
		GRANT SLAVE MONITOR ON *.* TO runorg@localhost, runorg@'127.0.0.1'" >/dev/null
}

replica_ready() {
	alive "$RPID" || fail "the replica's mariadbd exited" "$LOG/replica.log"
	rsql -e 'select 1' >/dev/null 2>&1
}

start_replica() {
	alive "$(pid_of replica)" && return 0
	mkdir -p "$RDATA" "$RUN" "$LOG"
	if [[ ! -d $RDATA/mysql ]]; then
		say "initializing the replica in $RDATA"
		mariadb-install-db --no-defaults --force --datadir="$RDATA" --auth-root-authentication-method=normal \
			--skip-test-db --user="$(id -un)" >>"$LOG/replica-install.log" 2>&1 ||
			fail "mariadb-install-db failed" "$LOG/replica-install.log"
	fi
	say "starting the replica on 127.0.0.1:$REPLICA_PORT"
	# read_only: RunOrg's account cannot write there (root, who replicates, can).
	# relay_log_recovery + GTID positions in mysql.gtid_slave_pos (InnoDB, in
	# the transaction of what they applied): a crash applies nothing twice and
	# loses nothing the primary still has, so the replica need not flush its
	# redo log at every commit (innodb_flush_log_at_trx_commit=2): a commit
	# lost with the machine is fetched from the primary again.
	setsid nohup mariadbd --no-defaults --datadir="$RDATA" --socket="$RSOCK" --pid-file="$RUN/replica.pid" \
		--port="$REPLICA_PORT" --bind-address=127.0.0.1 --server-id=2 --read-only=1 \
		--relay-log="$RDATA/relay" --relay-log-recovery=1 --log-error="$LOG/replica.log" --user="$(id -un)" \
		--innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 --max-connections=1000 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci </dev/null >>"$LOG/replica.log" 2>&1 &
	RPID=$!
	echo "$RPID" >"$RUN/replica.pid"
	wait_for 30 replica_ready || fail "the replica did not answer within 30 s" "$LOG/replica.log"
	if [[ -z $(rsql -N -e 'SHOW SLAVE STATUS') ]]; then
		# The primary's binary log goes back to its first start (a new
		# RUNORG_VAR): the replica starts from nothing and replays it all.
		rsql -e "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$RUNORG_MYSQL_PORT,
			MASTER_USER='repl', MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
			START SLAVE"
	fi
}

# The replica has applied everything the primary had logged when this was called.
wait_caught_up() {
	local gtid
	gtid=$(psql -N -e 'SELECT @@gtid_binlog_pos')
	local r
	r=$(rsql -N -e "SELECT MASTER_GTID_WAIT('$gtid', $1)")
	[[ $r == 0 ]] || fail "the replica did not reach $gtid within $1 s" "$LOG/replica.log"
}

cmd_start() {
	mkdir -p "$VAR"
	primary start
	accounts
	start_replica
	wait_caught_up 60
	front_b start
	say "front A (primary) on http://127.0.0.1:$RUNORG_PORT, front B (replica) on http://127.0.0.1:$B_PORT"
}

stop_replica() {
	local pid
	pid=$(pid_of replica)
	if alive "$pid"; then
		say "stopping the replica ($pid)"
		kill -TERM "$pid" 2>/dev/null || true
		wait_for 60 bash -c "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$RUN/replica.pid"
}

cmd_fronts() {
	local pid
	pid=$(pid_of fcgi)
	if alive "$pid"; then
		kill -TERM "$pid"
		wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" || fail "runorg-fcgi ($pid) did not stop"
	fi
	front_b stop
	primary start
	front_b start
}

cmd_stop() {
	front_b stop || true
	stop_replica
	primary stop
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
replica) start_replica ;;
fronts) cmd_fronts ;;
rsql)
	shift
	rsql "$@"
	;;
*)
	echo "usage: $0 start|stop|replica|fronts|rsql ARGS..." >&2
	exit 2
	;;
esac
