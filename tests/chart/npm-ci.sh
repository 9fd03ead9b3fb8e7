#!/usr/bin/env bash
# Installs the validators' npm packages (package-lock.json) into tests/chart/node_modules with `npm ci`,
# once per lockfile: a copy of the lockfile in node_modules marks an install as done and current.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stamp=$here/node_modules/.kuorum-package-lock.json
if [ -f "$stamp" ] && cmp -s "$stamp" "$here/package-lock.json"; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm-ci: npm is needed and is not on PATH" >&2; exit 1; }
echo "npm-ci: installing the chart validators (tests/chart/package-lock.json)" >&2
(cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
cp "$here/package-lock.json" "$stamp"
