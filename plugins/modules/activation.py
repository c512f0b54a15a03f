#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: activation runs entirely through its action plugin
# (plugins/action/activation.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: activation
short_description: Activate Windows and Office now, online or by phone, and say why a product did not activate
version_added: 0.1.0
description:
  - Activates now what C(slmgr.vbs /ato) and C(ospp.vbs /act) activate, through the C(Activate) WMI
    method of each product that holds a key and is not licensed yet, then refreshes the license
    status. KMS clients ask their KMS host; MAK, KMS host and retail keys go to Microsoft.
  - Offline (O(method=offline)), as C(slmgr.vbs /dti) and C(/atp) do, returns each product's
    installation ID to read to the Microsoft Activation Center; run again with the confirmation IDs
    in O(confirmation_ids) to deposit them.
  - Reports per product what happened, every HRESULT with its symbol, a plain explanation and the
    next step. A KMS client whose host counts too few clients (0xC004F038) is not a failure but
    "waiting for threshold (n of N)", unless O(fail_on_waiting=true).
  - A licensed product is not activated again unless O(force=true), so no MAK activation is spent
    twice.
  - One WinRM round trip when everything is already activated, two otherwise.
options:
  activation_ids:
    description: Activate only the products with these activation IDs (instead of O(products)).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  confirmation_ids:
    description:
      - For O(method=offline), the confirmation ID of each product, keyed by product family (as in
        O(products), e.g. V(windows), V(office2021)) or by activation ID. 48 digits, in groups or not.
      - Keep them in the playbook's vault or vars; they are never shown.
    type: dict
    default: {}
    version_added: 0.1.0
  fail_on_waiting:
    description: Fail the task when a KMS client is waiting for its host to reach the activation threshold.
    type: bool
    default: false
    version_added: 0.1.0
  force:
    description: Activate again products that are already licensed.
    type: bool
    default: false
    version_added: 0.1.0
  method:
    description:
      - V(online) activates now. V(offline) returns installation IDs, or deposits the confirmation
        IDs of O(confirmation_ids).
    type: str
    choices: [online, offline]
    default: online
    version_added: 0.1.0
  products:
    description:
      - The product families to activate, every product with a key in them.
      - V(windows), V(office) (every Office product, 2010 to LTSC 2024), or one release
        V(office2010) .. V(office2024). KMS host licenses count in their family (the Office LTSC 2021
        KMS host license is V(office2021)).
    type: list
    elements: str
    default: [windows, office]
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the host and reports which products would be activated; nothing is sent that changes it.
  diff_mode:
    support: full
    details: The license status of each product to activate, before and after.
  platform:
    platforms: windows
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - A KMS host activates a product only once it counts enough distinct clients in 30 days (25 for
    Windows clients, 5 for Windows Server and for Office). Clones that share one client machine ID
    (CMID) count once.
seealso:
  - module: winops.volume_activation.product_key
  - module: winops.volume_activation.kms_client
  - module: winops.volume_activation.license_info
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Activate Windows and Office (KMS clients wait for the threshold without failing)
  winops.volume_activation.activation:
  register: activation

- name: Print what happened on each host
  ansible.builtin.debug:
    msg: "{{ activation.outcomes | map(attribute='message') | list }}"

- name: Phone activation of a KMS host, step 1 - get the installation IDs
  winops.volume_activation.activation:
    products: [windows, office2021]
    method: offline
  register: phone

- name: Phone activation, step 2 - deposit the confirmation IDs from the activation center
  winops.volume_activation.activation:
    products: [windows, office2021]
    method: offline
    confirmation_ids:
      windows: "{{ vault_windows_cid }}"
      office2021: "{{ vault_office2021_cid }}"
"""

RETURN = r"""
outcomes:
  description: One entry per product of O(products) that holds a key.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    activation_id:
      description: The product's activation ID.
      type: str
      sample: 6f327760-8c5c-417c-9b61-836a98287e0c
    name:
      description: The product's name.
      type: str
      sample: Office 14, OfficeProPlus-KMS_Client edition
    product:
      description: Its family (windows, office2010 .. office2024).
      type: str
      sample: office2010
    channel:
      description: The key's channel (kms_client, kms_host, mak, retail...).
      type: str
      sample: kms_client
    status:
      description:
        - activated, already_activated, waiting_for_threshold, failed, installation_id_issued, or
          would_activate in check mode.
      type: str
      sample: waiting_for_threshold
    activated:
      description: Whether the product is licensed after the task.
      type: bool
      sample: false
    message:
      description: One sentence for a person, with the KMS host reached when known.
      type: str
      sample: "Office 14, OfficeProPlus-KMS_Client edition: waiting for threshold: 3 of 5 clients (KMS host kms.example.com:1688)"
    current_count:
      description: The KMS host's count the client saw (-1 when none yet), when waiting.
      type: int
      sample: 3
    required_count:
      description: The count the host needs for this product, when waiting.
      type: int
      sample: 5
    error:
      description: The HRESULT explained (code, hex, symbol, explanation, remedy, message, windows_message), when it failed or waits.
      type: dict
      sample: {hex: "0xC004F038", symbol: SL_E_VL_NOT_ENOUGH_COUNT}
waiting:
  description: Whether any KMS client waits for its host to reach the threshold (retry later).
  returned: success
  version_added: 0.1.0
  type: bool
  sample: false
installation_ids:
  description: For O(method=offline) without a confirmation ID, the installation ID of each product, by family.
  returned: success
  version_added: 0.1.0
  type: dict
  sample: {windows: "123456789012345678901234567890123456789012345678901234567890123"}
changes:
  description: What was (or would be) done.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["activate 'Windows(R), ServerStandard edition'", "refresh the license status"]
round_trips:
  description: WinRM module executions the task cost.
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
"""
