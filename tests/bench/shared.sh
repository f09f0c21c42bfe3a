#!/usr/bin/env bash
# shared.sh — the shared-hosting front of `make bench` (bench.py's inline row):
# Apache + mod_fcgid serving RunOrg from a .htaccess (conf/apache-htaccess.conf,
# conf/apache-fcgid.htaccess, conf/runorg.cgi), as tests/deploy.sh's
# shared-fcgid set-up, on the MariaDB of the stack that RUNORG_VAR names, with
# apply_inline = auto. No processor is started here: bench.py stops the
# stack's before it measures.
#
#   shared.sh start DIR   prints the front's URL (exit 1: it did not start)
#   shared.sh stop DIR
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
PATH=$PATH:/usr/sbin:/sbin
PY=/usr/bin/python3
# shellcheck source=tests/lib/apache.sh
source tests/lib/apache.sh

d=${2:?usage: shared.sh start|stop DIR}

stop() {
	[[ -f $d/run/apache2.pid ]] || return 0
	local pid
	pid=$(cat "$d/run/apache2.pid")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	pkill -KILL -f -- "runorg-fcgi -c $d/runorg.conf" 2>/dev/null
	return 0
}

start() {
	command -v apache2 >/dev/null && [[ -f /usr/lib/apache2/modules/mod_fcgid.so ]] ||
		{ echo "apache2 with mod_fcgid is not installed" >&2; return 1; }
	stop
	rm -rf "$d"
	mkdir -p "$d"
	# Apache runs the program as www-data: the programs, the directory and the
	# stack's MariaDB socket must be reachable for it.
	chmod 755 "$d" "$RUNORG_VAR" "$RUNORG_VAR/run"
	make -s install DESTDIR="$d/inst" PREFIX=/usr/local >/dev/null || return 1
	local port www=$d/www app=$d/inst/usr/local/sbin
	port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	apache_main "$d" "$port"
	mkdir -p "$www"
	: >"$d/runorg.log"
	chmod 666 "$d/runorg.log"
	runorg_conf "$d/runorg.conf" "db_socket=$RUNORG_VAR/run/mysql.sock" "db_user=root" \
		"sql_dir=$d/inst/usr/local/share/runorg/sql" "log_file=$d/runorg.log" \
		"lease_timeout_ms=1000" "apply_inline=auto"
	fill conf/apache-htaccess.conf "$d/site.conf" "PORT=$port" "WWW=$www"
	cp conf/apache-fcgid.htaccess "$www/.htaccess"
	fill conf/runorg.cgi "$www/runorg.fcgi" "FCGI=$app/runorg-fcgi" "CONF=$d/runorg.conf"
	chmod 755 "$www/runorg.fcgi"
	chmod -R a+rX "$www"
	apache2 -t -f "$d/apache2.conf" >"$d/log/server.log" 2>&1 || return 1
	apache2 -f "$d/apache2.conf" -k start >>"$d/log/server.log" 2>&1 || return 1
	for _ in $(seq 200); do
		if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/version") == 200 ]]; then
			echo "http://127.0.0.1:$port"
			return 0
		fi
		sleep 0.1
	done
	echo "the shared-hosting front did not answer (see $d/log)" >&2
	return 1
}

case ${1:-} in
start) start ;;
stop) stop ;;
*)
	echo "usage: shared.sh start|stop DIR" >&2
	exit 2
	;;
esac
