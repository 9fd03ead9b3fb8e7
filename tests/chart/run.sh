#!/usr/bin/env bash
# `make chart`: fetches the tools (cached), runs every check of check.mjs and the negative tests of
# negative.sh, writes the results as a TRX file (artifacts/test-results/chart.trx, or $CHART_RESULTS_DIR)
# for `make test`'s "N passed, N failed" line, and ends with one line: "chart: ok (N checks)" or
# "chart: FAILED ...". Exit status 0 only when every check passed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
results_dir=${CHART_RESULTS_DIR:-artifacts/test-results}
trx=$results_dir/chart.trx
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl
: > "$results"

if ! command -v node >/dev/null; then
  echo "chart: FAILED: node is not on PATH (Node.js 20 or later runs the chart checks)"
  exit 1
fi
now() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
record() { node "$here/lib/record.mjs" "$results" "$@"; }

tools_ok=1
start=$(now)
if helm=$("$here/fetch-helm.sh" 2>"$work/fetch.log" | tail -n 1) && [ -x "$helm" ]; then
  record Kuorum.Chart.Tools.FetchHelm Passed "$start"
else
  record Kuorum.Chart.Tools.FetchHelm Failed "$start" "$(cat "$work/fetch.log")"
  cat "$work/fetch.log"
  tools_ok=0
fi
start=$(now)
if "$here/npm-ci.sh" 2>"$work/npm.log"; then
  record Kuorum.Chart.Tools.NpmCi Passed "$start"
else
  record Kuorum.Chart.Tools.NpmCi Failed "$start" "$(cat "$work/npm.log")"
  cat "$work/npm.log"
  tools_ok=0
fi

if [ "$tools_ok" = 1 ]; then
  echo "chart: checks (Helm $("$helm" version --short))"
  node "$here/check.mjs" --helm "$helm" --results "$results"
  echo "chart: negative tests (each broken input must fail)"
  bash "$here/negative.sh" "$helm" "$results"
fi

node "$here/lib/trx.mjs" "$results" "$trx" kuorum-chart
node - "$results" "$trx" <<'JS'
const fs = require("node:fs");
const [file, trx] = process.argv.slice(2);
const rows = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const failed = rows.filter((r) => r.outcome !== "Passed");
console.log(`chart: results in ${trx}`);
if (rows.length === 0) console.log("chart: FAILED: no check ran");
else if (failed.length === 0) console.log(`chart: ok (${rows.length} checks)`);
else {
  const names = failed.map((r) => r.name);
  const shown = names.slice(0, 4).join(", ") + (names.length > 4 ? `, and ${names.length - 4} more` : "");
  // One cause behind many failures is named first.
  const crd = failed.map((r) => /\S+ missing: run make crds/.exec(r.message ?? "")).find(Boolean);
  console.log(`chart: FAILED: ${crd ? `${crd[0]}; ` : ""}${failed.length} of ${rows.length} checks failed: ${shown}`);
}
process.exitCode = rows.length && !failed.length ? 0 : 1;
JS
