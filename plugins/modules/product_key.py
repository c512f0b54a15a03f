#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: product_key runs entirely through its action plugin
# (plugins/action/product_key.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: product_key
short_description: Install or remove a Windows or Office product key (KMS host key, GVLK, MAK, retail)
version_added: 0.1.0
description:
  - Installs a product key the way C(slmgr.vbs /ipk) and C(ospp.vbs /inpkey) do, through the
    C(InstallProductKey) WMI method of the licensing service that owns the product, then refreshes
    the license status. Removes the key of one named product, as C(slmgr.vbs /upk <activation ID>)
    does, and never every key (C(slmgr.vbs /upk) without an ID removes all of them, Windows included).
  - Idempotent on the last five characters of the key (the partial product key Windows keeps).
  - With O(gvlk=auto) installs the public KMS client setup key (GVLK) of what is installed, from
    Microsoft's table, unless the product already runs on its GVLK. A MAK-activated product is never
    switched to KMS unless O(force=true).
  - Refuses before touching the host, each time with the reason, a malformed key, a GVLK given as
    another key type, a KMS host key on a client or consumer edition, and an Office KMS host key on a
    Windows release its host license pack does not install on (Office 2010 only on Windows 7 and
    Windows Server 2008 R2; Office 2021 from Windows Server 2016 / Windows 10; Office LTSC 2024 from
    Windows Server 2022 / Windows 10).
  - One WinRM round trip when nothing changes, two when a key is installed or removed.
options:
  activation_id:
    description:
      - The activation ID (SKU ID) of one product, for O(state=absent) (remove that product's key
        only) or to narrow the idempotency check of O(state=present).
    type: str
    version_added: 0.1.0
  force:
    description:
      - With O(gvlk=auto), replace a MAK or KMS host key by the GVLK; with a client key, install it
        over a MAK-activated product. Without it such products are left alone.
    type: bool
    default: false
    version_added: 0.1.0
  gvlk:
    description:
      - V(auto) installs the public KMS client setup key of each product of O(product) that is
        installed (Windows from the edition the OS reports; Office products that are volume licensed).
      - Mutually exclusive with O(product_key).
    type: str
    choices: [auto]
    version_added: 0.1.0
  key_type:
    description:
      - What the key is. It cannot be told from a KMS host or MAK key itself (that needs Microsoft's
        key configuration data), so say it. GVLKs are recognised from Microsoft's public table and
        must be V(kms_client).
      - V(kms_host) is a KMS host key (CSVLK), V(kms_client) a GVLK, V(mak) a Multiple Activation
        Key, V(retail) a retail key.
    type: str
    choices: [kms_host, kms_client, mak, retail]
    default: kms_client
    version_added: 0.1.0
  product:
    description:
      - The product families the key belongs to (one with O(product_key), any with O(gvlk=auto)).
      - V(windows), V(office) (every Office product found, 2010 to LTSC 2024), or one Office release
        V(office2010), V(office2013), V(office2016), V(office2019), V(office2021), V(office2024).
      - Office 2010 keys, and Office 2013 and later client keys on Windows 7, go to the Office
        Software Protection Platform; every other key, Office KMS host keys included, goes to Windows'
        Software Protection Platform.
    type: list
    elements: str
    default: [windows]
    version_added: 0.1.0
  product_key:
    description:
      - The product key, five groups of five characters. Keep it in Ansible Vault; it is never shown
        except as its last five characters.
    type: str
    version_added: 0.1.0
  state:
    description:
      - V(present) installs the key, V(absent) removes the key of the named products only.
    type: str
    choices: [present, absent]
    default: present
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads the host and reports the key that would be installed or removed; nothing is sent that changes it.
  diff_mode:
    support: full
    details: The partial keys before and after, masked.
  platform:
    platforms: windows
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target. Keys travel only in that
    module's C(no_log) options.
seealso:
  - module: winops.volume_activation.activation
  - module: winops.volume_activation.license_info
  - name: KMS client activation and product keys
    description: Microsoft's table of GVLKs.
    link: https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Install the Windows Server KMS host key (from a vault)
  winops.volume_activation.product_key:
    product_key: "{{ vault_ws2022_csvlk }}"
    key_type: kms_host
    product: windows

- name: Install the Office LTSC 2021 KMS host key
  winops.volume_activation.product_key:
    product_key: "{{ vault_office2021_csvlk }}"
    key_type: kms_host
    product: office2021

- name: Make sure Windows and Office run on their KMS client setup keys
  winops.volume_activation.product_key:
    gvlk: auto
    product: [windows, office]

- name: Remove the key of one product only
  winops.volume_activation.product_key:
    activation_id: 6f327760-8c5c-417c-9b61-836a98287e0c
    product: [office2010]
    state: absent
"""

RETURN = r"""
installed:
  description: The keys installed (or, in check mode, that would be), masked.
  returned: success
  type: list
  elements: dict
  sample: [{product: windows, key_type: kms_host, product_key: XXXXX-XXXXX-XXXXX-XXXXX-H4D3N}]
  version_added: 0.1.0
products:
  description: The products of O(product) that hold a key after the task.
  returned: success
  type: list
  elements: dict
  sample:
    - activation_id: 73111121-5638-40f6-bc11-f1d7b0d64300
      name: "Windows(R), Enterprise edition"
      channel: kms_client
      license_status: initial_grace
      partial_product_key: "2YT43"
  version_added: 0.1.0
notes:
  description: Why a product was left alone (key already installed, MAK kept, product not installed).
  returned: success
  type: list
  elements: str
  sample: ["windows: 'Windows(R), Enterprise edition' already uses its KMS client setup key"]
  version_added: 0.1.0
changes:
  description: What was (or would be) done, keys masked.
  returned: changed
  type: list
  elements: str
  sample: ["install product key 'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' for windows", "refresh the license status"]
  version_added: 0.1.0
round_trips:
  description: WinRM module executions the task cost (1 read; 2 with a change).
  returned: always
  type: int
  sample: 2
  version_added: 0.1.0
"""
