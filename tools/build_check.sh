#!/usr/bin/env bash
# Build the collection tarball, install it into a scratch path, and render every module's
# documentation from the installed copy: what a user of `ansible-galaxy collection install` gets.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${VENV:-.venv}/bin
OUT=$ROOT/.build/dist
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

rm -rf "$OUT"
"$BIN/ansible-galaxy" collection build --force --output-path "$OUT" "$ROOT" >/dev/null
tarball=$(ls "$OUT"/winops-volume_activation-*.tar.gz)
echo "build: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | wc -l) entries)"

# The lab, the integration tests and the developer tools are not part of the collection.
if tar -tzf "$tarball" | grep -E '^(lab|tools|tests/integration|extensions|\.venv|\.build)/' >/dev/null; then
  echo "build: the tarball contains files that build_ignore should leave out:" >&2
  tar -tzf "$tarball" | grep -E '^(lab|tools|tests/integration|extensions|\.venv|\.build)/' | head >&2
  exit 1
fi

"$BIN/ansible-galaxy" collection install --offline --force -p "$SCRATCH" "$tarball" 2>/dev/null >/dev/null
export ANSIBLE_COLLECTIONS_PATH=$SCRATCH ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
modules=$("$BIN/ansible-doc" -l winops.volume_activation 2>/dev/null | awk '{print $1}')
[[ -n $modules ]] || { echo "build: ansible-doc lists no module of the installed collection" >&2; exit 1; }
for m in $modules; do
  "$BIN/ansible-doc" "$m" >/dev/null
done
plugins=0
for kind in filter lookup; do
  for p in $("$BIN/ansible-doc" -t "$kind" -l winops.volume_activation 2>/dev/null | awk '{print $1}'); do
    "$BIN/ansible-doc" -t "$kind" "$p" >/dev/null
    plugins=$((plugins + 1))
  done
done
[[ $plugins -gt 0 ]] || { echo "build: ansible-doc lists no filter or lookup of the installed collection" >&2; exit 1; }
echo "build: installed and rendered the docs of $(echo "$modules" | wc -w) modules and $plugins filter/lookup plugins"
