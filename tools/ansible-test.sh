#!/usr/bin/env bash
# Run ansible-test (sanity, units) on a clean copy of the collection, offline-safe.
#
#   tools/ansible-test.sh sanity [ansible-test sanity options...]
#   tools/ansible-test.sh units  [ansible-test units options...]
#
# Why a copy: ansible-test must run from .../ansible_collections/<namespace>/<name>, and the
# checkout also holds things that are not the collection (.venv, .build, lab/, tests/output)
# which sanity would otherwise lint. The copy holds the git-tracked files plus uncommitted
# ones (untracked files that .gitignore does not ignore), so work in progress is tested too.
#
# Why a pip bootstrap: every sanity test runs in a virtual environment that ansible-test
# creates under ~/.ansible/test/venv, even with --local, and it seeds each one with pip by
# running a get-pip script downloaded from ci-files.testing.ansible.com, a host this machine
# cannot reach. ansible-test first looks for that script in its cache
# (~/.ansible/test/cache/get_pip_<version>.py, see ansible_test/_util/target/setup/requirements.py),
# so this script writes a local stand-in there: it installs the same pip version from the
# official pip wheel, fetched from PyPI (which is reachable). The sanity requirements
# themselves come from PyPI through that pip, pinned by ansible-test's own requirement files.
#
# The run uses --local: ansible-test itself runs from .venv (ansible-core 2.19 is installed
# there) and --python 3.11 is the Python the tests target.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-.venv}
BIN=$ROOT/$VENV/bin
COMMAND=${1:?usage: tools/ansible-test.sh sanity|units [ansible-test options...]}
shift

# --- the pip bootstrap stand-in ---------------------------------------------------------
# The pip version ansible-test pins for its virtual environments (get_venv_packages()).
PIP_VERSION=$("$BIN/python" - <<'EOF'
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"])
EOF
)
CACHE=$HOME/.ansible/test/cache
BOOTSTRAP=$CACHE/get_pip_${PIP_VERSION//./_}.py
WHEEL_DIR=$CACHE/pip-wheels
mkdir -p "$CACHE" "$WHEEL_DIR"
if ! compgen -G "$WHEEL_DIR/pip-$PIP_VERSION-*.whl" >/dev/null; then
  "$BIN/python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$WHEEL_DIR" "pip==$PIP_VERSION"
fi
WHEEL=$(compgen -G "$WHEEL_DIR/pip-$PIP_VERSION-*.whl" | head -n1)
cat >"$BOOTSTRAP.tmp" <<EOF
# Local stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-$PIP_VERSION.py
# written by tools/ansible-test.sh (winops.volume_activation). Like get-pip.py it installs pip
# into the running interpreter; it does so from the official pip $PIP_VERSION wheel (from PyPI),
# run as a zip application, as pip's documentation describes for installing pip from a wheel.
import os
import subprocess
import sys

WHEEL = "$WHEEL"
# get-pip.py options that plain pip does not know
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
command = [sys.executable, os.path.join(WHEEL, "pip"), "install", "--no-index", "--find-links", os.path.dirname(WHEEL)]
sys.exit(subprocess.call(command + args))
EOF
mv "$BOOTSTRAP.tmp" "$BOOTSTRAP"

# --- the copy ---------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/winops-ansible-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
DEST=$WORK/ansible_collections/winops/volume_activation
mkdir -p "$DEST"
(
  cd "$ROOT"
  git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' path; do
      case "$path" in
        .venv/* | .build/* | lab/* | tests/output/*) continue ;;
      esac
      [[ -e "$path" ]] && printf '%s\0' "$path"  # tracked but deleted in the work tree: skip
    done |
    tar --null --files-from=- -cf - | tar -xf - -C "$DEST"
)

# ansible-test finds the collection from the working directory; a collections path pointing
# at the checkout (as the Makefile exports) would make it load a second copy.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_COLLECTIONS_SCAN_SYS_PATH
export PATH=$BIN:$PATH

extra=()
if [[ "$COMMAND" == sanity ]] && ! command -v pwsh >/dev/null 2>&1; then
  # pslint runs PSScriptAnalyzer under pwsh; without pwsh ansible-test would only warn and
  # check nothing. Skip it by name so the summary says so. The executor's syntax is checked
  # by tools/check_powershell.py (make lint) instead; its lint rules are not.
  echo "tools/ansible-test.sh: pwsh not found (not installable here): skipping pslint" >&2
  extra+=(--skip-test pslint)
fi

status=0
(cd "$DEST" && "$BIN/ansible-test" "$COMMAND" --local --python 3.11 --color no "${extra[@]}" "$@") || status=$?

# keep the reports (tests/output is git-ignored in the checkout)
if [[ -d "$DEST/tests/output" ]]; then
  mkdir -p "$ROOT/tests/output"
  cp -r "$DEST/tests/output/." "$ROOT/tests/output/"
fi
exit "$status"
