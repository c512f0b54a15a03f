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
  - Installs a product key through the licensing service (C(InstallProductKey), then C(RefreshLicenseStatus), as
    C(slmgr.vbs /ipk) and C(ospp.vbs /inpkey) do), or removes the key of one named product
    (C(UninstallProductKey), as C(slmgr.vbs /upk <activation ID>)).
  - Idempotent on the partial key, so nothing is sent when a product of the target already shows the last five
    characters of the key.
  - O(gvlk=auto) installs the public KMS client setup key (GVLK) of what is installed, the Windows edition read
    from the OS and each Office volume product found, from Microsoft's published tables.
  - Refused before the host is changed, each with the reason, a malformed key, a GVLK given under another
    O(key_type), a KMS host key on an edition that cannot be a KMS host (Home, Starter, Ultimate), an Office KMS
    host key on a Windows version that Office's KMS host license pack does not support, a Windows GVLK for
    another edition than the installed one, and a KMS client key for a product activated with a MAK (unless
    O(replace_mak=true)).
  - What the host itself refuses comes back with the HRESULT, its symbol, a plain explanation and the next step.
  - One WinRM round trip when nothing changes, two when something does.
options:
  activation_id:
    description:
      - The product the key is for or whose key is removed, by its activation ID (the C(ID) that
        C(slmgr.vbs /dlv all) shows).
      - Mutually exclusive with O(product).
    type: str
    version_added: 0.1.0
  allow_unpublished_gvlk:
    description:
      - With O(key_type=kms_client), install a O(key) that is not one of the KMS client setup keys (GVLKs)
        Microsoft publishes for the product, as the collection's tables list them (a GVLK published after
        this release).
      - Without it such a key is refused before anything is installed - a MAK or a KMS host key given as a
        client key would otherwise be installed and then activated, consuming an activation of that key.
    type: bool
    default: false
    version_added: 0.1.0
  gvlk:
    description:
      - Install a public KMS client setup key instead of O(key).
      - V(auto) chooses it for what is installed, for the products O(product) selects (default V(all)), Windows
        from the release (OS version) and the edition in the Windows product name, each Office product with a
        key from its name. Retail media, an edition without a published key and an Office product the tables do
        not list fail with what was found. A product already on its GVLK is left alone, one activated with a MAK
        is left alone with a warning unless O(replace_mak=true).
      - Any other value names a row of Microsoft's tables, for example V(Windows Server 2022 Standard) or
        V(Office LTSC Professional Plus 2021).
      - Mutually exclusive with O(key); only with O(state=present).
    type: str
    version_added: 0.1.0
  key:
    description:
      - The product key, five groups of five characters. It is never shown; results, diffs, logs and errors show
        it as C(XXXXX-XXXXX-XXXXX-XXXXX-) followed by its last five characters.
      - Needs O(key_type) unless it is a public KMS client setup key, and O(product) or O(activation_id) unless the
        public tables tell the product.
      - With O(state=absent), the key whose last five characters select the product to clear.
    type: str
    aliases: [product_key]
    version_added: 0.1.0
  key_type:
    description:
      - What the key is. A KMS host key (CSVLK), a MAK or a retail key cannot be told apart without Microsoft's
        key configuration, so the module takes it from here and checks what it can against the host.
      - V(kms_host) is a KMS host key (CSVLK), V(kms_client) a KMS client setup key (GVLK, recognised from the
        public tables when omitted), V(mak) a Multiple Activation Key, V(retail) a retail key.
      - With O(state=absent), only a key of this kind is removed.
    type: str
    choices: [kms_client, kms_host, mak, retail]
    version_added: 0.1.0
  product:
    description:
      - The product the key is for. V(windows) installs through the Software Licensing Service. An Office version
        installs through the Office Software Protection Platform for Office 2010 on every Windows and for Office
        2013 and later on Windows 7 / Windows Server 2008 R2, through the Software Licensing Service otherwise; an
        Office KMS host key (O(key_type=kms_host)) always goes to the Software Licensing Service, where the Office
        KMS host license pack lives.
      - V(all) and V(office) (every Office version found) only with O(gvlk=auto).
      - Mutually exclusive with O(activation_id).
    type: str
    choices: [all, office, windows, office2010, office2013, office2016, office2019, office2021, office2024]
    version_added: 0.1.0
  replace_mak:
    description:
      - Allow a KMS client setup key to replace the key of a product that is activated with a MAK, which switches
        it to KMS activation. Without it, O(gvlk=auto) leaves such a product alone with a warning and an explicit
        GVLK is refused.
    type: bool
    default: false
    version_added: 0.1.0
  state:
    description:
      - V(present) installs the key.
      - V(absent) removes the key of the products named by O(activation_id), O(product), O(key) and O(key_type)
        together, never every key (unlike C(slmgr.vbs /upk) without an activation ID). When several products of
        O(product) hold a key, name the one to remove with O(key) or O(activation_id).
    type: str
    choices: [absent, present]
    default: present
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Reads the host and reports what would change; nothing is installed or removed.
  diff_mode:
    details: The masked keys of each target before and after.
notes:
  - Ansible supports Windows Server 2016 and Windows 10 or newer as managed nodes. Windows 7 and Windows
    Server 2008 R2 with WMF 5.1, the only OSes the Office 2010 KMS host license pack installs on, are
    simulated in the collection's lab and supported on a best-effort basis.
  - With a key ledger on the controller (the C(volume_activation_ledger) variable, or C(volume_activation_ledger.json)
    beside the inventory), installing a MAK or KMS host key reserves one activation for the host under the ledger's lock first, and is
    refused before anything is sent when the key's budget is used up; see M(winops.volume_activation.key_budget).
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - The licensing service decides which product a key belongs to. When it installs the key on another product
    than O(product) names (a Windows MAK given as an Office key, for example), the task fails and says where the
    key went.
  - O(state=absent) removes an Office 2010 key (Office Software Protection Platform) as Microsoft's C(ospp.vbs /unpkey)
    does, passing the product's C(ProductKeyID) to C(OfficeSoftwareProtectionProduct.UninstallProductKey); Windows and
    Office 2013+ keys are removed with C(SoftwareLicensingProduct.UninstallProductKey) as C(slmgr.vbs /upk <ID>) does.
  - The Office 2010 KMS host license pack installs only on Windows Server 2003, Windows 7 volume editions and
    Windows Server 2008 R2; one Office 2010 KMS host key covers every Office 2010 product, while MAKs are per
    product. Office 2013 to LTSC 2024 host packs need Windows Server 2008 R2 / Windows 7 (2013, 2016), Windows
    Server 2012 / Windows 8.1 (2019), Windows Server 2016 / Windows 10 (LTSC 2021), Windows Server 2022 /
    Windows 10 (LTSC 2024) or later.
  - A KMS host on a client edition of Windows activates client editions only; the module warns.
  - O(gvlk=auto) sees the Office products that hold a key (volume media ship with their GVLK installed).
seealso:
  - module: winops.volume_activation.key_budget
  - module: winops.volume_activation.activation
  - module: winops.volume_activation.license_info
  - module: winops.volume_activation.kms_host
  - name: KMS client activation and product keys
    description: Microsoft's table of Windows KMS client setup keys.
    link: https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys
  - name: GVLKs for KMS and Active Directory-based activation of Office
    description: Microsoft's table of Office KMS client setup keys.
    link: https://learn.microsoft.com/office/volume-license-activation/gvlks
  - name: Configure a KMS host computer for Office
    description: Which Windows versions each Office KMS host license pack supports.
    link: https://learn.microsoft.com/office/volume-license-activation/configure-a-kms-host-computer-for-office
  - module: ansible.windows.win_product_facts
    description: Reads the Windows product key and license status as facts; it does not install keys.
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Make every Windows and Office volume product a KMS client (MAK-activated products are kept)
  winops.volume_activation.product_key:
    gvlk: auto

- name: Install the Windows Server KMS host key from the vault
  winops.volume_activation.product_key:
    key: "{{ vault_ws2022_csvlk }}"
    key_type: kms_host
    product: windows
  no_log: true

- name: Install the Office 2010 KMS host key on the Windows Server 2008 R2 KMS host
  winops.volume_activation.product_key:
    key: "{{ vault_office2010_csvlk }}"
    key_type: kms_host
    product: office2010
  no_log: true

- name: Install a MAK for Windows
  winops.volume_activation.product_key:
    key: "{{ vault_windows_mak }}"
    key_type: mak
    product: windows
  no_log: true

- name: Switch MAK-activated machines to KMS
  winops.volume_activation.product_key:
    gvlk: auto
    product: windows
    replace_mak: true

- name: Install the published GVLK of a named product
  winops.volume_activation.product_key:
    gvlk: Office LTSC Professional Plus 2021

- name: Remove the Office 2016 key only (Windows keeps its key)
  winops.volume_activation.product_key:
    state: absent
    product: office2016

- name: Remove the key of one product by activation ID
  winops.volume_activation.product_key:
    state: absent
    activation_id: bfe7a195-4f8f-4f0b-a622-cf13c7d16864
"""

RETURN = r"""
changes:
  description: What was done (or would be done in check mode), one sentence per operation, keys masked.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["install the MAK 'XXXXX-XXXXX-XXXXX-XXXXX-7T794' for Windows through SoftwareLicensingService",
           "refresh the license status of the Software Licensing Service"]
key_type:
  description: The kind of key installed or removed (V(kms_client) when recognised from the public tables), null
    when O(state=absent) did not name one.
  returned: success
  version_added: 0.1.0
  type: str
  sample: mak
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing changed, 2 after a change).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
targets:
  description: Each place a key was installed into or removed from (one, or one per product with O(gvlk=auto)).
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    scope:
      description: V(windows), V(office2016), V(office2016_kms_host), V(office2016:<GVLK table row>) for
        O(gvlk=auto), V(activation_id), or V(key) for a removal by key alone.
      type: str
      sample: windows
    target:
      description: The target in words.
      type: str
      sample: Windows
    action:
      description: V(installed), V(removed), V(unchanged) (already so) or V(skipped) (see C(reason)). In check mode,
        what would be done.
      type: str
      sample: installed
    key_type:
      description: The kind of key.
      type: str
      sample: mak
    product_key:
      description: The key, masked; null for a removal by product.
      type: str
      sample: XXXXX-XXXXX-XXXXX-XXXXX-7T794
    gvlk_product:
      description: The row of Microsoft's GVLK tables the key comes from, null for other keys.
      type: str
      sample: Windows Server 2022 Datacenter
    reason:
      description: Why nothing was done, null otherwise.
      type: str
      sample: null
    before:
      description: The products of the target that held a key before, each with C(activation_id), C(name),
        C(source) (V(spp) or V(ospp)), C(channel), C(product_key) (masked) and C(license_status).
      type: list
      elements: dict
      sample: [{activation_id: 2de67392-b7a7-462a-b1ca-108dd189f588, name: "Windows(R), Professional edition",
                source: spp, channel: kms_client, product_key: XXXXX-XXXXX-XXXXX-XXXXX-T83GX,
                license_status: initial_grace}]
    after:
      description: After a change, read back from the host with the keys of C(before), the products that show the
        key (install) or the removed products that still show a key (removal, empty when it worked); null in check
        mode or without a change.
      type: list
      elements: dict
      sample: [{activation_id: b0e13411-40ad-582d-85b0-acd77d3e81d9, name: "Windows(R), Professional edition",
                source: spp, channel: mak, product_key: XXXXX-XXXXX-XXXXX-XXXXX-7T794,
                license_status: initial_grace}]
"""
