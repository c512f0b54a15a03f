#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: ad_activation_object runs entirely through its action plugin
# (plugins/action/ad_activation_object.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: ad_activation_object
short_description: Manage Active Directory-based activation objects of a forest
version_added: 0.1.0
description:
  - Creates or removes an Active Directory-based activation object (class C(msSPP-ActivationObject)) in
    C(CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,...) of the forest of the host's
    domain. Domain-joined computers with a KMS client setup key (GVLK), running Windows 8 / Windows Server
    2012 or later or Office 2013 or later, then activate from Active Directory, with no KMS host and no
    activation threshold; the others (Windows 7, Office 2010, Office under OSPP on Windows 7, computers outside
    the domain) still need a KMS host.
  - An object is made from a KMS host key (CSVLK), activated with Microsoft online
    (C(slmgr.vbs /ad-activation-online), C(DoActiveDirectoryOnlineActivation)) or by phone, where the first run
    returns the forest's installation ID (C(slmgr.vbs /ad-activation-get-iid)), the second deposits the
    confirmation ID that the activation line gives for it (C(slmgr.vbs /ad-activation-apply-cid)).
  - Removing an object (C(slmgr.vbs /del-ao)) stops activation from it at the clients' next renewal; they stay
    activated until their 180-day validity runs out unless a KMS host or another object activates them.
  - Runs on a domain-joined management computer (Windows 8 / Windows Server 2012 or later) whose account may
    create objects in the forest's configuration partition (Enterprise Admins).
  - Refused before anything changes, with the reason - a KMS client setup key (GVLK); a MAK, retail or any
    other key that is not a KMS host key (Windows refuses it when asked for the installation ID, which changes
    nothing); a host that is not a domain member; a host older than Windows 8 / Windows Server 2012; an
    existing object of that name made from another key.
  - One WinRM round trip when nothing changes (or to get the installation ID), two when an object is created
    or removed.
options:
  confirmation_id:
    description:
      - The confirmation ID the Microsoft activation line gave for RV(installation_id), 48 digits (groups
        separated by C(-) or spaces are accepted).
      - Only with O(method=phone) and O(state=present). Never shown in results or logs.
    type: str
    version_added: 0.1.0
  method:
    description:
      - How the KMS host key is activated with Microsoft.
      - V(online) activates it over the internet from the host.
      - V(phone) returns the installation ID without O(confirmation_id), and creates the object with it.
    type: str
    choices: [online, phone]
    default: online
    version_added: 0.1.0
  name:
    description:
      - The activation object's name (its C(cn) and C(displayName)); it cannot be renamed later.
      - At most 64 characters, and none of the characters a directory name must escape
        (comma, C(=), C(+), C(<), C(>), C(#), C(;), C(") and backslash).
    type: str
    required: true
    version_added: 0.1.0
  product_key:
    description:
      - The KMS host key (CSVLK) the object is made from, for Windows or for Office 2013 or later.
      - Required with O(state=present), not used with O(state=absent). Shown only masked
        (C(XXXXX-XXXXX-XXXXX-XXXXX-H4D3N)).
      - An object of the same name made from the same key (its last five characters, which is all Active
        Directory keeps) is left alone.
    type: str
    version_added: 0.1.0
  state:
    description:
      - V(present) makes sure the object exists; V(absent) removes it when it exists.
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
    details: Reads the forest (and computes the installation ID, which changes nothing) and reports what would change.
  diff_mode:
    details: The object before and after (the key masked).
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - The activation service counts an object's activation against the KMS host key like a KMS host's.
  - Clients re-check with Active Directory regularly and stay activated for 180 days after the last success.
    Their activation type must allow it (O(winops.volume_activation.kms_client#module:activation_type=all) or
    V(ad)).
seealso:
  - module: winops.volume_activation.kms_client
  - module: winops.volume_activation.license_info
  - name: Active Directory-Based Activation overview
    description: What an activation object does and how VAMT creates one online or by proxy.
    link: https://learn.microsoft.com/windows/deployment/volume-activation/active-directory-based-activation-overview
  - name: Activate using Active Directory-based activation
    description: Which clients activate from Active Directory, and how.
    link: https://learn.microsoft.com/windows/deployment/volume-activation/activate-using-active-directory-based-activation-client
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Create an activation object for the Windows Server 2022 KMS host key, online
  winops.volume_activation.ad_activation_object:
    name: WS2022-CSVLK
    product_key: "{{ vault_ws2022_csvlk }}"

- name: Phone activation, first step - get the installation ID
  winops.volume_activation.ad_activation_object:
    name: Office2021
    product_key: "{{ vault_office2021_csvlk }}"
    method: phone
  register: ao

- name: Phone activation, second step - deposit the confirmation ID
  winops.volume_activation.ad_activation_object:
    name: Office2021
    product_key: "{{ vault_office2021_csvlk }}"
    method: phone
    confirmation_id: "{{ confirmation_id_from_the_activation_line }}"

- name: Remove an activation object
  winops.volume_activation.ad_activation_object:
    name: WS2019-CSVLK
    state: absent
"""

RETURN = r"""
awaiting_confirmation_id:
  description: True when O(method=phone) returned the installation ID and waits for O(confirmation_id).
  returned: success
  version_added: 0.1.0
  type: bool
  sample: false
changes:
  description: What was done (or would be done in check mode), one sentence per operation, the key masked.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["create the activation object 'WS2022' with the KMS host key 'XXXXX-XXXXX-XXXXX-XXXXX-H4D3N' online"]
container:
  description: The distinguished name of the forest's activation objects container.
  returned: success
  version_added: 0.1.0
  type: str
  sample: CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test
domain:
  description: The host's domain (C(Win32_ComputerSystem.Domain)).
  returned: success
  version_added: 0.1.0
  type: str
  sample: corp.example.test
installation_id:
  description:
    - The forest's installation ID for O(product_key), to give to the Microsoft activation line (O(method=phone)
      only; null otherwise).
  returned: success
  version_added: 0.1.0
  type: str
  sample: "363040172967396052831187575923689541876789332074748542505727865"
name:
  description: The activation object's name, as given.
  returned: success
  version_added: 0.1.0
  type: str
  sample: WS2022
object:
  description: The activation object after the task (read back), null when it does not exist.
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    name:
      description: The object's C(displayName).
      type: str
      sample: WS2022
    dn:
      description: Its distinguished name.
      type: str
      sample: CN=WS2022,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test
    csvlk_sku_id:
      description: The activation ID of the KMS host key's product (C(msSPP-CSVLKSkuId)).
      type: str
      sample: c3f4d37d-06d8-55cc-b2cb-06b854bed223
    csvlk_pid:
      description: The KMS host key's extended product ID (C(msSPP-CSVLKPid)).
      type: str
      sample: 55250-39901-032-486299-03-1033-20348.0000-1582026
    partial_product_key:
      description: The last five characters of the KMS host key (C(msSPP-CSVLKPartialProductKey)).
      type: str
      sample: H4D3N
    masked_product_key:
      description: The key masked.
      type: str
      sample: XXXXX-XXXXX-XXXXX-XXXXX-H4D3N
objects:
  description: Every activation object of the forest after the task, with the keys of RV(object).
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  sample:
    - name: WS2022
      dn: CN=WS2022,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test
      csvlk_sku_id: c3f4d37d-06d8-55cc-b2cb-06b854bed223
      csvlk_pid: 55250-39901-032-486299-03-1033-20348.0000-1582026
      partial_product_key: H4D3N
      masked_product_key: XXXXX-XXXXX-XXXXX-XXXXX-H4D3N
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing changed, 2 after a change).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
state:
  description: The state asked for.
  returned: success
  version_added: 0.1.0
  type: str
  sample: present
"""
