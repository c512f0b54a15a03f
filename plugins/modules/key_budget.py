#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: key_budget runs entirely on the controller through its
# action plugin (plugins/action/key_budget.py) and never contacts the host.

DOCUMENTATION = r"""
---
module: key_budget
short_description: Record how many activations a MAK or KMS host key has left, in the controller's key ledger
version_added: 0.1.0
description:
  - Keeps the key ledger, a JSON file on the control node that holds, per MAK or KMS host key (CSVLK), the
    activations left as the operator reads them from the Volume Licensing Service Center, and every activation the
    collection made with it (host, client machine ID, product, date, online or phone).
  - With a budget recorded, M(winops.volume_activation.product_key) refuses to install the key on one more host,
    and M(winops.volume_activation.activation) refuses to activate with it, before anything is sent to the host,
    once the budget is used up. Each host reserves one activation under a file lock shared by every fork and every
    ansible-playbook process, so no number of forks attempts more activations than the budget; a failed attempt
    that consumed nothing releases its reservation.
  - A key is identified in the ledger by its last five characters and a salted SHA-256 hash; the key itself is
    never written, logged or returned.
  - Runs on the controller only; no WinRM round trip. Use it with C(run_once) or on C(localhost).
options:
  edition:
    description:
      - The Windows edition the key is for, as the edition ID in the Windows product name that
        C(slmgr.vbs /dlv) shows (V(Enterprise), V(Professional), V(ServerStandard), ...).
      - With it, M(winops.volume_activation.product_key) refuses, before anything is sent, to install the key on a
        host that runs another edition.
    type: str
    version_added: 0.1.0
  key:
    description:
      - The product key whose budget is recorded, read or removed. Never shown; results show it as
        C(XXXXX-XXXXX-XXXXX-XXXXX-) followed by its last five characters.
    type: str
    required: true
    aliases: [product_key]
    version_added: 0.1.0
  key_type:
    description:
      - V(mak) for a Multiple Activation Key, V(kms_host) for a KMS host key (CSVLK).
      - Required with O(state=present).
      - A MAK activation is counted once per machine and a KMS host key once per host, as Microsoft's activation
        service counts them; activating the same host again consumes nothing from the budget.
    type: str
    choices: [mak, kms_host]
    version_added: 0.1.0
  ledger:
    description:
      - The ledger file. Default the C(volume_activation_ledger) variable, else C(volume_activation_ledger.json)
        beside the inventory (C(inventory_dir)), created on the first change.
      - M(winops.volume_activation.product_key) and M(winops.volume_activation.activation) use the file named by
        the C(volume_activation_ledger) variable, or C(volume_activation_ledger.json) beside the inventory when it
        exists; without either they count nothing and refuse nothing.
    type: path
    version_added: 0.1.0
  note:
    description:
      - Free text kept with the key (the agreement, the VLSC product name).
    type: str
    version_added: 0.1.0
  remaining:
    description:
      - The activations left on the key, as the Volume Licensing Service Center shows them today. From now on the
        ledger counts the hosts that activate with the key (and had not before) against it.
      - Recording a new number starts the count again from that date.
      - Omitted, the key is recorded without a budget; its activations are recorded and nothing is refused.
      - Must be 0 or more.
    type: int
    version_added: 0.1.0
  state:
    description:
      - V(present) records the key and its budget, V(absent) removes it and its reservations (its activation
        records stay), V(query) only reads it (fails when the ledger does not hold the key).
    type: str
    choices: [absent, present, query]
    default: present
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Reports what would change in the ledger; the file is not written.
  diff_mode:
    details: The key's ledger entry (remaining, kind, date, note, edition) before and after.
  platform:
    platforms: posix
    details: Runs on the control node.
  action:
    details:
      - The action plugin does the whole job on the control node; no host is contacted.
notes:
  - Writes are atomic (temporary file, fsync, rename) and made under an exclusive lock on C(<ledger>.lock). Killing
    ansible-playbook at any point loses no record and counts none twice; a reservation left by an interrupted run
    is settled the next time the collection reads that host (the key activated there is recorded once, a key no
    longer installed is released).
  - The ledger does not model the KMS host key's limit of 10 activations per host; it counts hosts.
seealso:
  - module: winops.volume_activation.product_key
  - module: winops.volume_activation.activation
  - name: Plan for volume activation
    description: Microsoft's description of MAK and KMS host key activation counts.
    link: https://learn.microsoft.com/windows/deployment/volume-activation/plan-for-volume-activation-client
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Record the 50 activations left on the Windows 11 Enterprise MAK
  winops.volume_activation.key_budget:
    key: "{{ vault_win11_mak }}"
    key_type: mak
    remaining: 50
    note: "Open License 12345678, VLSC 2026-12-01"
  run_once: true
  delegate_to: localhost

- name: Read how many are left
  winops.volume_activation.key_budget:
    key: "{{ vault_win11_mak }}"
    state: query
  run_once: true
  register: budget

- name: Show it
  ansible.builtin.debug:
    msg: "{{ budget.budget.available }} activations left, used by {{ budget.activations | map(attribute='host') }}"
"""

RETURN = r"""
activations:
  description: Every activation the collection made with the key, oldest first.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    host:
      description: The inventory host name.
      type: str
      sample: ws01
    cmid:
      description: The host's client machine ID (CMID) when it was activated.
      type: str
      sample: 6c1b2d3e-0f4a-4b5c-8d9e-0a1b2c3d4e5f
    activation_id:
      description: The activation ID of the product activated.
      type: str
      sample: 73111121-5638-40f6-bc11-f1d7b0d64300
    product:
      description: The name of the product activated.
      type: str
      sample: Windows(R), Enterprise edition
    method:
      description: V(online), V(phone), or V(recovered) for an activation found on the host after an interrupted run.
      type: str
      sample: online
    date:
      description: When it was recorded (UTC).
      type: str
      sample: "2026-12-02T01:50:00Z"
budget:
  description: The key's budget; null after O(state=absent).
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    remaining:
      description: The activations left as recorded with O(remaining) (null when not budgeted).
      type: int
      sample: 50
    as_of:
      description: When O(remaining) was recorded (UTC).
      type: str
      sample: "2026-12-01T09:00:00Z"
    used:
      description: Hosts that activated with the key since then and had not before.
      type: int
      sample: 3
    reserved:
      description: Hosts holding a reservation (the key installed, or an activation in flight) that have not
        activated with it yet.
      type: int
      sample: 1
    reserved_by:
      description: Those hosts.
      type: list
      elements: str
      sample: [ws04]
    available:
      description: C(remaining - used - reserved); null when not budgeted.
      type: int
      sample: 46
edition:
  description: The Windows edition recorded for the key (null when none was given).
  returned: success and the key is in the ledger
  version_added: 0.1.0
  type: str
  sample: Enterprise
key_id:
  description: How the ledger names the key, its last five characters and the start of its salted hash.
  returned: success
  version_added: 0.1.0
  type: str
  sample: "3V66T:9f86d081884c7d65"
key_type:
  description: V(mak) or V(kms_host), as recorded.
  returned: success and the key is in the ledger
  version_added: 0.1.0
  type: str
  sample: mak
ledger:
  description: The ledger file used.
  returned: success
  version_added: 0.1.0
  type: str
  sample: /srv/ansible/inventory/volume_activation_ledger.json
product_key:
  description: The key, masked.
  returned: success
  version_added: 0.1.0
  type: str
  sample: XXXXX-XXXXX-XXXXX-XXXXX-3V66T
"""
