#!/usr/bin/env bash
# deploy.sh — `make test-deploy`: RunOrg behind every web server set-up of conf/,
# each started from Debian's packages on a loopback port with the file from
# conf/, and the seed's import → synchronized GET sequence sent through it;
# then an unknown method and a %00 path, whose error answers must be JSON
# whether RunOrg or the web server gives them (SPEC §8).
#
#   lighttpd-socket   conf/lighttpd.conf → the runorg-fcgi daemon's socket (make run's set-up)
#   lighttpd-spawn    conf/lighttpd-spawn.conf: lighttpd starts runorg-fcgi (bin-path)
#   apache-proxy      conf/apache-proxy-fcgi.conf: mod_proxy_fcgi → the daemon's socket
#   apache-fcgid      conf/apache-htaccess.conf + apache-fcgid.htaccess: mod_fcgid starts runorg.fcgi
#   apache-cgi        conf/apache-htaccess.conf + apache-cgi.htaccess: plain CGI, under /runorg/
#   nginx             conf/nginx.conf: fastcgi_pass → the daemon's socket
#   shared-fcgid      apache-fcgid with NO runorg-processor running: the front applies (apply_inline)
#   shared-cgi        apache-cgi with NO runorg-processor running
#   shared-lighttpd-spawn  lighttpd-spawn with NO runorg-processor running
# then runorgctl process --once, and the stack's processor started again taking over.
#
# MariaDB, runorg-processor and the daemon are conf/stack.sh's, under a temp
# RUNORG_VAR; every web server keeps its state (pid, logs, sockets) in a temp
# directory of its own, runs in the foreground of a background job, and is
# stopped at the end: no system service, nothing written under /etc.
# Ends with exactly one line "N passed, N failed"; exits 1 if anything failed.
# The temp directory is removed unless something failed or RUNORG_KEEP is set.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
PY=/usr/bin/python3
PATH=$PATH:/usr/sbin:/sbin # apache2, nginx, lighttpd, mariadbd
SYNC_TIMEOUT_MS=1500       # for the stack's daemon and for the spawned programs alike

passed=0
failed=0

if ! make -s all; then
	echo "FAILED: build"
	echo "0 passed, 1 failed"
	exit 1
fi

# World-readable (0755): Apache runs the CGI and mod_fcgid programs as www-data.
TMP=$(mktemp -d /tmp/runorg-deploy.XXXXXX) # short: unix socket paths must stay < 100 chars
chmod 755 "$TMP"
export RUNORG_VAR=$TMP/stack RUNORG_SYNC_TIMEOUT_MS=$SYNC_TIMEOUT_MS
RUNORG_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RUNORG_PORT

# The web servers run the programs of `make install DESTDIR=...`, readable by
# any user wherever the repository lives.
INST=$TMP/inst
APP=$INST/usr/local/sbin
SQL=$INST/usr/local/share/runorg/sql

SERVER_PID="" # the web server started last, stopped by stop_server
PAUSED=0

finish() {
	[[ -n ${TMP:-} && -d $TMP ]] || return 0
	((PAUSED)) && kill -CONT "$(cat "$RUNORG_VAR/run/processor.pid")" 2>/dev/null
	stop_server
	bash "$ROOT/conf/stack.sh" stop >/dev/null 2>&1
	if ((failed > 0)) || [[ -n ${RUNORG_KEEP:-} ]]; then
		echo "logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
	TMP=""
}
trap finish EXIT
trap 'exit 130' INT TERM

pass() {
	passed=$((passed + 1))
	echo "ok    $1"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL  $1${2:+ — $2}"
}
# check NAME COMMAND...: COMMAND succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "status $STATUS: ${BODY:0:300}"; fi
}

# shellcheck source=tests/lib/apache.sh
source tests/lib/apache.sh

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

conf_for() { # conf_for DIR [KEY=VALUE...]: the usual keys, plus these
	local dir=$1
	shift
	: >"$dir/runorg.log"
	chmod 666 "$dir/runorg.log" # the program may run as www-data
	runorg_conf "$dir/runorg.conf" "db_socket=$RUNORG_VAR/run/mysql.sock" "db_user=root" \
		"sql_dir=$SQL" "sync_timeout_ms=$SYNC_TIMEOUT_MS" "log_file=$dir/runorg.log" "$@"
}

# --- HTTP ------------------------------------------------------------------------

TOKEN=""
STATUS="" BODY="" HEADERS="" ELAPSED=""
# req METHOD URL [BODY] [NOAUTH]: fills STATUS, BODY, HEADERS, ELAPSED (seconds).
req() {
	local out=$TMP/req.$$ args=(-gs -X "$1" -o "$TMP/req.body" -D "$TMP/req.head" -w '%{http_code} %{time_total}' --max-time 20)
	[[ ${4:-} == NOAUTH ]] || args+=(-H "Authorization: RUNORG token=$TOKEN")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	curl "${args[@]}" "$2" >"$out" 2>/dev/null
	read -r STATUS ELAPSED <"$out"
	STATUS=${STATUS:-000}
	BODY=$(cat "$TMP/req.body" 2>/dev/null)
	HEADERS=$(cat "$TMP/req.head" 2>/dev/null)
	rm -f "$out" "$TMP/req.body" "$TMP/req.head"
}

# json EXPR: evaluates EXPR on d = the JSON of BODY; lists and objects print as compact JSON.
json() {
	"$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$BODY" "$1" 2>/dev/null
}

is() { [[ $STATUS == "$1" ]]; }
# json_true X STATUS EXPR: STATUS, and EXPR is true of d = the JSON of BODY, x = the JSON X.
json_true() {
	[[ $STATUS == "$2" ]] && "$PY" -c 'import json, sys
d = json.loads(sys.argv[1]); x = json.loads(sys.argv[2])
sys.exit(not eval(sys.argv[3]))' "$BODY" "$1" "$3" 2>/dev/null
}
body_is() { [[ $STATUS == "$1" && $BODY == "$2" ]]; }
body_has() { [[ $STATUS == "$1" && $BODY == *"$2"* ]]; }
# took_between LOW HIGH: ELAPSED within [LOW, HIGH) seconds.
took_between() { "$PY" -c 'import sys; sys.exit(not (float(sys.argv[2]) <= float(sys.argv[1]) < float(sys.argv[3])))' "$ELAPSED" "$1" "$2"; }

wait_up() { # wait_up URL: GET URL/version answers 200 within 20 s
	for _ in $(seq 200); do
		[[ $(curl -s -o /dev/null -w '%{http_code}' "$1/version") == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

processor() { kill "-$1" "$(cat "$RUNORG_VAR/run/processor.pid")"; }

# --- the sequence ------------------------------------------------------------------

SEED='[{"email":"vnicollet@runorg.com","fullname":"Victor Nicollet","gender":"M"},{"email":"test@example.com"}]'
VICTOR='{"id":"%s","name":"Victor Nicollet","gender":"M","pic":"https://www.gravatar.com/avatar/5a31b00f649489a9a24d3dc3e8b28060"}'
NOT_YET="Data is not yet available for the 'at' you specified. Try again later."

# seed NAME URL LOG: synchronization.md through one web server; LOG is the
# file runorg-fcgi writes its request lines to.
seed() {
	local name=$1 u=$2 log=$3 db at cid at2
	req POST "$u/db/create" '{"label":"deploy '"$name"'"}'
	check "$name: POST /db/create with the admin token → 202" is 202
	db=$(json 'd["id"]') at=$(json 'd["at"]')
	[[ -n $db && -n $at ]] || return 0

	req GET "$u/db/$db/contacts?at=$at"
	check "$name: GET contacts?at= waits for the new database → 200 empty list" body_is 200 '{"list":[],"count":0}'

	processor STOP
	PAUSED=1
	req POST "$u/db/$db/contacts/import" "$SEED"
	check "$name: import while the processor is paused → 202" is 202
	cid=$(json 'd["created"][0]') at2=$(json 'd["at"]')
	if [[ -z $cid || -z $at2 ]]; then
		processor CONT
		PAUSED=0
		return 0
	fi

	req GET "$u/db/$db/contacts/$cid"
	check "$name: GET without at= → 404, not yet applied" \
		body_is 404 "{\"error\":\"Contact '$cid' does not exist\",\"path\":\"/db/{db}/contacts/{cid}\"}"

	req GET "$u/db/$db/contacts/$cid?at=$at2"
	check "$name: GET with at= while paused → 503 with the expected clock" \
		json_true "\"$NOT_YET\"" 503 'd["error"] == x and d["expected"] == '"$at2"
	check "$name: the 503 has Retry-After: 1" grep -qi '^Retry-After: 1' <<<"$HEADERS"
	check "$name: the 503 came after sync_timeout_ms" took_between 1.4 5

	# In flight: resumed after 0.5 s, it answers then, not at the timeout.
	(
		req GET "$u/db/$db/contacts/$cid?at=$at2"
		echo "$STATUS $ELAPSED" >"$TMP/flight"
		echo "$BODY" >>"$TMP/flight"
	) &
	local bg=$!
	sleep 0.5
	processor CONT
	PAUSED=0
	wait "$bg"
	{
		read -r STATUS ELAPSED
		BODY=$(cat)
	} <"$TMP/flight"
	check "$name: a waiting GET answers once the processor resumes → 200 Victor" \
		body_is 200 "$(printf "$VICTOR" "$cid")"
	check "$name: ... as soon as the import is applied, not at the timeout" took_between 0.45 1.4

	req GET "$u/db/$db/sync"
	check "$name: GET /sync → 200 with a clock at or past the import's" \
		json_true "$at2" 200 'list(d) == ["at"] and d["at"][0][0] == x[0][0] and d["at"][0][1] >= x[0][1]' 

	req GET "$u/db/$db/contacts/$cid" "" NOAUTH
	check "$name: without the Authorization header → 401" is 401

	check "$name: the request log names the route, status and wait" \
		grep -q 'GET /db/{db}/contacts/{cid} 200 wait=[0-9.]*ms total=' "$log"
	check "$name: the token never reaches the log" bash -c '! grep -qF -- "$1" "$2"' _ "$TOKEN" "$log"
}

# json_error: STATUS is 4xx or 5xx, with one Content-Type, application/json, and
# a JSON object with "error" and "path" as BODY (SPEC §8).
json_error() {
	[[ $STATUS == [45][0-9][0-9] ]] || return 1
	[[ $(grep -ci '^Content-Type:' <<<"$HEADERS") == 1 ]] || return 1
	grep -qiE '^Content-Type: application/json' <<<"$HEADERS" || return 1
	"$PY" -c 'import json, sys
d = json.loads(sys.argv[1])
sys.exit(not (isinstance(d, dict) and isinstance(d.get("error"), str) and d["error"] and isinstance(d.get("path"), str)))' "$BODY" 2>/dev/null
}

# edges NAME URL: what the web server may answer itself, before or instead of
# RunOrg, is JSON too: an unknown method, and %00 in the path.
edges() {
	local name=$1 u=$2
	req FOO "$u/version" "" NOAUTH
	check "$name: FOO /version → a JSON error (status, one application/json, error and path)" json_error
	req GET "$u/version%00" "" NOAUTH
	check "$name: GET /version%00 → a JSON error (status, one application/json, error and path)" json_error
}

# --- web servers -----------------------------------------------------------------

# start_server NAME LOG COMMAND...: COMMAND in its own session, in the background.
start_server() {
	local name=$1 log=$2
	shift 2
	setsid "$@" </dev/null >>"$log" 2>&1 &
	SERVER_PID=$!
}

stop_server() {
	[[ -n $SERVER_PID ]] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=""
}

# run_case NAME URL LOG: the sequence once the server answers, then stops it.
run_case() {
	echo "== $1"
	if wait_up "$2"; then
		pass "$1: GET /version answers"
		seed "$1" "$2" "$3"
		edges "$1" "$2"
	else
		fail "$1: the web server did not answer within 20 s" "see $4"
	fi
	stop_server
}

case_lighttpd_socket() {
	# The stack's own lighttpd, conf/lighttpd.conf, as make run starts it.
	local u=http://127.0.0.1:$RUNORG_PORT
	echo "== lighttpd-socket"
	if wait_up "$u"; then pass "lighttpd-socket: GET /version answers"; else fail "lighttpd-socket: no answer"; fi
	seed lighttpd-socket "$u" "$RUNORG_VAR/log/fcgi.log"
	edges lighttpd-socket "$u"
}

case_lighttpd_spawn() {
	local d=$TMP/lighttpd-spawn port
	port=$(free_port)
	mkdir -p "$d/www" "$d/log" "$d/run" "$d/tmp"
	conf_for "$d"
	fill conf/lighttpd-spawn.conf "$d/lighttpd.conf" "PORT=$port" "VAR=$d" "FCGI=$APP/runorg-fcgi" "CONF=$d/runorg.conf" \
		"ERRORS=$INST/usr/local/share/runorg/errors" "MAX_FDS=4096" "MAX_CONNS=2000"
	start_server lighttpd-spawn "$d/log/server.log" lighttpd -D -f "$d/lighttpd.conf"
	run_case lighttpd-spawn "http://127.0.0.1:$port" "$d/runorg.log" "$d/log"
}

start_apache() {
	local d=$1
	if ! apache2 -t -f "$d/apache2.conf" >>"$d/log/server.log" 2>&1; then
		fail "$2: apache2 rejects the configuration" "$(tail -n 3 "$d/log/server.log")"
		return 1
	fi
	start_server apache "$d/log/server.log" apache2 -f "$d/apache2.conf" -DFOREGROUND
}

case_apache_proxy() {
	local d=$TMP/apache-proxy port
	port=$(free_port)
	apache_main "$d" "$port"
	fill conf/apache-proxy-fcgi.conf "$d/site.conf" "PORT=$port" "SOCKET=$RUNORG_VAR/run/runorg.sock"
	start_apache "$d" apache-proxy || return 0
	run_case apache-proxy "http://127.0.0.1:$port" "$RUNORG_VAR/log/fcgi.log" "$d/log"
}

# case_apache_htaccess NAME HTACCESS SCRIPT SUBDIR: the .htaccess way, in
# DIR/www/SUBDIR (the URL path /SUBDIR, base_path when not empty).
case_apache_htaccess() {
	local name=$1 d=$TMP/$1 port www
	port=$(free_port)
	www=$d/www${4:+/$4}
	apache_main "$d" "$port"
	mkdir -p "$www"
	conf_for "$d" "base_path=${4:+/$4}"
	fill conf/apache-htaccess.conf "$d/site.conf" "PORT=$port" "WWW=$d/www"
	cp "conf/$2" "$www/.htaccess"
	fill conf/runorg.cgi "$www/$3" "FCGI=$APP/runorg-fcgi" "CONF=$d/runorg.conf"
	chmod 755 "$www/$3"
	chmod -R a+rX "$d/www"
	start_apache "$d" "$name" || return 0
	run_case "$name" "http://127.0.0.1:$port${4:+/$4}" "$d/runorg.log" "$d/log"
}

case_nginx() {
	local d=$TMP/nginx port
	port=$(free_port)
	mkdir -p "$d/log" "$d/run" "$d/tmp"
	fill conf/nginx.conf "$d/site.conf" "PORT=127.0.0.1:$port" "SOCKET=$RUNORG_VAR/run/runorg.sock"
	cat >"$d/nginx.conf" <<-EOF
		$( ((EUID == 0)) && echo 'user www-data;')
		pid $d/run/nginx.pid;
		error_log $d/log/error.log;
		worker_processes 1;
		events { worker_connections 256; }
		http {
			access_log $d/log/access.log;
			client_body_temp_path $d/tmp/body;
			fastcgi_temp_path $d/tmp/fastcgi;
			proxy_temp_path $d/tmp/proxy;
			uwsgi_temp_path $d/tmp/uwsgi;
			scgi_temp_path $d/tmp/scgi;
			include $d/site.conf;
		}
	EOF
	if ! nginx -t -e "$d/log/error.log" -p "$d" -c "$d/nginx.conf" >>"$d/log/server.log" 2>&1; then
		fail "nginx: nginx rejects the configuration" "$(tail -n 3 "$d/log/server.log")"
		return 0
	fi
	start_server nginx "$d/log/server.log" nginx -e "$d/log/error.log" -p "$d" -c "$d/nginx.conf" -g 'daemon off;'
	run_case nginx "http://127.0.0.1:$port" "$RUNORG_VAR/log/fcgi.log" "$d/log"
}

# What make install put in DESTDIR: a tree a packager can take as it is.
case_install() {
	echo "== make install"
	local p=$INST/usr/local f missing=""
	for f in sbin/runorg-fcgi sbin/runorg-processor sbin/runorgctl share/runorg/sql/001-core.sql \
		etc/runorg/runorg.conf lib/systemd/system/runorg-fcgi.service \
		lib/systemd/system/runorg-processor.service lib/sysusers.d/runorg.conf etc/logrotate.d/runorg \
		share/runorg/examples/nginx.conf share/runorg/examples/runorg.cgi share/doc/runorg/README.md \
		share/runorg/errors/400.html share/runorg/errors/503.html; do
		[[ -s $p/$f ]] || missing="$missing $f"
	done
	check "install: binaries, sql/, runorg.conf, units, sysusers, logrotate, examples, error bodies, README" [ -z "$missing" ]
	[[ -z $missing ]] || echo "      missing:$missing"
	check "install: every error body of conf/errors, as <status>.html, is the same JSON" \
		bash -c 'for f in conf/errors/*.json; do cmp -s "$f" "$1/$(basename "$f" .json).html" || exit 1; done' _ "$p/share/runorg/errors"
	check "install: the programs are executable" [ -x "$p/sbin/runorgctl" -a -x "$p/share/runorg/examples/runorg.cgi" ]
	check "install: no @PLACEHOLDER@ left in what it wrote" bash -c '! grep -rIlE "@[A-Z]+@" "$1"' _ "$p/etc" "$p/lib" "$p/share/runorg"
	check "install: runorg.conf points at the installed sql/ and /run/runorg" \
		grep -qx "sql_dir = /usr/local/share/runorg/sql" "$p/etc/runorg/runorg.conf"
	if command -v systemd-analyze >/dev/null; then
		# The units as they are, but with ExecStart in DESTDIR, so that verify finds the programs.
		mkdir -p "$TMP/units"
		for f in "$p"/lib/systemd/system/*.service; do
			sed "s|/usr/local/sbin/|$p/sbin/|" "$f" >"$TMP/units/${f##*/}"
		done
		local out
		out=$(systemd-analyze verify "$TMP"/units/*.service 2>&1)
		check "install: systemd-analyze verify accepts the units" [ -z "$out" ]
		[[ -z $out ]] || echo "$out" | head -n 5
	fi
}

# --- shared hosting: no processor ------------------------------------------------

# shared_walk NAME URL: the seed's walk-through and a conversation, with no
# processor running: every at= read answers 200 (the front applied), never 503.
shared_walk() {
	local name=$1 u=$2 db at cid at2 chat at3 out
	req POST "$u/db/create" '{"label":"shared '"$name"'"}'
	check "$name: POST /db/create → 202" is 202
	db=$(json 'd["id"]') at=$(json 'd["at"]')
	[[ -n $db && -n $at ]] || return 0
	req GET "$u/db/$db/contacts?at=$at"
	check "$name: GET contacts?at= → 200 empty list, no processor running" body_is 200 '{"list":[],"count":0}'
	check "$name: ... at once, not at the timeout" took_between 0 1.2

	req POST "$u/db/$db/contacts/import" "$SEED"
	check "$name: import → 202" is 202
	cid=$(json 'd["created"][0]') at2=$(json 'd["at"]')
	[[ -n $cid && -n $at2 ]] || return 0
	req GET "$u/db/$db/contacts/$cid?at=$at2"
	check "$name: GET contact with at= → 200 Victor" body_is 200 "$(printf "$VICTOR" "$cid")"
	check "$name: ... at once, not at the timeout" took_between 0 1.2
	req GET "$u/db/$db/sync"
	check "$name: GET /sync → 200 with a clock at or past the import's" \
		json_true "$at2" 200 'list(d) == ["at"] and d["at"][0][0] == x[0][0] and d["at"][0][1] >= x[0][1]'

	# A conversation: create, post, read the items at the post's clock.
	local victor=$cid
	req POST "$u/db/$db/chat/create" '{"contacts":["'"$victor"'"]}'
	check "$name: POST chat/create → 202" is 202
	chat=$(json 'd["id"]')
	[[ -n $chat ]] || return 0
	req POST "$u/db/$db/chat/$chat" '{"author":"'"$victor"'","body":"hello from shared hosting"}'
	check "$name: POST a chat item → 202" is 202
	at3=$(json 'd["at"]')
	req GET "$u/db/$db/chat/$chat/items?at=$at3"
	check "$name: GET chat items with at= → 200 with the item" \
		json_true '"hello from shared hosting"' 200 'd["count"] == 1 and d["items"][0]["body"] == x'

	# A command queued by someone else (runorgctl): the at= read applies it before waiting.
	out=$(ctl_shared db create "queued by ctl $name" 2>/dev/null)
	BODY=$out
	db=$(json 'd["id"]') at=$(json 'd["at"]')
	[[ -n $db && -n $at ]] || { fail "$name: runorgctl db create" "$out"; return 0; }
	req GET "$u/db/$db/contacts?at=$at"
	check "$name: a command queued by runorgctl: GET ?at= applies it → 200" body_is 200 '{"list":[],"count":0}'
	check "$name: ... at once, not at the timeout" took_between 0 1.2
	req GET "$u/db/$db/contacts" "" NOAUTH
	check "$name: without the Authorization header → 401" is 401
}

# kill_mid_apply NAME URL DIR DBNAME: a request that has queued an import and
# is applying it inline is held on the stream's clock row (a session of the
# test locks it), then every runorg-fcgi process of the set-up (a CGI
# process, or those mod_fcgid or lighttpd started) is killed with -9. Its
# transaction never commits and MariaDB releases its lease; the next request
# (a new process) applies the import: nothing lost, nothing twice.
kill_mid_apply() {
	local name=$1 u=$2 d=$3 dbname=$4 db at stream lockpid cpid pid blocked=0 count=""
	local sqlc=(mariadb --no-defaults --socket="$RUNORG_VAR/run/mysql.sock" -uroot -N "$dbname")
	req POST "$u/db/create" '{"label":"kill -9 '"$name"'"}'
	db=$(json 'd["id"]') at=$(json 'd["at"]')
	req GET "$u/db/$db/contacts?at=$at"
	check "$name kill -9: a database to import into" body_is 200 '{"list":[],"count":0}'
	stream=$("${sqlc[@]}" -e "SELECT stream FROM dbs WHERE id = '$db'" 2>/dev/null)
	[[ -n $stream ]] || return 0
	"${sqlc[@]}" -e "BEGIN; SELECT done FROM clocks WHERE stream = $stream FOR UPDATE; SELECT SLEEP(4); ROLLBACK" \
		>/dev/null 2>&1 &
	lockpid=$!
	sleep 0.3
	curl -s -o /dev/null --max-time 20 -H "Authorization: RUNORG token=$TOKEN" -H 'Content-Type: application/json' \
		--data-binary '[{"email":"k1@example.com"},{"email":"k2@example.com"},{"email":"k3@example.com"}]' \
		"$u/db/$db/contacts/import" &
	cpid=$!
	for _ in $(seq 30); do
		if [[ $("${sqlc[@]}" -e "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'UPDATE clocks SET done%'" 2>/dev/null) == 1 ]]; then
			blocked=1
			break
		fi
		sleep 0.1
	done
	check "$name kill -9: the import request is in the middle of its inline apply (its clock bump waits)" [ "$blocked" == 1 ]
	pid=$(pgrep -f -- "runorg-fcgi -c $d/runorg.conf")
	[[ -n $pid ]] && kill -9 $pid
	check "$name kill -9: the front is killed (-9) there" [ -n "$pid" ]
	wait "$cpid" "$lockpid" 2>/dev/null
	check "$name kill -9: the import was queued (once)" \
		[ "$("${sqlc[@]}" -e "SELECT COUNT(*) FROM commands WHERE db = '$db' AND kind = 'contacts.import'")" == 1 ]
	# The next request applies it (MariaDB ends the dead connection, and its lease, when the lock wait ends).
	for _ in $(seq 10); do
		req GET "$u/db/$db/sync"
		at=$(json 'd["at"]')
		req GET "$u/db/$db/contacts?at=$at"
		if is 200; then
			count=$(json 'd["count"]')
			break
		fi
		sleep 0.5
	done
	check "$name kill -9: the next request applies the import: 3 contacts, not 0 or 6" [ "$count" == 3 ]
	check "$name kill -9: the stream's clock is at its head, no command failed" \
		[ "$("${sqlc[@]}" -e "SELECT s.head = c.done FROM streams s JOIN clocks c USING (stream) WHERE stream = $stream")" == 1 -a \
		"$("${sqlc[@]}" -e "SELECT COUNT(*) FROM commands WHERE db = '$db' AND status = 2")" == 0 ]
}

SHARED_CONF=""
ctl_shared() { "$APP/runorgctl" -c "$SHARED_CONF" "$@"; }

# case_shared NAME HTACCESS SCRIPT SUBDIR [DB]: case_apache_htaccess, with no
# processor. With DB, an empty database of that name, whose schema the first
# requests create: two of them race, each migration file is applied once.
case_shared() {
	local name=$1 d=$TMP/$1 port www dbname=${5:-} admin=$TOKEN
	port=$(free_port)
	www=$d/www${4:+/$4}
	apache_main "$d" "$port"
	mkdir -p "$www"
	conf_for "$d" "base_path=${4:+/$4}" "lease_timeout_ms=1000" "apply_inline=auto" ${dbname:+"db_name=$dbname"}
	SHARED_CONF=$d/runorg.conf
	fill conf/apache-htaccess.conf "$d/site.conf" "PORT=$port" "WWW=$d/www"
	cp "conf/$2" "$www/.htaccess"
	fill conf/runorg.cgi "$www/$3" "FCGI=$APP/runorg-fcgi" "CONF=$d/runorg.conf"
	echo ok >"$www/ping.txt"
	chmod 755 "$www/$3"
	chmod -R a+rX "$d/www"
	if [[ -n $dbname ]]; then
		mariadb --no-defaults --socket="$RUNORG_VAR/run/mysql.sock" -uroot -e "CREATE DATABASE $dbname" ||
			fail "$name: CREATE DATABASE $dbname"
	fi
	start_apache "$d" "$name" || return 0
	local u="http://127.0.0.1:$port${4:+/$4}"
	echo "== $name"
	if [[ -n $dbname ]]; then
		for _ in $(seq 200); do
			[[ $(curl -s -o /dev/null -w '%{http_code}' "$u/ping.txt") == 200 ]] && break
			sleep 0.1
		done
		# The first two requests at once, on an empty database.
		local c1 c2
		curl -s -o "$d/first.1" -w '%{http_code}' --max-time 60 "$u/version" >"$d/first.1.status" &
		c1=$!
		curl -s -o "$d/first.2" -w '%{http_code}' --max-time 60 "$u/version" >"$d/first.2.status" &
		c2=$!
		wait "$c1" "$c2"
		check "$name: two racing first requests on an empty database → 200 both" \
			[ "$(cat "$d/first.1.status" "$d/first.2.status")" == 200200 ]
		local files applied
		files=$(ls "$SQL"/[0-9]*.sql | wc -l)
		applied=$(mariadb --no-defaults --socket="$RUNORG_VAR/run/mysql.sock" -uroot -N "$dbname" \
			-e 'SELECT COUNT(*) FROM schema_version' 2>/dev/null)
		check "$name: they created the schema: every file of sql/ in schema_version ($files)" [ "$applied" == "$files" ]
		check "$name: each file applied once (the runorg.migrate lock)" \
			[ "$(grep -c 'migrate: applied 001' "$d/runorg.log")" == 1 ]
		TOKEN=$(ctl_shared token admin 2>/dev/null)
	fi
	if wait_up "$u"; then
		pass "$name: GET /version answers"
		shared_walk "$name" "$u"
		kill_mid_apply "$name" "$u" "$d" "${dbname:-runorg}"
		check "$name: the processor's log did not move (it is not running)" \
			[ "$(wc -l <"$RUNORG_VAR/log/processor.log")" == "$PROC_LINES" ]
	else
		fail "$name: the web server did not answer within 20 s" "see $d/log"
	fi
	TOKEN=$admin
	stop_server
}

# lighttpd starting runorg-fcgi itself (bin-path), with no processor: the
# spawned processes apply (apply_inline = auto), as under mod_fcgid.
case_shared_lighttpd() {
	local name=shared-lighttpd-spawn d=$TMP/shared-lighttpd-spawn port
	port=$(free_port)
	mkdir -p "$d/www" "$d/log" "$d/run" "$d/tmp"
	conf_for "$d" "lease_timeout_ms=1000" "apply_inline=auto"
	SHARED_CONF=$d/runorg.conf
	fill conf/lighttpd-spawn.conf "$d/lighttpd.conf" "PORT=$port" "VAR=$d" "FCGI=$APP/runorg-fcgi" "CONF=$d/runorg.conf" \
		"ERRORS=$INST/usr/local/share/runorg/errors" "MAX_FDS=4096" "MAX_CONNS=2000"
	start_server "$name" "$d/log/server.log" lighttpd -D -f "$d/lighttpd.conf"
	local u="http://127.0.0.1:$port"
	echo "== $name"
	if wait_up "$u"; then
		pass "$name: GET /version answers"
		shared_walk "$name" "$u"
		kill_mid_apply "$name" "$u" "$d" runorg
		check "$name: the processor's log did not move (it is not running)" \
			[ "$(wc -l <"$RUNORG_VAR/log/processor.log")" == "$PROC_LINES" ]
	else
		fail "$name: the web server did not answer within 20 s" "see $d/log"
	fi
	stop_server
}

# No processor: the stack's is stopped, and its heartbeat gets older than
# the lease_timeout_ms (1 s) of the shared set-ups' runorg.conf.
stop_processor() {
	local pid
	pid=$(cat "$RUNORG_VAR/run/processor.pid")
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sleep 1.5
	PROC_LINES=$(wc -l <"$RUNORG_VAR/log/processor.log")
}

# runorgctl process --once, then the stack's processor started again.
case_after_shared() {
	echo "== process --once, then a processor again"
	local out db at u=http://127.0.0.1:$RUNORG_PORT
	BODY=$(bash conf/stack.sh ctl db create "for process --once" 2>/dev/null)
	db=$(json 'd["id"]') at=$(json 'd["at"]')
	out=$(bash conf/stack.sh ctl process --once --max-seconds 5 2>/dev/null)
	check "process --once: applies the queued command and exits 0" \
		grep -q '^applied [1-9][0-9]* commands; 0 streams held by another applier; 0 streams failed' <<<"$out"
	[[ $out == applied* ]] || echo "      $out"
	out=$(bash conf/stack.sh ctl process --once --max-seconds 5 2>/dev/null)
	check "process --once: nothing left → applied 0" grep -q '^applied 0 commands' <<<"$out"
	local lines
	lines=$(wc -l <"$RUNORG_VAR/log/processor.log")
	if ! bash conf/stack.sh start >/dev/null 2>&1; then
		fail "the stack's processor did not start again" "$RUNORG_VAR/log/processor.log"
		return 0
	fi
	sleep 1
	req POST "$u/db/$db/contacts/import" '[{"email":"after@example.com"}]'
	check "processor again: import → 202" is 202
	at=$(json 'd["at"]')
	req GET "$u/db/$db/contacts?at=$at"
	check "processor again: GET ?at= → 200 with the contact" json_true '"after@example.com"' 200 'd["count"] == 1'
	check "processor again: it holds the leases" bash -c 'tail -n "+$(($1 + 1))" "$2" | grep -q "lease taken"' _ "$lines" "$RUNORG_VAR/log/processor.log"
}

# --- run -------------------------------------------------------------------------

if ! bash conf/stack.sh start; then
	echo "FAILED: the stack did not start"
	echo "0 passed, 1 failed"
	exit 1
fi
TOKEN=$(bash conf/stack.sh token)

make -s install DESTDIR="$INST" PREFIX=/usr/local >/dev/null || fail "make install DESTDIR=... failed"
case_install
case_lighttpd_socket
case_lighttpd_spawn
case_apache_proxy
case_apache_htaccess apache-fcgid apache-fcgid.htaccess runorg.fcgi ""
case_apache_htaccess apache-cgi apache-cgi.htaccess runorg.cgi runorg
case_nginx
stop_processor
case_shared shared-fcgid apache-fcgid.htaccess runorg.fcgi ""
case_shared shared-cgi apache-cgi.htaccess runorg.cgi runorg runorg_shared
case_shared_lighttpd
case_after_shared

finish
echo "$passed passed, $failed failed"
((failed == 0))
