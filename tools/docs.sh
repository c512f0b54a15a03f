#!/usr/bin/env bash
# Build the collection's docs site offline (`make docs`): antsibull-docs renders every module,
# plugin and role of this checkout plus the guides under docs/docsite/rst (listed in
# docs/docsite/extra-docs.yml) to reStructuredText, and Sphinx builds the HTML, warnings as errors.
# The Sphinx project (conf.py, antsibull-docs.cfg) was made with `antsibull-docs sphinx-init` and
# lives in docs/site/; intersphinx is off because the build must not need the network.
#
# Output: .build/docs/html/index.html (DOCS_OUT overrides .build/docs).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/${VENV:-.venv}/bin
OUT=${DOCS_OUT:-$ROOT/.build/docs}
COLLECTIONS=$ROOT/.build/collections
LINK=$COLLECTIONS/ansible_collections/winops/volume_activation
if [[ ! -e $LINK ]]; then
  mkdir -p "$(dirname "$LINK")"
  ln -sfn ../../../.. "$LINK"
fi
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false PATH=$BIN:$PATH

# the HRESULT guide is generated from the collection's own table and must match it
"$BIN/python" "$ROOT/tools/docs_hresults.py" --check

rm -rf "$OUT"
mkdir -p "$OUT/rst"
chmod 700 "$OUT/rst"  # antsibull-docs wants its output directory writable by itself only
"$BIN/antsibull-docs" --config-file "$ROOT/docs/site/antsibull-docs.cfg" collection \
  --cleanup everything --fail-on-error --use-current --squash-hierarchy \
  --dest-dir "$OUT/rst" winops.volume_activation >/dev/null
"$BIN/sphinx-build" -q -b html -c "$ROOT/docs/site" -W --keep-going "$OUT/rst" "$OUT/html"
echo "docs: $OUT/html/index.html ($(find "$OUT/html" -name '*.html' | wc -l) pages)"
