#!/usr/bin/env bash
# build.sh DEST - put the interactive API page (/docs) into DEST: Swagger UI's
# dist files at the version package-lock.json pins, plus this folder's own
# index.html, flightops-docs.js and flightops-docs.css. Runs `npm ci` here
# first when node_modules is missing or older than the lockfile (needs the
# npm registry then; never at page load). Used by ./flightops (the dev
# stack's nginx/www/docs) and by the Debian package (/usr/share/flightops/www/docs).
# DEST is made to hold exactly these files (others in it are removed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
(($# == 1)) && [[ -n $1 ]] || { echo "usage: build.sh DEST" >&2; exit 2; }
dest=$1
dist=$here/node_modules/swagger-ui-dist
# Only what the page loads (and the licence that comes with it).
DIST_FILES=(swagger-ui-bundle.js swagger-ui.css swagger-ui.css.map favicon-16x16.png
	favicon-32x32.png oauth2-redirect.html oauth2-redirect.js LICENSE NOTICE)
OWN_FILES=(index.html flightops-docs.js flightops-docs.css)

# npm ci rewrites node_modules/.package-lock.json: newer than the lockfile
# means node_modules matches it. --ignore-scripts: swagger-ui-dist pulls in
# @scarf/scarf, whose install script reports the download to a third party.
stale() {
	local stamp=$here/node_modules/.package-lock.json
	[[ ! -f $stamp || $stamp -ot $here/package-lock.json || ! -d $dist ]]
}
if stale; then
	command -v npm >/dev/null || { echo "build.sh: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
	# Two stacks starting at once (tests) must not both run npm ci here.
	exec 9<"$here"
	flock 9
	if stale; then (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2); fi
	exec 9<&-
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in "${DIST_FILES[@]}"; do cp "$dist/$f" "$tmp/"; done
for f in "${OWN_FILES[@]}"; do cp "$here/$f" "$tmp/"; done
# nginx gives a type by extension: the licence texts become .txt
for f in LICENSE NOTICE; do mv "$tmp/$f" "$tmp/swagger-ui-$f.txt"; done
chmod 644 "$tmp"/*
keep=$(cd "$tmp" && printf ' %s ' *)
# Replace file by file (rename is atomic) so a running nginx never serves a
# half-written file, then drop whatever an older build left.
for f in "$tmp"/*; do
	cmp -s "$f" "$dest/${f##*/}" || mv -f "$f" "$dest/"
done
for f in "$dest"/*; do
	[[ $keep == *" ${f##*/} "* ]] || rm -rf "$f"
done
