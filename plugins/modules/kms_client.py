#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: kms_client runs entirely through its action plugin
# (plugins/action/kms_client.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: kms_client
short_description: Point Windows and Office KMS clients at a KMS host, or leave discovery to DNS
version_added: 0.1.0
description:
  - Sets or clears the KMS host name and port, the DNS domain searched for C(_vlmcs._tcp) records,
    KMS host caching and, on Windows 8 and later, the allowed volume activation type, for one product
    family, through the licensing WMI classes instead of the localized text of the scripts.
  - V(windows) works on the Software Licensing Service, as C(slmgr.vbs /skms /ckms /skms-domain
    /ckms-domain /skhc /ckhc /act-type) without an activation ID.
  - V(office2010) works on the Office Software Protection Platform (C(osppsvc)), as Office 2010's
    C(ospp.vbs /sethst /setprt /remhst /cachst), on every Office 2010 KMS client license.
  - V(office) (Office 2013 to LTSC 2024) works, as C(ospp.vbs), on every Office KMS client license, in
    the Software Licensing Service on Windows 8 and later and in the Office Software Protection
    Platform on Windows 7 and Windows Server 2008 R2.
  - O(activation_ids) works on the given products only, as C(slmgr.vbs /skms <host> <activation ID>).
  - Only the options that are given are managed.
  - Bad input fails with the option, the value and the cause before the host is contacted; a setting
    the host's Windows version does not have fails with the reason before anything is changed.
  - One WinRM round trip when nothing changes, two when something does.
options:
  activation_ids:
    description:
      - Configure only the licensing products with these activation IDs (the C(ID) of the product,
        as C(slmgr.vbs /dlv all) shows it), Windows or Office, in whichever platform they are.
      - Mutually exclusive with O(product).
    type: list
    elements: str
    version_added: 0.1.0
  activation_type:
    description:
      - The volume activation types the products may use (C(slmgr.vbs /act-type), C(ospp.vbs /actype)).
      - V(all) clears the restriction (Windows' default); V(ad) allows Active Directory-based activation
        only, V(kms) KMS only, V(token) token-based activation only.
      - Windows 8 / Windows Server 2012 and later only; V(ad), V(kms) and V(token) are refused on
        Windows 7 and for Office 2010, where V(all) is what the host already does.
    type: str
    choices: [ad, all, kms, token]
    version_added: 0.1.0
  host_caching:
    description:
      - Whether the client keeps using the KMS host it last reached instead of asking DNS again
        (C(slmgr.vbs /skhc) for V(true), C(/ckhc) for V(false), C(ospp.vbs /cachst)). Windows' default is
        V(true); turn it off when the SRV records carry priority and weight.
      - A setting of the licensing service, not of a product. On Windows 8 and later Office 2013+ shares
        it with Windows (C(ospp.vbs /cachst) changes the Windows setting there too).
    type: bool
    version_added: 0.1.0
  kms_host:
    description:
      - The KMS host to use, which turns DNS discovery off for the products configured.
      - A host name (V(kms01.example.com)), an IPv4 address, or an IPv6 address in brackets
        (V([fd00::10])), optionally followed by V(:port) (V(kms01.example.com:1689), V([fd00::10]:1689)).
      - Without a port, the port is cleared, so that the default 1688 is used, as C(slmgr.vbs /skms) does.
      - Not allowed with O(state=absent).
    type: str
    version_added: 0.1.0
  kms_port:
    description:
      - The port of O(kms_host), when it is not written in O(kms_host) itself.
      - Needs O(kms_host); must agree with a port written there.
    type: int
    version_added: 0.1.0
  lookup_domain:
    description:
      - The DNS domain searched for C(_vlmcs._tcp) SRV records instead of the client's own
        (C(slmgr.vbs /skms-domain), C(ospp.vbs /skms-domain)). An empty string clears it
        (C(/ckms-domain)).
      - A KMS host set with O(kms_host) takes precedence over it.
      - Windows 8 / Windows Server 2012 and later only; a domain is refused on Windows 7 and for
        Office 2010, where an empty string is what the host already has.
    type: str
    version_added: 0.1.0
  product:
    description:
      - The product family to configure, V(windows), V(office) (Office 2013 and later) or V(office2010).
      - V(windows) when neither this nor O(activation_ids) is given.
      - Mutually exclusive with O(activation_ids).
    type: str
    choices: [office, office2010, windows]
    version_added: 0.1.0
  state:
    description:
      - V(present) sets what is given.
      - V(absent) clears the KMS host and port (C(slmgr.vbs /ckms), C(ospp.vbs /remhst)), so that the client
        finds its host through DNS again. The other options still apply.
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
    details: Reads the host and reports what would change; nothing is changed.
  diff_mode:
    details: The settings of every service or product configured, and host caching, before and after.
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - A product reports the effective KMS host, its own or the one set on the licensing service. A product
    value equal to the service's is taken as the service's, so O(state=absent) for Office does not clear
    it on the products; the module warns and O(product=windows) clears it on the service.
  - When Windows is configured and a Windows product has a KMS host of its own (set with an activation ID),
    that product keeps it; the module warns and names the product.
  - The Office families configure the KMS client licenses whose description contains
    C(VOLUME_KMSCLIENT), with or without a key, so that a product whose key is installed later already
    has the setting, as with C(ospp.vbs).
  - The operations of one change do not stop at a failed one; the first failure is reported and the
    settings are read back.
seealso:
  - module: winops.volume_activation.kms_host
  - module: winops.volume_activation.license_info
  - name: slmgr.vbs options for volume activation
    description: The Windows switches this module replaces.
    link: https://learn.microsoft.com/windows-server/get-started/activation-slmgr-vbs-options
  - name: Tools to manage volume activation of Office
    description: The ospp.vbs switches this module replaces.
    link: https://learn.microsoft.com/office/volume-license-activation/tools-to-manage-volume-activation-of-office
  - module: ansible.windows.win_product_facts
    description: Windows license status as host facts.
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Point Windows at a KMS host on a custom port and turn host caching off
  winops.volume_activation.kms_client:
    kms_host: kms01.example.com:1689
    host_caching: false

- name: Point Office 2010 at the Office 2010 KMS host
  winops.volume_activation.kms_client:
    product: office2010
    kms_host: kms2010.example.com

- name: Let Windows find its KMS host through DNS in another domain, KMS activation only
  winops.volume_activation.kms_client:
    state: absent
    lookup_domain: kms.example.com
    activation_type: kms

- name: Use an IPv6 KMS host for Office 2016 and later
  winops.volume_activation.kms_client:
    product: office
    kms_host: "[fd00::10]"
    kms_port: 1688

- name: Configure one product by its activation ID
  winops.volume_activation.kms_client:
    activation_ids: [d450596f-894d-49e0-966a-fd39ed4c4c64]
    kms_host: kms01.example.com
"""

RETURN = r"""
after:
  description:
    - The settings after the change, read back, with the keys of RV(before).
    - In check mode, the settings as they would be.
  returned: success
  version_added: 0.1.0
  type: dict
  sample:
    targets:
      SoftwareLicensingService: {kms_host: kms01.example.com, kms_port: 1689, lookup_domain: null,
                                 activation_type: all}
    host_caching: false
before:
  description: The settings before any change.
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    targets:
      description:
        - The service or products configured, by C(SoftwareLicensingService) / C(OfficeSoftwareProtectionService)
          or C(<product name> (<activation ID>)), each with C(kms_host), C(kms_port), C(lookup_domain),
          C(activation_type) as in RV(targets).
      type: dict
      sample:
        SoftwareLicensingService: {kms_host: null, kms_port: null, lookup_domain: null, activation_type: all}
    host_caching:
      description: Host caching of the service that holds it for this family.
      type: bool
      sample: true
changes:
  description: What was done (or would be done in check mode), one sentence per operation.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["set the KMS host to 'kms01.example.com' on SoftwareLicensingService", "set the KMS port to 1689 on SoftwareLicensingService"]
host_caching:
  description: KMS host caching after the change, of the service that holds it for this family (null when unknown).
  returned: success
  version_added: 0.1.0
  type: bool
  sample: false
platform:
  description: Where the settings live, V(spp) (Software Licensing Service) or V(ospp) (Office Software Protection Platform).
  returned: success
  version_added: 0.1.0
  type: str
  sample: spp
product:
  description: The product family configured, null when O(activation_ids) was given.
  returned: success
  version_added: 0.1.0
  type: str
  sample: windows
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing changed, 2 after a change).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
targets:
  description: The service or each product configured, after the change (in check mode, as it would be).
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    target:
      description: V(service) or V(product).
      type: str
      sample: service
    class:
      description: The WMI class the settings were written to.
      type: str
      sample: SoftwareLicensingService
    activation_id:
      description: The product's activation ID, null for a service.
      type: str
      sample: null
    name:
      description: The product's name, null for a service.
      type: str
      sample: null
    kms_host:
      description: The KMS host in effect, null when DNS discovery is used.
      type: str
      sample: kms01.example.com
    kms_port:
      description: Its port (1688 when not set), null without a KMS host.
      type: int
      sample: 1689
    lookup_domain:
      description: The DNS domain searched for SRV records, null when not set.
      type: str
      sample: null
    activation_type:
      description: The allowed activation type (V(all), V(ad), V(kms), V(token)), null on Windows 7 and OSPP.
      type: str
      sample: all
"""
