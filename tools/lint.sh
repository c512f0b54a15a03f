#!/usr/bin/env bash
# Static checks for the collection and the lab (`make lint`). Runs every check, then reports
# which failed; exits 1 if any did. Offline: nothing here downloads anything.
#
#   ruff          plugins tests tools lab (config: pyproject.toml)
#   mypy          the collection as the namespace package ansible_collections.winops.volume_activation,
#                 then lab/src (package winlab)
#   ansible-lint  production profile (config: .ansible-lint), --offline
#   PowerShell    tools/check_powershell.py: syntax of plugins/**/*.ps1 without pwsh
#   changelog     antsibull-changelog lint, then tools/check_changelog.py --render: the fragment
#                 conventions of changelogs/README.md and a trial release's CHANGELOG.rst
#   docs          antsibull-docs lint-collection-docs: every plugin's and role's documentation
#                 and the guides under docs/docsite (links.yml, extra-docs.yml, rst)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
BIN=$ROOT/${VENV:-.venv}/bin
COLLECTIONS=$ROOT/.build/collections
LINK=$COLLECTIONS/ansible_collections/winops/volume_activation
export PATH=$BIN:$PATH

# The collection is importable only through this link (as in the Makefile's `link` target).
if [[ ! -e "$LINK" ]]; then
  mkdir -p "$(dirname "$LINK")"
  ln -sfn ../../../.. "$LINK"
fi

failed=()
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  if "$@"; then
    echo "-- $name: ok ($((SECONDS - start))s)"
  else
    echo "-- $name: FAILED ($((SECONDS - start))s)"
    failed+=("$name")
  fi
}

mypy_collection() (
  # mypy must see the files under their package name, so it is given the paths through the
  # link with --explicit-package-bases and MYPYPATH at the link's root. It runs from inside
  # .build/collections because pyproject.toml excludes '^\.build/' (so that a plain `mypy .`
  # does not check everything twice), which would also drop every path given through the link.
  cd "$COLLECTIONS" &&
    MYPYPATH=. "$BIN/mypy" --config-file "$ROOT/pyproject.toml" --cache-dir "$ROOT/.mypy_cache/collection" \
      --explicit-package-bases --exclude '/tests/output/' \
      ansible_collections/winops/volume_activation/plugins \
      ansible_collections/winops/volume_activation/tests \
      ansible_collections/winops/volume_activation/tools
)

mypy_lab() (
  # winlab is a regular package under lab/src; its own directory holds its project file.
  cd "$ROOT/lab" && "$BIN/mypy" --config-file "$ROOT/pyproject.toml" --cache-dir "$ROOT/.mypy_cache/lab" src
)

ansible_lint() {
  # ANSIBLE_HOME inside .build: ansible-lint (ansible-compat) puts its cache directory's collections
  # first on the collection path, ~/.ansible/collections by default, where Molecule and other tools
  # install copies of this collection; a stale copy there would shadow the checkout's own.
  ANSIBLE_HOME=$ROOT/.build/ansible-home ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
    "$BIN/ansible-lint" --offline --nocolor
}

changelog() {
  "$BIN/antsibull-changelog" lint && "$BIN/python" tools/check_changelog.py --render
}

collection_docs() {
  # References to other collections (seealso: ansible.windows, community.*) are not validated:
  # those collections are not installed here, and the docs site links them to their own docs.
  ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
    "$BIN/antsibull-docs" lint-collection-docs --plugin-docs --validate-collection-refs=self "$LINK"
}

step ruff "$BIN/ruff" check plugins tests tools lab
step "mypy (collection)" mypy_collection
step "mypy (lab)" mypy_lab
step ansible-lint ansible_lint
step powershell "$BIN/python" tools/check_powershell.py
step changelog changelog
step docs collection_docs

if ((${#failed[@]})); then
  echo "lint: FAILED: ${failed[*]}"
  exit 1
fi
echo "lint: all checks passed"
