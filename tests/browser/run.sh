#!/usr/bin/env bash
# run.sh TEST.mjs [SCREENSHOT] - run one browser test: `npm ci` here first
# when node_modules is missing or older than the lockfile (playwright-core
# only; it never downloads a browser), then node. The stack must be up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp=$here/node_modules/.package-lock.json
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [[ ! -f $stamp || $stamp -ot $here/package-lock.json ]]; then
	exec 9<"$here"
	flock 9
	(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
	exec 9<&-
fi
[[ -z ${2-} ]] || export FO_SCREENSHOT=$2
exec node "$here/$1"
