#!/usr/bin/env bash
# The Debian packages the project needs on the machine itself (`make sysdeps`; `make demo` and
# `make test` run it first). The one list of them is PACKAGES below; .ci/run installs nothing
# of its own.
#
#   - bind9 (named): the lab's DNS server, where the _vlmcs._tcp SRV records live
#   - bind9-utils (tsig-keygen): the TSIG key the lab's zone accepts RFC 2136 updates with
#   - bind9-dnsutils (dig): tests read the zone back independently of the collection
#   - shellcheck: the shell-script lint of ansible-test sanity
#   - chromium: headless screenshots of the HTML fleet report
#   - python3-venv: only when python3 cannot create a virtual environment (no ensurepip),
#     as on a bare Debian; `make venv` needs it
#
# A package counts as present when its command is found, on PATH or in /usr/sbin and
# /usr/local/sbin (where Debian puts named, and where the lab looks for it too). What is
# missing is installed with apt-get, as root directly or through `sudo -n` (never a password
# prompt); otherwise the exact command is printed and the script exits 1, changing nothing.
#
# Environment: SYSDEPS_SBIN (default "/usr/sbin:/usr/local/sbin") the extra directories
# searched; DEBIAN_FRONTEND is set to noninteractive for apt-get.
set -euo pipefail

# package:command pairs, in install order
PACKAGES=(
  bind9:named
  bind9-utils:tsig-keygen
  bind9-dnsutils:dig
  shellcheck:shellcheck
  chromium:chromium
)

# A command counts when it is an executable regular file (after symlinks), on PATH or in SYSDEPS_SBIN.
found() {
  local cmd=$1 dir path
  path=$(command -v "$cmd" 2>/dev/null) && [[ -f $path && -x $path ]] && return 0
  IFS=: read -r -a dirs <<<"${SYSDEPS_SBIN-/usr/sbin:/usr/local/sbin}"
  for dir in "${dirs[@]}"; do
    [[ -n $dir && -f $dir/$cmd && -x $dir/$cmd ]] && return 0
  done
  return 1
}

missing=()
for entry in "${PACKAGES[@]}"; do
  found "${entry#*:}" || missing+=("${entry%%:*}")
done
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi

if ((${#missing[@]} == 0)); then
  echo "sysdeps: Debian packages present (${PACKAGES[*]%%:*})"
  exit 0
fi

install_cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
echo "sysdeps: missing Debian packages: ${missing[*]}"
if [[ $(id -u) == 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "sysdeps: not root and no password-less sudo; run this as root, then the make command again:" >&2
  echo "    sudo sh -c '$install_cmd'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: apt-get not found (not Debian or Ubuntu); install the equivalent of: ${missing[*]}" >&2
  exit 1
fi

echo "sysdeps: ${sudo[*]:+${sudo[*]} }$install_cmd"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

still=()
for entry in "${PACKAGES[@]}"; do
  found "${entry#*:}" || still+=("${entry%%:*} (${entry#*:})")
done
python3 -c 'import ensurepip, venv' 2>/dev/null || still+=("python3-venv (python3 -m venv)")
if ((${#still[@]})); then
  echo "sysdeps: installed, but these commands are still not found: ${still[*]}" >&2
  exit 1
fi
echo "sysdeps: installed ${missing[*]}"
