#!/usr/bin/env bash
# stack.sh — starts and stops a private RunOrg stack: MariaDB, runorg-processor,
# runorg-fcgi and lighttpd, all under $RUNORG_VAR, none of them a system service.
#
#   conf/stack.sh start   start whatever is not running, return once GET /version answers
#   conf/stack.sh stop    stop everything (safe when nothing runs)
#   conf/stack.sh run     start, print the URL and an admin token, stay in the
#                         foreground; Ctrl-C stops everything
#   conf/stack.sh token   print a new server-administrator token for this instance
#   conf/stack.sh ctl ... runorgctl ... against this instance (e.g. ctl status)
#
#   RUNORG_VAR   data, sockets, pid files, logs, lighttpd's error bodies and key-secret
#                (default: <repo>/var)
#   RUNORG_PORT  HTTP port on 127.0.0.1 (default: 8080)
#   RUNORG_MYSQL_PORT  MariaDB also listens on 127.0.0.1:<it> (default: unix socket only)
#   RUNORG_BINLOG=1    MariaDB keeps a binary log (GTID, row format, server id 1), so
#                      that replicas can follow it (tests/replica/stack.sh)
#   RUNORG_FRONT_ONLY=1  only runorg-fcgi and lighttpd, against the MariaDB of another
#                      instance named by RUNORG_DB_SOCKET: a second web host of one
#                      database (make test-replica)
# Any other RUNORG_* variable (RUNORG_TEST_MODE, RUNORG_SYNC_TIMEOUT_MS, ...)
# reaches both programs untouched and overrides conf/runorg.conf.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=$(realpath -m "${RUNORG_VAR:-$ROOT/var}")
PORT=${RUNORG_PORT:-8080}
RUN=$VAR/run
LOG=$VAR/log
URL=http://127.0.0.1:$PORT
CONF=$ROOT/conf/runorg.conf
PATH=$PATH:/usr/sbin:/sbin # mariadbd and lighttpd live in /usr/sbin
cd "$ROOT"                 # relative paths in conf/runorg.conf are relative to the repository

FRONT_ONLY=${RUNORG_FRONT_ONLY:-0}

# What the programs need to find the private MariaDB, their socket and sql/.
if [[ $FRONT_ONLY == 1 ]]; then
	[[ -n ${RUNORG_DB_SOCKET:-} ]] || { echo "stack: RUNORG_FRONT_ONLY needs RUNORG_DB_SOCKET" >&2; exit 2; }
	export RUNORG_DB_SOCKET
else
	export RUNORG_DB_SOCKET=$RUN/mysql.sock
fi
export RUNORG_DB_USER=runorg # not root: no SUPER, so MariaDB's read_only applies to it
export RUNORG_DB_NAME=runorg
export RUNORG_SOCKET=$RUN/runorg.sock
export RUNORG_SQL_DIR=$ROOT/sql
# The server secret that seals HMAC keys: made by runorg-fcgi at its first start,
# next to this instance's data but outside MariaDB (README, "Keys").
export RUNORG_KEY_SECRET_FILE=${RUNORG_KEY_SECRET_FILE:-$VAR/key-secret}

say() { echo "stack: $*" || true; }

# fail MESSAGE LOGFILE: reports, shows the end of the log, exits.
fail() {
	echo "stack: $1" >&2
	if [[ -f $2 ]]; then
		echo "--- last lines of $2:" >&2
		tail -n 30 "$2" >&2
	fi
	exit 1
}

# pid_of NAME: the pid in $RUN/NAME.pid, or nothing.
pid_of() {
	local pid=""
	if [[ -f $RUN/$1.pid ]]; then read -r pid <"$RUN/$1.pid" || true; fi
	[[ $pid =~ ^[0-9]+$ ]] && echo "$pid"
	return 0
}

# exists PID: the process exists and is not a zombie.
exists() {
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# is_live PID PROGRAM: the process exists and runs PROGRAM (so that a recycled
# pid in a stale pid file is not mistaken for ours).
is_live() {
	exists "$1" && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q -- "$2"
}

is_gone() { ! is_live "$@"; }

# kill_orphans NAME: when NAME.pid names a process that is gone, kills what is
# left of its process group (runorg-fcgi workers outlive a master killed with -9).
# A pid still in use as a process group id is never handed out again, so the
# group can only be that one.
kill_orphans() {
	local pid
	pid=$(pid_of "$1")
	if [[ -n $pid ]] && ! exists "$pid"; then
		kill -KILL -- "-$pid" 2>/dev/null || true # nothing left of the group is fine
	fi
	return 0
}

# running NAME PROGRAM: NAME.pid names a live PROGRAM.
running() { is_live "$(pid_of "$1")" "$2"; }

# launch NAME LOGFILE COMMAND...: starts COMMAND in its own session, detached,
# output appended to LOGFILE; its pid goes to NAME.pid and to $PID.
PID=""
launch() {
	local name=$1 log=$2
	shift 2
	setsid nohup "$@" </dev/null >>"$log" 2>&1 &
	PID=$!
	echo "$PID" >"$RUN/$name.pid"
}

# started: the process launched last is still there. (Checked by pid, not by
# its pid file, which mariadbd rewrites; and not by command line, which is
# setsid's or nohup's until the final exec.)
started() { exists "$PID"; }

# wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s; false after SECONDS.
wait_for() {
	local tries=$(($1 * 10))
	shift
	while ((tries-- > 0)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

sql() { mariadb --no-defaults --socket="$RUNORG_DB_SOCKET" -uroot "$@"; }

# MariaDB answers, or its process is gone (then wait_for gives up early via fail).
mariadb_ready() {
	started || fail "mariadbd exited" "$LOG/mariadb.log"
	sql -e 'select 1' >/dev/null 2>&1
}

start_mariadb() {
	running mariadb mariadbd && return 0
	if [[ ! -d $VAR/mysql/mysql ]]; then
		say "initializing MariaDB in $VAR/mysql"
		# Its temporary files under $VAR too: in a /tmp shared with other stacks they were seen to vanish.
		mariadb-install-db --no-defaults --force --datadir="$VAR/mysql" --auth-root-authentication-method=normal \
			--skip-test-db --user="$(id -un)" --tmpdir="$VAR/tmp" >>"$LOG/mariadb-install.log" 2>&1 ||
			fail "mariadb-install-db failed" "$LOG/mariadb-install.log"
	fi
	local net=(--skip-networking) binlog=()
	[[ -z ${RUNORG_MYSQL_PORT:-} ]] || net=(--port="$RUNORG_MYSQL_PORT" --bind-address=127.0.0.1)
	[[ ${RUNORG_BINLOG:-0} != 1 ]] ||
		binlog=(--server-id=1 --log-bin="$VAR/mysql/binlog" --binlog-format=ROW --gtid-strict-mode=1)
	say "starting MariaDB"
	launch mariadb "$LOG/mariadb.log" mariadbd --no-defaults --datadir="$VAR/mysql" \
		--socket="$RUN/mysql.sock" --pid-file="$RUN/mariadb.pid" "${net[@]}" "${binlog[@]}" --tmpdir="$VAR/tmp" \
		--log-error="$LOG/mariadb.log" --user="$(id -un)" --innodb-buffer-pool-size=256M \
		--innodb-flush-log-at-trx-commit=1 --max-connections=1000 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci
	wait_for 30 mariadb_ready || fail "MariaDB did not answer within 30 s" "$LOG/mariadb.log"
	sql -e 'CREATE DATABASE IF NOT EXISTS runorg CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
	# The programs' own account: everything on the runorg database, nothing else.
	sql -e 'CREATE USER IF NOT EXISTS runorg@localhost; GRANT ALL PRIVILEGES ON runorg.* TO runorg@localhost'
}

# start_program NAME [keep]: build/runorg-NAME in the background, pid in NAME.pid,
# output in NAME.log. What is left of a dead one is killed first, unless keep.
start_program() {
	running "$1" "runorg-$1" && return 0
	local bin=${RUNORG_BUILD:-$ROOT/build}/runorg-$1 # RUNORG_BUILD: make test SANITIZE=1
	[[ -x $bin ]] || fail "$bin is missing (run make)" /dev/null
	[[ ${2:-} == keep ]] || kill_orphans "$1"
	say "starting runorg-$1"
	launch "$1" "$LOG/$1.log" "$bin" -c "$CONF"
}

# The inode of the FastCGI socket, or nothing.
socket_inode() { stat -c %i "$RUN/runorg.sock" 2>/dev/null || true; }

OLD_SOCKET=""
fcgi_ready() {
	started || fail "runorg-fcgi exited" "$LOG/fcgi.log"
	[[ -S $RUN/runorg.sock && $(socket_inode) != "$OLD_SOCKET" ]]
}

# A master killed with -9 leaves its workers, which go on answering on the
# socket. The new master renames its own socket over that path (a new inode
# means "ready"); only then are the old workers asked to finish what they
# accepted and exit (SIGTERM; they would notice by themselves within a second).
# So the web server never finds the socket missing.
start_fcgi() {
	running fcgi runorg-fcgi && return 0
	local old
	old=$(pid_of fcgi)
	OLD_SOCKET=$(socket_inode)
	start_program fcgi keep
	wait_for 10 fcgi_ready || fail "runorg-fcgi did not open its socket within 10 s" "$LOG/fcgi.log"
	if [[ -n $old ]] && ! exists "$old"; then
		sleep 0.2 # the connections made just before the rename reach the old workers first
		kill -TERM -- "-$old" 2>/dev/null || true
	fi
}

# The JSON error bodies, under the name lighttpd's server.errorfile-prefix asks
# for: conf/errors/<status>.json becomes $VAR/errors/<status>.html.
install_errors() {
	local f
	mkdir -p "$VAR/errors"
	for f in "$ROOT"/conf/errors/*.json; do
		cp "$f" "$VAR/errors/$(basename "$f" .json).html"
	done
}

start_lighttpd() {
	running lighttpd lighttpd && return 0
	install_errors
	local fds
	fds=$(ulimit -Hn)
	[[ $fds =~ ^[0-9]+$ ]] && ((fds <= 65536)) || fds=65536
	sed -e "s|@PORT@|$PORT|g" -e "s|@VAR@|$VAR|g" -e "s|@SOCKET@|$RUNORG_SOCKET|g" \
		-e "s|@ERRORS@|$VAR/errors|g" -e "s|@MAX_FDS@|$fds|g" -e "s|@MAX_CONNS@|$((fds / 2 - 64))|g" \
		"$ROOT/conf/lighttpd.conf" >"$RUN/lighttpd.conf"
	lighttpd -tt -f "$RUN/lighttpd.conf" >>"$LOG/lighttpd.log" 2>&1 ||
		fail "lighttpd rejects $RUN/lighttpd.conf" "$LOG/lighttpd.log"
	say "starting lighttpd on port $PORT"
	# Thousands of requests may wait on at= at once, each holding two
	# descriptors in lighttpd (client, FastCGI): as many as the system allows.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	launch lighttpd "$LOG/lighttpd.log" lighttpd -D -f "$RUN/lighttpd.conf"
}

version_ready() {
	exists "$(pid_of lighttpd)" || fail "lighttpd exited" "$LOG/lighttpd.log"
	curl -sf -o /dev/null "$URL/version"
}

cmd_start() {
	mkdir -p "$RUN" "$LOG" "$VAR/www" "$VAR/tmp"
	if [[ $FRONT_ONLY != 1 ]]; then
		mkdir -p "$VAR/mysql"
		start_mariadb
		start_program processor # before the front, so that accepted commands get applied
	fi
	start_fcgi
	start_lighttpd
	wait_for 30 version_ready || fail "GET $URL/version did not answer within 30 s" "$LOG/fcgi.log"
	[[ $FRONT_ONLY == 1 ]] || running processor runorg-processor || fail "runorg-processor exited" "$LOG/processor.log"
	say "RunOrg is up on $URL"
}

# stop_one NAME PROGRAM SECONDS: SIGTERM (and SIGCONT, in case it was SIGSTOPped),
# wait up to SECONDS, then SIGKILL its whole process group (setsid made it the leader).
stop_one() {
	local pid
	pid=$(pid_of "$1")
	if is_live "$pid" "$2"; then
		say "stopping $2 ($pid)"
		kill -TERM "$pid" 2>/dev/null || true
		kill -CONT -- "-$pid" 2>/dev/null || kill -CONT "$pid" 2>/dev/null || true
		if ! wait_for "$3" is_gone "$pid" "$2"; then
			say "$2 ($pid) still running after $3 s: SIGKILL"
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	kill_orphans "$1"
	rm -f "$RUN/$1.pid"
}

cmd_stop() {
	stop_one lighttpd lighttpd 10
	stop_one fcgi runorg-fcgi 10
	stop_one processor runorg-processor 10
	stop_one mariadb mariadbd 60
}

cmd_token() {
	[[ $FRONT_ONLY == 1 ]] || running mariadb mariadbd || fail "MariaDB is not running here (make start first)" /dev/null
	cmd_ctl token admin
}

cmd_ctl() {
	"${RUNORG_BUILD:-$ROOT/build}/runorgctl" -c "$CONF" "$@"
}

# Ctrl-C during `run`: stop everything, whatever else happens meanwhile (a
# second Ctrl-C, the terminal going away, a failing echo).
on_interrupt() {
	trap '' INT TERM HUP PIPE
	set +e
	kill "$TAIL" 2>/dev/null
	echo
	cmd_stop
	exit 0
}

cmd_run() {
	cmd_start
	local token
	token=$(cmd_token) || token="(failed: see the message above)"
	echo
	echo "  RunOrg:      $URL"
	echo "  admin token: $token"
	echo "  another one: make token (with the same RUNORG_VAR)"
	echo "  logs:        $LOG"
	echo "  Ctrl-C stops everything."
	echo
	tail -n 0 -F "$LOG/processor.log" "$LOG/fcgi.log" "$LOG/lighttpd.log" &
	TAIL=$!
	trap on_interrupt INT TERM HUP
	wait
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
run) cmd_run ;;
token) cmd_token ;;
ctl)
	shift
	cmd_ctl "$@"
	;;
*)
	echo "usage: $0 start|stop|run|token|ctl ARGS..." >&2
	exit 2
	;;
esac
