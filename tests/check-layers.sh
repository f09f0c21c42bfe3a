#!/usr/bin/env bash
# check-layers.sh BUILD — `make check-layers`: fails on evidence that a layer
# of app/ uses one above it (README, "How the code is laid out"):
#   core -> store -> resources -> front (fcgi/ and resources/*_routes.c)
# 1. runorg-processor and runorgctl are not linked with libfcgi (ldd);
# 2. they define no symbol of the front, nor any FCGX_ one (nm);
# 3. no #include crosses a layer upwards (core, store, resources, processor, ctl).
set -u
BUILD=${1:-build}
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
bad=0
say() { echo "check-layers: $*"; }

for prog in runorg-processor runorgctl; do
	bin=$BUILD/$prog
	[[ -x $bin ]] || { say "$bin is not built"; bad=1; continue; }
	if ldd "$bin" | grep -q libfcgi; then
		say "$prog is linked with libfcgi"
		bad=1
	fi
	if nm "$bin" | grep -q ' [TtDdBbRrU] FCGX_'; then
		say "$prog has FCGX_ symbols"
		bad=1
	fi
	# Every global symbol the front's objects define must be absent here.
	front=$(nm --defined-only -g "$BUILD/libruno-front.a" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
	mine=$(nm --defined-only "$bin" | awk 'NF == 3 { print $3 }' | sort -u)
	leaked=$(comm -12 <(echo "$front") <(echo "$mine"))
	if [[ -n $leaked ]]; then
		say "$prog contains code of the front: $(echo "$leaked" | head -5 | tr '\n' ' ')"
		bad=1
	fi
done

# includes_above DIR ALLOWED_REGEX: #include "x/..." lines of DIR's files whose x/ is not allowed.
includes_above() {
	local dir=$1 allowed=$2 files=${3:-}
	[[ -n $files ]] || files=$(ls "$dir"/*.[ch] 2>/dev/null)
	for f in $files; do
		grep -Hn '^#include "' "$f" | grep -Ev "#include \"($allowed)/" | grep -v '#include "fuzz.h"'
	done
}
routes=$(ls app/resources/*_routes.[ch] 2>/dev/null)
resources=$(ls app/resources/*.[ch] | grep -v '_routes\.[ch]$')
out=$(
	includes_above app/core 'core'
	includes_above app/store 'core|store'
	includes_above app/resources 'core|store|resources' "$resources"
	includes_above app/processor 'core|store|resources|processor'
	includes_above app/ctl 'core|store|resources'
	# Only the front includes a route file; resources never include one.
	for f in $resources app/processor/*.[ch] app/ctl/*.[ch]; do
		grep -Hn '^#include "resources/.*_routes\.h"' "$f"
	done
)
if [[ -n $out ]]; then
	say "includes that cross a layer upwards:"
	echo "$out"
	bad=1
fi
((bad == 0)) && say "ok (core -> store -> resources -> front; processor and runorgctl without the front)"
exit $bad
