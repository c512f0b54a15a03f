#!/usr/bin/env bash
# Build the collection tarball, install it into a scratch path, and render every module's
# documentation from the installed copy: what a user of `ansible-galaxy collection install` gets.
# Then what Galaxy and an execution environment do with it, offline:
#   galaxy-importer   the checks Galaxy runs on upload (config: tools/galaxy-importer/; no
#                     ansible-test container, ansible-lint offline)
#   ansible-builder   introspect reads the installed collection's Python dependencies from
#                     meta/execution-environment.yml; create writes the build context of
#                     ee/execution-environment.yml with this tarball in it (no image is built:
#                     that needs podman or docker and the base image's registry)
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

# --- galaxy-importer ----------------------------------------------------------------------
IMPORT_LOG=$ROOT/.build/galaxy-importer.log
# HOME and ANSIBLE_HOME point into the scratch directory: the importer's ansible-lint run installs
# the collection under ~/.ansible/collections, which every later ansible-lint on this machine would
# then see before the checkout's own copy.
mkdir -p "$SCRATCH/importer-tmp" "$SCRATCH/home"
if ! (cd "$SCRATCH" && GALAXY_IMPORTER_CONFIG=$ROOT/tools/galaxy-importer/galaxy-importer.cfg \
  GALAXY_IMPORTER_TMP_ROOT_DIR=$SCRATCH/importer-tmp GALAXY_IMPORTER_ANSIBLE_LOCAL_TMP=$SCRATCH/home/.ansible/tmp \
  HOME=$SCRATCH/home ANSIBLE_HOME=$SCRATCH/home/.ansible PATH=$BIN:$PATH \
  "$BIN/python" -m galaxy_importer.main "$tarball") >"$IMPORT_LOG" 2>&1; then
  echo "build: galaxy-importer failed (log: $IMPORT_LOG):" >&2
  grep -E 'ERROR|Error|Traceback' "$IMPORT_LOG" | head -20 >&2
  exit 1
fi
if grep -q '^ERROR' "$IMPORT_LOG" || ! grep -q 'Importer processing completed successfully' "$IMPORT_LOG"; then
  echo "build: galaxy-importer reported errors (log: $IMPORT_LOG):" >&2
  grep -E '^ERROR' "$IMPORT_LOG" | head -20 >&2
  exit 1
fi
echo "build: galaxy-importer passed ($(grep -c '^WARNING' "$IMPORT_LOG") warnings, log: .build/galaxy-importer.log)"

# --- ansible-builder ----------------------------------------------------------------------
deps=$("$BIN/ansible-builder" introspect --sanitize "$SCRATCH")
for want in pywinrm dnspython; do
  grep -q "^- '$want.*# from collection winops.volume_activation'" <<<"$deps" || {
    echo "build: ansible-builder introspect does not list $want for the collection:" >&2
    echo "$deps" >&2
    exit 1
  }
done
# ee/execution-environment.yml installs the collection from Galaxy; the check installs this
# tarball instead (copied into the build context), everything else unchanged.
EE=$SCRATCH/ee
mkdir -p "$EE"
cp "$tarball" "$EE/"
"$BIN/python" - "$ROOT/ee/execution-environment.yml" "$EE/execution-environment.yml" "$(basename "$tarball")" <<'PY'
import sys
import yaml

source, dest, tarball = sys.argv[1:]
with open(source, encoding="utf-8") as f:
    ee = yaml.safe_load(f)
# the image build copies _build/ to /build and runs ansible-galaxy there
ee["dependencies"]["galaxy"] = {"collections": [{"name": tarball, "type": "file"}]}
ee["additional_build_files"] = [{"src": tarball, "dest": "."}]
with open(dest, "w", encoding="utf-8") as f:
    yaml.safe_dump(ee, f, sort_keys=False)
PY
"$BIN/ansible-builder" create -f "$EE/execution-environment.yml" -c "$EE/context" --output-filename Containerfile >/dev/null
for want in "$EE/context/Containerfile" "$EE/context/_build/$(basename "$tarball")" "$EE/context/_build/requirements.yml"; do
  [[ -s $want ]] || { echo "build: ansible-builder create wrote no ${want#"$EE"/}" >&2; exit 1; }
done
grep -q 'introspect.py introspect' "$EE/context/Containerfile" || {
  echo "build: the Containerfile does not run ansible-builder's introspect" >&2
  exit 1
}
# The image build's two collection steps, run here without a container: the galaxy stage
# (ansible-galaxy collection install -r requirements.yml in /build, which is _build/) and the
# builder stage (the context's own introspect.py writes the pip requirements of the image).
(cd "$EE/context/_build" && "$BIN/ansible-galaxy" collection install --offline --force -r requirements.yml -p "$EE/collections" >/dev/null 2>&1)
"$BIN/python" "$EE/context/_build/scripts/introspect.py" introspect "$EE/collections" \
  --write-pip "$EE/requirements.txt" --write-bindep "$EE/bindep.txt" >/dev/null
for want in pywinrm dnspython; do
  grep -q "^$want" "$EE/requirements.txt" || {
    echo "build: the execution environment would not install $want (introspect wrote:)" >&2
    cat "$EE/requirements.txt" >&2
    exit 1
  }
done
echo "build: ansible-builder: introspect lists pywinrm and dnspython; create wrote the EE context, whose galaxy and introspect steps pass"
