#!/usr/bin/env bash
# The README's first command (`make demo`): the whole job against the simulated demo fleet.
#
#   1. start the demo fleet (lab/fleets/demo.yml: 2 KMS hosts, 30 clients) on loopback,
#   2. write its KMS host keys (synthetic, from the fleet file) to a private inventory file,
#   3. run playbooks/site.yml: KMS hosts, then clients (Office 2010 clients wait for the
#      fifth one), then the fleet summary and the report files (report.json, report.csv,
#      report.html in $DEMO_STATE/report), whose paths it prints last,
#   4. stop the fleet, also when something failed.
#
# Environment: VENV (default .venv), DEMO_STATE (default .winlab/demo), DEMO_FORKS (default 32),
# DEMO_KEEP=1 leaves the fleet running (stop it with: .venv/bin/winlab down --state-dir .winlab/demo).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=$ROOT/${VENV:-.venv}/bin
STATE=${DEMO_STATE:-$ROOT/.winlab/demo}
FORKS=${DEMO_FORKS:-32}
FLEET=$ROOT/lab/fleets/demo.yml
REPORT=$STATE/report
COLLECTIONS=$ROOT/.build/collections
LINK=$COLLECTIONS/ansible_collections/winops/volume_activation

if [[ ! -x $BIN/ansible-playbook || ! -x $BIN/winlab ]]; then
  echo "demo: $BIN has no ansible-playbook or winlab; run 'make demo' (it creates the virtual environment)" >&2
  exit 2
fi
if [[ ! -e $LINK ]]; then
  mkdir -p "$(dirname "$LINK")"
  ln -sfn ../../../.. "$LINK"
fi
export ANSIBLE_COLLECTIONS_PATH=$COLLECTIONS ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
export ANSIBLE_HOST_KEY_CHECKING=false ANSIBLE_RETRY_FILES_ENABLED=false
export PATH=$BIN:$PATH

stop_fleet() {
  local rc=$?
  if [[ ${DEMO_KEEP:-0} == 1 ]]; then
    echo "demo: the fleet keeps running (DEMO_KEEP=1): $BIN/winlab down --state-dir $STATE"
  else
    echo "== stopping the demo fleet"
    "$BIN/winlab" down --state-dir "$STATE" || true
  fi
  exit "$rc"
}

echo "== starting the demo fleet ($FLEET)"
mkdir -p "$STATE"
"$BIN/winlab" up --state-dir "$STATE" --fleet "$FLEET" --inventory "$STATE/inventory.yml"
trap stop_fleet EXIT

echo "== KMS host keys from the fleet file (synthetic; written to $STATE/keys.yml, mode 0600)"
"$BIN/python" tools/fleet_keys.py "$FLEET" \
  --assign kms01=ws2022-csvlk,office2021-csvlk,office2016-csvlk \
  --assign kms-office2010=office2010-csvlk \
  --output "$STATE/keys.yml"

echo "== ansible-playbook playbooks/site.yml (KMS hosts, clients, fleet summary)"
start=$SECONDS
"$BIN/ansible-playbook" --forks "$FORKS" \
  -i "$STATE/inventory.yml" -i "$STATE/keys.yml" -i tools/demo/settings.yml \
  -e "activation_report_dest=$REPORT" \
  playbooks/site.yml
echo "== site.yml took $((SECONDS - start)) s"

echo "== the lab's own view of the fleet (winlab status)"
"$BIN/winlab" status --state-dir "$STATE"

echo "== the fleet report (open report.html in a browser; it needs no network)"
for f in report.html report.json report.csv; do
  if [[ -f $REPORT/$f ]]; then
    echo "  $REPORT/$f"
  else
    echo "demo: $REPORT/$f was not written" >&2
    exit 1
  fi
done
