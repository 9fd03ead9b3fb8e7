#!/usr/bin/env bash
# Prints the closing line of `make test` from the TRX files dotnet test wrote:
#   N passed, N failed[, N skipped]
# Usage: trx-summary.sh RESULTS_DIR RUNNER_EXIT_CODE
# A runner that failed without a failed test in its results (a build error, a crashed test host) counts as one
# failure, so the line never reads green when the run was not.
set -euo pipefail
dir=$1
status=$2
passed=0 failed=0 skipped=0
shopt -s nullglob
for trx in "$dir"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" || true)
  value() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  skipped=$((skipped + $(value notExecuted)))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "test runner exited with $status without a failed test in its results: counting it as a failure" >&2
  failed=1
fi
# Name each failed test with the first line of its message, so a CI log that keeps only its tail still says what broke.
for trx in "$dir"/*.trx; do
  awk '
    /<UnitTestResult / && /outcome="(Failed|Error|Timeout|Aborted)"/ {
      match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11); want = 1; next }
    want && /<Message>/ {
      msg = $0; sub(/.*<Message>/, "", msg); sub(/<\/Message>.*/, "", msg)
      printf "FAILED %s: %s\n", name, substr(msg, 1, 300); want = 0; next }
    want && /<\/UnitTestResult>/ { printf "FAILED %s\n", name; want = 0 }
  ' "$trx"
done
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
