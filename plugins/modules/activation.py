#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: activation runs entirely through its action plugin
# (plugins/action/activation.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: activation
short_description: Activate Windows and Office now, online, through KMS or by phone
version_added: 0.1.0
description:
  - Activates the named products, or every volume product with a key that is not licensed yet, as
    C(slmgr.vbs /ato [activation ID]) and C(ospp.vbs /act) do (C(Activate), then C(RefreshLicenseStatus)).
  - A product that is already licensed is left alone unless O(force=true), so a MAK or KMS host key never spends
    an activation on a product that has one.
  - Offline (phone) activation in two runs, as C(slmgr.vbs /dti) and C(/atp) do. With O(method=offline) the
    installation ID of each product is returned; with the confirmation IDs the Microsoft Activation Center gave,
    in O(confirmation_ids), they are deposited (C(DepositOfflineConfirmationId)).
  - Reports per product the outcome, and for a failure the HRESULT with its symbol, a plain explanation and the
    next step. A KMS client whose host does not yet count enough clients is reported as
    V(waiting_for_threshold) with the host it reached, not as a failure, unless O(fail_below_threshold=true);
    an unreachable host, a missing SRV record, a DNS failure and a host that cannot activate this product each
    say where the client looked.
  - One WinRM round trip when nothing is to be done, two when something is.
options:
  activation_ids:
    description:
      - Activate only the products with these activation IDs (the C(ID) that C(slmgr.vbs /dlv all) shows), of any
        channel. Each must exist and hold a key.
      - Mutually exclusive with O(product).
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  confirmation_ids:
    description:
      - For O(method=offline), the confirmation ID for each product, by activation ID. Digits, optionally in groups
        separated by spaces or hyphens. Never shown.
      - The products named here are activated; they must be in O(activation_ids) when that is given.
    type: dict
    default: {}
    version_added: 0.1.0
  fail_below_threshold:
    description:
      - Fail the task when a KMS client is waiting for its host to count enough clients (0xC004F038) instead of
        reporting V(waiting_for_threshold).
    type: bool
    default: false
    version_added: 0.1.0
  force:
    description:
      - Activate products that are already licensed, too. For a MAK or a KMS host key this may use one of the key's
        activations.
    type: bool
    default: false
    version_added: 0.1.0
  method:
    description:
      - V(online) activates through KMS for a KMS client and through Microsoft's activation service for a MAK, a KMS
        host key or a retail key.
      - V(offline) is phone activation of MAK, KMS host and retail keys. Without O(confirmation_ids) it only returns
        the installation IDs (C(slmgr.vbs /dti)); with them it deposits the confirmation IDs (C(slmgr.vbs /atp)).
        KMS clients are skipped (named ones are refused), because they activate against a KMS host only.
    type: str
    choices: [offline, online]
    default: online
    version_added: 0.1.0
  product:
    description:
      - Which products to activate when O(activation_ids) is not given, V(all) (default) of Windows and Office,
        V(windows), V(office) (every Office version) or one Office version.
      - Only products with a key of a volume channel (KMS client, MAK, KMS host) are chosen this way.
      - Mutually exclusive with O(activation_ids).
    type: str
    choices: [all, office, office2010, office2013, office2016, office2019, office2021, office2024, windows]
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Reads the host and reports which products would be activated; nothing is sent to them.
  diff_mode:
    details: The license status of each product to activate, before and as expected after.
notes:
  - With a key ledger on the controller, every installation ID / confirmation ID pair deposited by phone is kept in
    its CID store, and a phone activation (O(method=offline)) of a product whose installation ID the store holds
    deposits the stored confirmation ID without one in O(confirmation_ids), as VAMT's CID reuse does for a machine
    reimaged on the same hardware with the same key.
  - With a key ledger on the controller (the C(volume_activation_ledger) variable, or C(volume_activation_ledger.json)
    beside the inventory), activating with a MAK or KMS host key reserves one activation for the host under the ledger's lock first, and is
    refused before anything is sent when the key's budget is used up; see M(winops.volume_activation.key_budget).
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - Every product is tried even when another fails. C(changed) is true when at least one product was activated
    or had its confirmation ID deposited.
  - The KMS host's current count is a property of the KMS host; a client shows only the threshold its host
    answered with (C(required_count)). Use M(winops.volume_activation.license_info) on the KMS host for the count.
  - An unactivated KMS client tries again by itself every 2 hours, so a client waiting for the threshold activates
    once the host counts enough clients.
  - Activating against a KMS host that does not answer takes time on the target, for every product and every host
    tried (Windows gives up a TCP connection after about 21 seconds, plus the DNS lookups). WinRM answers the
    waiting connection with a C(w:TimedOut) fault at each operation timeout and the C(winrm) connection plugin
    polls again until the task ends, so ansible-core's default WinRM settings are enough; if you set
    C(ansible_winrm_operation_timeout_sec), keep C(ansible_winrm_read_timeout_sec) above it (pywinrm refuses
    anything else). Do not set an Ansible task C(timeout) below the time the activations may take.
seealso:
  - module: winops.volume_activation.key_budget
  - module: winops.volume_activation.product_key
  - module: winops.volume_activation.kms_client
  - module: winops.volume_activation.license_info
  - name: slmgr.vbs options for volume activation
    description: The Windows switches this module replaces (/ato, /dti, /atp).
    link: https://learn.microsoft.com/windows-server/get-started/activation-slmgr-vbs-options
  - name: Resolve Windows activation error codes
    description: Causes and fixes of the HRESULTs this module explains.
    link: https://learn.microsoft.com/windows-server/get-started/activation-error-codes
  - module: ansible.windows.win_product_facts
    description: Windows license status as host facts, for a quick check before or after activation.
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Activate every Windows and Office volume product that is not licensed yet
  winops.volume_activation.activation:

- name: Activate Windows and fail if the KMS host does not count enough clients yet
  winops.volume_activation.activation:
    product: windows
    fail_below_threshold: true

- name: Activate the Office 2010 KMS host license
  winops.volume_activation.activation:
    activation_ids: [bfe7a195-4f8f-4f0b-a622-cf13c7d16864]

- name: Phone activation, step 1 - read the installation IDs
  winops.volume_activation.activation:
    method: offline
    activation_ids: [bfe7a195-4f8f-4f0b-a622-cf13c7d16864]
  register: phone

- name: Show what to read to the Microsoft Activation Center
  ansible.builtin.debug:
    msg: "{{ phone.products | map(attribute='installation_id') | list }}"

- name: Phone activation, step 2 - deposit the confirmation ID from the vault
  winops.volume_activation.activation:
    method: offline
    confirmation_ids:
      bfe7a195-4f8f-4f0b-a622-cf13c7d16864: "{{ vault_office2010_host_cid }}"
  no_log: true
"""

RETURN = r"""
changes:
  description: What was done (or would be done in check mode), one sentence per operation.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["activate 'Windows(R), ServerDatacenter edition' (ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03)",
           "refresh the license status of the Software Licensing Service"]
products:
  description: Each product chosen, with its outcome.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    activation_id:
      description: The product's activation ID.
      type: str
      sample: ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03
    name:
      description: The product's name.
      type: str
      sample: Windows(R), ServerDatacenter edition
    family:
      description: V(windows), V(office2010) .. V(office2024) (V(office) when the version is unknown) or V(other).
      type: str
      sample: windows
    source:
      description: V(spp) (Software Licensing Service) or V(ospp) (Office Software Protection Platform).
      type: str
      sample: spp
    channel:
      description: The key channel, V(kms_client), V(kms_host), V(mak), V(retail), V(oem), ...
      type: str
      sample: kms_client
    product_key:
      description: The installed key, masked.
      type: str
      sample: XXXXX-XXXXX-XXXXX-XXXXX-6VM33
    license_status_before:
      description: The license status before, V(unlicensed), V(licensed), V(initial_grace), V(additional_grace),
        V(non_genuine_grace), V(notification), V(extended_grace).
      type: str
      sample: initial_grace
    license_status:
      description: The license status read back after activating (before, when nothing was sent).
      type: str
      sample: licensed
    outcome:
      description:
        - V(activated), V(confirmation_deposited), V(waiting_for_threshold), V(failed), V(already_activated),
          V(installation_id) (offline, step 1), V(skipped), and in check mode V(would_activate) or V(would_deposit).
      type: str
      sample: waiting_for_threshold
    message:
      description: The outcome in words, with the cause and the next step for a failure.
      type: str
      sample: "waiting for threshold: the KMS host kms01.example.com:1688 counts fewer than the 5 clients it needs
        to activate this product; the client retries every 2 hours and activates once the host counts enough
        clients (license_info on the KMS host shows its current count)"
    hresult:
      description: For a failure or a wait, the HRESULT explained, with C(code), C(hex), C(symbol), C(explanation),
        C(remedy), C(message) and C(windows_message) (what Windows said, possibly localized); null otherwise.
      type: dict
      sample: {code: 3221549112, hex: "0xC004F038", symbol: SL_E_VL_NOT_ENOUGH_COUNT,
               explanation: "the KMS host does not yet count enough clients to activate this product (25 for Windows
                             client, 5 for Windows Server and Office)",
               remedy: "add clients until the host's current count reaches the threshold", message: "0xC004F038
               (SL_E_VL_NOT_ENOUGH_COUNT): the KMS host does not yet count enough clients",
               windows_message: "The count reported by your Key Management Service (KMS) is insufficient."}
    kms_host:
      description: For a KMS client, the KMS host it reached (or was configured to use), as C(host:port); null
        otherwise.
      type: str
      sample: kms01.example.com:1688
    current_count:
      description: The KMS host's current count when the client shows it (null on Windows, which shows it on the
        host only).
      type: int
      sample: null
    required_count:
      description: For a KMS client waiting for the threshold, the number of clients its host needs.
      type: int
      sample: 5
    confirmation_id_reused:
      description: True when the confirmation ID deposited came from the key ledger's CID store (an installation
        ID seen before, as after a reimage on the same hardware), not from O(confirmation_ids).
      type: bool
      sample: false
    installation_id:
      description: With O(method=offline) and no confirmation ID, the installation ID to give the Microsoft
        Activation Center; null otherwise.
      type: str
      sample: "997946603398083632850488734907757926639175262441184083921383030"
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing was sent, 2 otherwise).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
summary:
  description: The number of products per outcome.
  returned: success
  version_added: 0.1.0
  type: dict
  sample: {activated: 1, waiting_for_threshold: 2}
"""
