#!/usr/bin/env bash
# `make images-check`: runs the `dotnet` build steps of the Dockerfiles on this machine, with the very
# arguments the Dockerfiles use (read from their `RUN dotnet ...` lines, so the two cannot drift apart),
# publishing into artifacts/images/<image>/ instead of /app. No container engine is needed.
# Like `docker build`, each image builds in a fresh copy of the build context (the files the Dockerfiles
# COPY, without bin/ and obj/): no stale incremental output can make a failing build look green, and the
# developers' own obj/ folders are left alone.
# The agent is published with Native AOT, which needs clang and zlib (installed with apt-get when missing
# and running as root, as CI does).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

if ! command -v clang >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "images-check: installing clang and zlib1g-dev for Native AOT (apt-get)"
    apt-get install -y -qq clang zlib1g-dev >/dev/null || { apt-get update -qq && apt-get install -y -qq clang zlib1g-dev >/dev/null; }
  else
    echo "images-check: Native AOT needs clang (apt-get install clang zlib1g-dev)" >&2
    exit 1
  fi
fi

status=0
for image in agent operator; do
  case $image in
    agent) dockerfile=src/Kuorum.Agent/Dockerfile ;;
    operator) dockerfile=src/Kuorum.Operator/Dockerfile ;;
  esac
  out=$root/artifacts/images/$image
  rm -rf "$out"
  context=$(mktemp -d)
  trap 'rm -rf "$context"' EXIT
  cp global.json Directory.Build.props Directory.Packages.props .editorconfig "$context"/
  tar --exclude=bin --exclude=obj -cf - src | tar -xf - -C "$context"
  # Join continuation lines, keep the RUN dotnet steps, and point their output at $out.
  mapfile -t steps < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | sed -n 's/^RUN \(dotnet .*\)$/\1/p')
  if [ ${#steps[@]} -eq 0 ]; then
    echo "images-check: $dockerfile has no 'RUN dotnet ...' step" >&2
    exit 1
  fi
  for step in "${steps[@]}"; do
    step=${step// -o \/app/ -o $out}
    echo "images-check ($image): $step"
    if ! (cd "$context" && eval "$step"); then
      echo "images-check: FAILED: $image: $step" >&2
      status=1
      rm -rf "$context"
      continue 2
    fi
  done
  echo "images-check ($image): published to ${out#"$root"/}"
  rm -rf "$context"
done
if [ "$status" = 0 ]; then
  du -sh artifacts/images/agent artifacts/images/operator
  echo "images-check: ok"
else
  echo "images-check: FAILED"
fi
exit $status
