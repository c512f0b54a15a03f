#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: kms_firewall runs entirely through its action plugin
# (plugins/action/kms_firewall.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: kms_firewall
short_description: Open or close the Key Management Service (KMS) port in Windows Defender Firewall
version_added: 0.1.0
description:
  - Lets KMS clients reach a KMS host through Windows Defender Firewall, scoped to the clients'
    addresses and to the Domain and Private profiles by default, as Microsoft recommends.
  - For port 1688 it enables and scopes the built-in inbound rule C(SPPSVC-In-TCP) ("Key Management
    Service (TCP-In)"), the same as C(Set-NetFirewallRule -Name SPPSVC-In-TCP -Profile Domain,Private
    -Enabled True).
  - It works through the Windows Firewall COM API (C(HNetCfg.FwPolicy2)) on every Windows version, so
    it also works on Windows 7 and Windows Server 2008 R2, which have no NetSecurity cmdlets. The
    built-in rule is recognised by what Windows ships and never translates (its indirect-string group,
    inbound TCP 1688, service sppsvc), never by its display name, which is localized.
  - The built-in rule opens 1688 only, so for another port the module manages a rule of its own named
    C(winops-va-kms-tcp-in) (TCP, inbound, program C(sppextcomobj.exe), service C(sppsvc)), and removes
    that rule again when the host goes back to 1688.
  - O(state=absent) closes the port, disabling the built-in rule (it is never deleted) and removing the
    module's own rule.
  - Warns loudly when asked to open the port to everyone, in any spelling - V(Any), V(*),
    V(0.0.0.0/0), V(::/0), V(0.0.0.0-255.255.255.255), or subnets and ranges that together cover every IPv4
    or IPv6 address - and when the rule would apply in the Public profile (V(Any) includes it).
  - One WinRM round trip when nothing changes, two when something does.
options:
  port:
    description:
      - The TCP port of the KMS host.
      - By default the port the KMS host is configured to listen on (C(KeyManagementServiceListeningPort),
        read in the same round trip, see M(winops.volume_activation.kms_host)), which is 1688 unless it
        was changed.
    type: int
    version_added: 0.1.0
  profiles:
    description:
      - The firewall profiles in which the rule applies; at least one (an empty list is refused, as
        Windows would read it as V(Any)).
      - V(Any) or all three profiles apply it everywhere. A rule in the Public profile, V(Any) included,
        gets a warning.
    type: list
    elements: str
    choices: [Any, Domain, Private, Public]
    default: [Domain, Private]
    version_added: 0.1.0
  remote_addresses:
    description:
      - Who may connect, as the Windows Firewall COM API (C(INetFwRule.RemoteAddresses)) takes it.
      - IPv4 or IPv6 addresses (V(10.1.2.3), V(fd00::10)), subnets (V(10.20.0.0/16),
        V(10.20.0.0/255.255.0.0), V(fd00::/64)), ranges (V(10.20.0.1-10.20.0.99)), the keywords
        V(LocalSubnet), V(DNS), V(DHCP), V(WINS), V(DefaultGateway), or V(Any) (V(*)).
      - The other keywords of C(Set-NetFirewallRule -RemoteAddress) (V(Internet), V(Intranet),
        V(IntranetRemoteAccess), V(PlayToDevice), and the V(4)/V(6) forms such as V(LocalSubnet4)) are
        refused before anything changes, because the COM API, used on every Windows version, does not take them.
      - V(Any) and every other way of naming all addresses (V(0.0.0.0/0), V(::/0), ranges or subnets that
        together cover every address) let anyone reach the KMS host and be counted by it; the module warns.
    type: list
    elements: str
    default: [LocalSubnet]
    version_added: 0.1.0
  state:
    description:
      - V(present) opens the port to O(remote_addresses) in O(profiles).
      - V(absent) closes it.
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
    details: Reads the rules and reports what would change; no rule is changed.
  diff_mode:
    details: Both rules before and after (enabled, profiles, remote addresses, ports, existence).
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - Windows reports an IPv4 subnet with a mask (V(10.20.0.0/255.255.0.0)); the module compares subnets
    in either form, so the same request is not a change the second time.
  - Ansible supports Windows Server 2016 and Windows 10 or newer as managed nodes. Windows 7 and Windows
    Server 2008 R2 with WMF 5.1 (the Office 2010 KMS host OS) are simulated in the collection's lab and
    supported on a best-effort basis.
  - The module's own rule is named C(winops-va-kms-tcp-in) in the group C(winops.volume_activation)
    (the COM API gives a rule one name, shown as its display name); it is found by both.
  - If the built-in rule C(SPPSVC-In-TCP) is missing, the module uses its own rule for 1688 too, with a warning.
seealso:
  - module: winops.volume_activation.kms_host
  - name: Create a KMS host
    description: Microsoft's steps, including the firewall rule.
    link: https://learn.microsoft.com/windows-server/get-started/kms-create-host
  - name: INetFwRule RemoteAddresses
    description: The remote address forms the Windows Firewall COM API accepts.
    link: https://learn.microsoft.com/windows/win32/api/netfw/nf-netfw-inetfwrule-get_remoteaddresses
  - module: community.windows.win_firewall_rule
    description: General-purpose firewall rules; this module manages only the KMS rule, scoped and with the built-in rule kept in step.
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Open the KMS port (the host's configured port) to the local subnet, Domain and Private profiles
  winops.volume_activation.kms_firewall:

- name: Open 1688 to two client subnets in the Domain profile only
  winops.volume_activation.kms_firewall:
    port: 1688
    remote_addresses:
      - 10.20.0.0/16
      - 10.30.0.0/255.255.0.0
    profiles: [Domain]

- name: Open a custom port (the collection's own rule winops-va-kms-tcp-in)
  winops.volume_activation.kms_firewall:
    port: 1689
    remote_addresses: [LocalSubnet, 192.0.2.10-192.0.2.50]

- name: Close the KMS port
  winops.volume_activation.kms_firewall:
    state: absent
"""

RETURN = r"""
after:
  description:
    - Both rules after the change, read back, by rule name (C(SPPSVC-In-TCP) and C(winops-va-kms-tcp-in)).
    - In check mode, the rules as they would be.
  returned: success
  version_added: 0.1.0
  type: dict
  sample:
    SPPSVC-In-TCP: {exists: true, enabled: true, profiles: [Domain, Private], remote_addresses: [LocalSubnet],
                    local_ports: ["1688"]}
    winops-va-kms-tcp-in: {exists: false}
before:
  description: Both rules before any change, as RV(after).
  returned: success
  version_added: 0.1.0
  type: dict
  sample:
    SPPSVC-In-TCP: {exists: true, enabled: false, profiles: [Any], remote_addresses: [Any], local_ports: ["1688"]}
    winops-va-kms-tcp-in: {exists: false}
changes:
  description: What was done (or would be done in check mode), one sentence per operation.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["open TCP 1688 with the firewall rule SPPSVC-In-TCP (enabled True; profiles Domain, Private; remote_addresses LocalSubnet)"]
port:
  description: The port the module opened or closed.
  returned: success
  version_added: 0.1.0
  type: int
  sample: 1688
port_source:
  description: Where RV(port) came from, V(option), V(host) (the KMS host's configured port) or V(default) (1688, the host's port could not be read).
  returned: success
  version_added: 0.1.0
  type: str
  sample: host
rule:
  description: The rule RV(rule_name) after the change, with the keys of the entries of RV(after).
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    exists:
      description: Whether the rule exists.
      type: bool
      sample: true
    enabled:
      description: Whether the rule is enabled.
      type: bool
      sample: true
    profiles:
      description: The profiles, V(Any) when all.
      type: list
      elements: str
      sample: [Domain, Private]
    remote_addresses:
      description: The remote addresses, normalized (subnets as prefix lengths), V(Any) when unrestricted.
      type: list
      elements: str
      sample: [LocalSubnet]
    local_ports:
      description: The local ports.
      type: list
      elements: str
      sample: ["1688"]
rule_name:
  description: The rule used for RV(port), C(SPPSVC-In-TCP) for 1688, else C(winops-va-kms-tcp-in).
  returned: success
  version_added: 0.1.0
  type: str
  sample: SPPSVC-In-TCP
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing changed, 2 after a change).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 1
"""
