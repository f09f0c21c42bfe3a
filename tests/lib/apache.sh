# apache.sh — sourced by tests/deploy.sh and tests/bench/shared.sh: the files a
# web server set-up is made of (templates of conf/ filled in, runorg.conf, and
# the part of Apache's configuration a Debian host has already). Run from the
# repository's root.

# fill TEMPLATE OUT NAME=VALUE...: the template with each @NAME@ replaced.
fill() {
	local in=$1 out=$2 args=()
	shift 2
	for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
	sed "${args[@]}" "$in" >"$out"
}

# runorg_conf OUT KEY=VALUE...: conf/runorg.conf with these keys set, for a
# runorg-fcgi that a web server starts (it does not see the stack's environment).
runorg_conf() {
	local out=$1 args=()
	shift
	for kv in "$@"; do args+=(-e "s|^${kv%%=*} =.*|${kv%%=*} = ${kv#*=}|"); done
	sed "${args[@]}" conf/runorg.conf >"$out"
	chmod 644 "$out"
}

# apache_main DIR PORT: the part of Apache's configuration a Debian host has
# already (modules, pid, logs), pointing into DIR, including DIR/site.conf.
apache_main() {
	local d=$1 port=$2 m=/usr/lib/apache2/modules
	mkdir -p "$d/run" "$d/log" # not fcgid/: mod_fcgid makes it, for its user
	cat >"$d/apache2.conf" <<-EOF
		ServerRoot "$d"
		ServerName 127.0.0.1
		Listen 127.0.0.1:$port
		PidFile "$d/run/apache2.pid"
		DefaultRuntimeDir "$d/run"
		ErrorLog "$d/log/error.log"
		LogLevel warn
		$( ((EUID == 0)) && printf 'User www-data\nGroup www-data\n')
		LoadModule mpm_event_module $m/mod_mpm_event.so
		LoadModule authz_core_module $m/mod_authz_core.so
		LoadModule rewrite_module $m/mod_rewrite.so
		LoadModule proxy_module $m/mod_proxy.so
		LoadModule proxy_fcgi_module $m/mod_proxy_fcgi.so
		LoadModule fcgid_module $m/mod_fcgid.so
		LoadModule cgid_module $m/mod_cgid.so
		LoadModule headers_module $m/mod_headers.so
		LoadModule reqtimeout_module $m/mod_reqtimeout.so
		ScriptSock "$d/run/cgid.sock"
		FcgidIPCDir "$d/fcgid"
		FcgidProcessTableFile "$d/run/fcgid_shm"
		Include "$d/site.conf"
	EOF
}

