#!/usr/bin/env bash
# Proves that the checks of `make chart` catch what they are meant to catch: every file under
# tests/chart/broken/ is fed to the very checks that pass on the real values and samples, and each must
# FAIL, with the text on its `# expect:` line in the output. A broken input that passes is a failed test.
# Usage: negative.sh HELM RESULTS_FILE
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
helm=$1
results=$2
cd "$root"

run_case() { # name kind file
  local name=$1 kind=$2 file=$3 start expect out status
  start=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
  expect=$(sed -n 's/^# expect: //p' "$file" | head -n 1)
  if [ -z "$expect" ]; then
    node "$here/lib/record.mjs" "$results" "$name" Failed "$start" "${file#"$root"/}: no '# expect:' line"
    echo "FAIL $name"
    return
  fi
  if [ "$kind" = values ]; then
    out=$(node "$here/check.mjs" --helm "$helm" --only lint,render --values "$file" 2>&1)
  else
    out=$(node "$here/check.mjs" --helm "$helm" --only samples --samples "$file" 2>&1)
  fi
  status=$?
  if [ "$status" -eq 0 ]; then
    node "$here/lib/record.mjs" "$results" "$name" Failed "$start" "${file#"$root"/} passed the check but must fail it:"$'\n'"$out"
    echo "FAIL $name (the broken input was accepted)"
  elif ! grep -qF -- "$expect" <<<"$out"; then
    node "$here/lib/record.mjs" "$results" "$name" Failed "$start" "${file#"$root"/} failed, but not with \"$expect\":"$'\n'"$out"
    echo "FAIL $name (failed for another reason)"
    sed 's/^/       /' <<<"$out"
  else
    node "$here/lib/record.mjs" "$results" "$name" Passed "$start"
    echo "ok   $name"
  fi
}

shopt -s nullglob
values=("$here"/broken/values/*.yaml)
samples=("$here"/broken/samples/*.yaml)
[ ${#values[@]} -gt 0 ] || { echo "negative.sh: no broken values files" >&2; exit 1; }
[ ${#samples[@]} -gt 0 ] || { echo "negative.sh: no broken samples" >&2; exit 1; }
for f in "${values[@]}"; do run_case "Kuorum.Chart.Negative.BrokenValuesFail(file: $(basename "$f"))" values "$f"; done
for f in "${samples[@]}"; do run_case "Kuorum.Chart.Negative.BrokenSampleFails(file: $(basename "$f"))" samples "$f"; done
