#!/usr/bin/env bash
# The ctest fixture "stack": start a clean test stack from this build tree,
# or stop it and fail when a sanitizer wrote a report. Environment (FO_ROOT,
# FO_VAR, FO_BUILD, the FO_*_PORT values) comes from tests/integration/CMakeLists.txt.
set -euo pipefail
shopt -s nullglob
fo=$FO_ROOT/flightops

case ${1-} in
up)
	# The pools allow one browser origin (a declared setting, passed from
	# this environment); fo.py names the same one.
	export CORS_ORIGINS=${CORS_ORIGINS:-https://app.flightops.test}
	# Stop whatever an earlier run left (by its pid files), then start afresh
	# with the sample data, as `./flightops up` would.
	"$fo" clean
	rm -rf "$FO_VAR/log"
	"$fo" start
	exec "$fo" samples
	;;
down)
	status=0
	"$fo" down || status=1
	reports=("$FO_VAR"/log/asan.* "$FO_VAR"/log/ubsan.*)
	for report in "${reports[@]}"; do
		printf '\n==== sanitizer report %s\n' "$report"
		head -n 60 "$report"
		status=1
	done
	# Keep the logs for a look afterwards; drop the data.
	"$fo" clean >/dev/null || status=1
	exit "$status"
	;;
*)
	echo "usage: stack.sh up|down" >&2
	exit 2
	;;
esac
