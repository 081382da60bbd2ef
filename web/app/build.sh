#!/usr/bin/env bash
# build.sh DEST - build the traveller web app (served at / on the gateway)
# with Vite into DEST: index.html and assets/ (hashed file names). Runs
# `npm ci` here first when node_modules is missing or older than the
# lockfile (needs the npm registry then; never at page load). Used by
# ./flightops (the dev stack's nginx/www/app) and by the Debian package
# (/usr/share/flightops/www/app). DEST is made to hold exactly this build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# == 1)) && [[ -n $1 ]] || { echo "usage: build.sh DEST" >&2; exit 2; }
mkdir -p "$1"
dest=$(cd "$1" && pwd)

# npm ci rewrites node_modules/.package-lock.json: newer than the lockfile
# means node_modules matches it. --ignore-scripts: nothing here needs an
# install script (rolldown and lightningcss ship their binaries as
# optional per-platform packages).
stale() {
	local stamp=$here/node_modules/.package-lock.json
	[[ ! -f $stamp || $stamp -ot $here/package-lock.json || ! -x $here/node_modules/.bin/vite ]]
}
command -v node >/dev/null || { echo "build.sh: node not found (Debian: apt-get install npm)" >&2; exit 1; }
# Two stacks starting at once (tests) must not both run npm ci or vite here.
exec 9<"$here"
flock 9
if stale; then
	command -v npm >/dev/null || { echo "build.sh: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
	(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi

tmp=$(mktemp -d "$dest/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$here" && node_modules/.bin/vite build --logLevel warn --outDir "$tmp/out" --emptyOutDir >&2)
exec 9<&-
find "$tmp/out" -type d -exec chmod 755 {} + -o -type f -exec chmod 644 {} +
mkdir -p "$dest/assets"
keep=$(cd "$tmp/out/assets" && printf ' %s ' *)
# Hashed assets first (a name is its content: one already there is the
# same file), then index.html by one rename, so a running nginx never
# serves an index.html whose files are missing, nor a half-written file.
for f in "$tmp"/out/assets/*; do
	[[ -e $dest/assets/${f##*/} ]] || mv "$f" "$dest/assets/"
done
mv -f "$tmp/out/index.html" "$dest/index.html"
# Then drop what older builds left.
for f in "$dest"/assets/*; do
	[[ $keep == *" ${f##*/} "* ]] || rm -f "$f"
done
for f in "$dest"/* "$dest"/.[!.]*; do
	[[ -e $f ]] || continue
	case ${f##*/} in index.html | assets | "${tmp##*/}") ;; *) rm -rf "$f" ;; esac
done
