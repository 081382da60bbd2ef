#!/bin/sh
# pg.sh - a throwaway PostgreSQL for the unit tests that need a real one
# (test_outbox, test_idem); tests/unit/CMakeLists.txt registers it as the
# ctest fixture unit_pg.
#
#   pg.sh up FILE    initdb a cluster in a fresh folder under /tmp, start it
#                    listening on a unix socket in that folder only (no TCP
#                    port, so two build trees never clash), create the
#                    database "unit" and write its URL to FILE
#   pg.sh down FILE  stop that server by its pid and delete the folder
#
# PostgreSQL refuses to run as root: as root, its programs run as the
# postgres user (runuser). PG_BIN overrides where they are.
set -eu

usage() {
	echo "usage: pg.sh up|down FILE" >&2
	exit 2
}

[ $# -eq 2 ] || usage
cmd=$1
file=$2
state=$file.dir # the folder of the running cluster

die() {
	echo "pg.sh: $*" >&2
	exit 1
}

# The newest installed server, unless PG_BIN says where.
pg_bin() {
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return
		fi
	done
	die "no PostgreSQL server found (set PG_BIN)"
}

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

down() {
	[ -f "$state" ] || return 0
	dir=$(cat "$state")
	case $dir in
	/tmp/fo-unit-pg.*) ;;
	*) die "refusing to delete '$dir'" ;;
	esac
	pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null; then
		# fast shutdown; give it 20 s before the hard stop
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
	rm -f "$state" "$file"
}

up() {
	bin=$(pg_bin)
	down # what a killed run left behind
	dir=$(mktemp -d /tmp/fo-unit-pg.XXXXXX)
	echo "$dir" >"$state"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres:postgres "$dir"
	fi
	chmod 700 "$dir"
	# trust: only root and the owner can enter the folder holding the socket
	as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
	cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = ''
		unix_socket_directories = '$dir'
		max_connections = 30
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
	# its own session, output to the log: ctest must not wait on the server
	as_pg setsid "$bin/pg_ctl" start -w -t 60 -s -D "$dir/data" -l "$dir/server.log" \
		</dev/null >"$dir/pg_ctl.log" 2>&1 ||
		{ cat "$dir/pg_ctl.log" "$dir/server.log" >&2; die "server did not start"; }
	as_pg "$bin/createdb" -h "$dir" -U postgres unit || die "createdb failed"
	echo "postgresql:///unit?host=$dir&user=postgres" >"$file"
	echo "pg.sh: PostgreSQL on $dir (database unit)"
}

case $cmd in
up) up ;;
down) down ;;
*) usage ;;
esac
