#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: kms_host runs entirely through its action plugin
# (plugins/action/kms_host.py), which sends batches to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: kms_host
short_description: Configure the Key Management Service (KMS) host settings of a Windows host
version_added: 0.1.0
description:
  - Sets what C(slmgr.vbs) sets on a KMS host, through the C(SoftwareLicensingService) WMI methods
    instead of the script's localized text, that is the listening port (C(/sprt)), DNS publishing
    (C(/sdns) C(/cdns)), the extra DNS domains the host publishes its C(_vlmcs._tcp) SRV record in,
    with priority and weight (registry value C(DnsDomainPublishList)), low priority (C(/spri)
    C(/cpri)), the activation and renewal intervals it gives its clients (C(/sai) C(/sri)) and host
    caching (C(/skhc) C(/ckhc)).
  - Only the options that are given are managed; the others are left as they are.
  - The KMS host applies the port, publishing, the publish list, the priority and the intervals at
    the next start of the Software Protection service (C(sppsvc); C(slmgr.vbs) warns "a KMS reboot is
    needed"). The module restarts C(sppsvc) in the same WinRM round trip as the change, and only when
    one of those settings changed. Host caching needs no restart.
  - Returns the settings before and after, the host's current count (V(-1) when no client has
    contacted it yet), the count it needs and its request counters.
  - Refuses, before changing anything, on a machine that is not a KMS host, as C(slmgr.vbs) does.
    Install and activate a KMS host key (CSVLK) first.
  - One WinRM round trip when nothing changes, two when something does.
options:
  activation_interval:
    description:
      - Minutes between the activation attempts of clients that are not activated yet
        (C(slmgr.vbs /sai)), given to clients in the host's answers. Windows' default is 120.
      - From 15 to 43200 (30 days).
    type: int
    version_added: 0.1.0
  dns_publishing:
    description:
      - Whether the host registers its C(_vlmcs._tcp) SRV record by dynamic DNS update every 24 hours
        (C(slmgr.vbs /sdns) for V(true), C(/cdns) for V(false)). Windows' default is V(true).
      - Turn it off when the DNS zone does not accept dynamic updates and the records are managed by
        hand.
    type: bool
    version_added: 0.1.0
  host_caching:
    description:
      - Whether this machine, as a KMS client, keeps using the KMS host it last reached instead of
        asking DNS again (C(slmgr.vbs /skhc) for V(true), C(/ckhc) for V(false)). Windows' default is
        V(true). Microsoft recommends turning it off when SRV priority and weight are used.
      - The same setting as O(winops.volume_activation.kms_client#module:host_caching) for Windows.
    type: bool
    version_added: 0.1.0
  low_priority:
    description:
      - Whether the Key Management Service runs at low priority on a busy server
        (C(slmgr.vbs /spri) for V(false), C(/cpri) for V(true)). Windows' default is V(false).
    type: bool
    version_added: 0.1.0
  port:
    description:
      - The TCP port the host listens on (C(slmgr.vbs /sprt)). Windows' default is 1688.
      - Open the port with M(winops.volume_activation.kms_firewall); clients that find the host through
        DNS learn the port from the SRV record, others need it with
        O(winops.volume_activation.kms_client#module:kms_host).
    type: int
    aliases: [listening_port]
    version_added: 0.1.0
  publish_domains:
    description:
      - The DNS domains, besides the host's own, in which the host publishes its SRV record, with the
        record's priority and weight (registry value C(DnsDomainPublishList), one line
        C(domain, priority, weight) per domain).
      - An empty list removes the value, so that the host publishes in its own domain only.
      - Clients honour priority and weight only with host caching turned off.
      - Takes effect only with DNS publishing on.
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      domain:
        description: The DNS domain, for example V(branch.example.com).
        type: str
        required: true
        version_added: 0.1.0
      priority:
        description: The SRV priority, 0 to 65535; lower is tried first.
        type: int
        default: 0
        version_added: 0.1.0
      weight:
        description: The SRV weight, 0 to 65535, among the records of one priority.
        type: int
        default: 0
        version_added: 0.1.0
  renewal_interval:
    description:
      - Minutes between the renewals of activated clients (C(slmgr.vbs /sri)). Windows' default is
        10080 (7 days).
      - From 15 to 43200 (30 days).
    type: int
    version_added: 0.1.0
  republish:
    description:
      - Restart the Software Protection service (C(sppsvc)) even when no setting changed, so that a
        KMS host with DNS publishing on publishes its C(_vlmcs._tcp) SRV record again now. Windows
        publishes it when the service starts and every 24 hours after; use this after a DNS outage
        or refused dynamic updates left the zone without the record.
      - Costs the restart only; nothing is restarted in check mode.
    type: bool
    default: false
    version_added: 0.1.0
  restart_service:
    description:
      - Restart the Software Protection service (C(sppsvc)) in the same round trip when a setting that
        the KMS host reads at start changed.
      - With V(false) the settings are stored and RV(restart_required) is V(true); the host applies
        them at its next restart.
    type: bool
    default: true
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: Reads the host and reports what would change; nothing is changed and C(sppsvc) is not restarted.
  diff_mode:
    details: The settings before and after.
notes:
  - Ansible supports Windows Server 2016 and Windows 10 or newer as managed nodes. Windows 7 and Windows
    Server 2008 R2 with WMF 5.1, the only OSes the Office 2010 KMS host license pack installs on, are
    simulated in the collection's lab and supported on a best-effort basis.
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target.
  - Every option is validated before the host is contacted; a value out of range fails with the
    option, the value and the allowed range named.
  - The Office KMS host licenses (Office 2010 to LTSC 2024 host packs) are installed into the Windows
    Software Protection Platform, so these settings apply to them too.
  - C(DnsDomainPublishList) is written in the format of Windows Server 2012 and later; the format
    used by Windows Server 2008 R2 is not confirmed.
seealso:
  - module: winops.volume_activation.kms_firewall
  - module: winops.volume_activation.kms_client
  - module: winops.volume_activation.license_info
  - name: Create a KMS host
    description: Microsoft's steps to set up a KMS host.
    link: https://learn.microsoft.com/windows-server/get-started/kms-create-host
  - name: slmgr.vbs options for volume activation
    description: The script options this module replaces.
    link: https://learn.microsoft.com/windows-server/get-started/activation-slmgr-vbs-options
  - module: community.windows.win_firewall_rule
    description: General-purpose firewall rules (see M(winops.volume_activation.kms_firewall) for the KMS port).
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Listen on 1688, publish in two more domains and renew weekly
  winops.volume_activation.kms_host:
    port: 1688
    dns_publishing: true
    publish_domains:
      - domain: branch1.example.com
        priority: 10
        weight: 60
      - domain: branch2.example.com
        priority: 10
        weight: 40
    renewal_interval: 10080
  register: kms

- name: Show the count against the threshold
  ansible.builtin.debug:
    msg: "{{ kms.current_count }} of {{ kms.required_count }} clients"

- name: Stop publishing (the SRV records are managed by hand), restart sppsvc later
  winops.volume_activation.kms_host:
    dns_publishing: false
    restart_service: false
  register: kms_publishing

- name: Use a non-default port and open it
  block:
    - name: Listen on 1689
      winops.volume_activation.kms_host:
        port: 1689
    - name: Open 1689 to the client subnet
      winops.volume_activation.kms_firewall:
        port: 1689
        remote_addresses: [10.20.0.0/16]
"""

RETURN = r"""
after:
  description:
    - The settings after the change, read back from the host.
    - In check mode, the settings the host would have.
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    port:
      description: The listening port (1688 when not set).
      type: int
      sample: 1688
    dns_publishing:
      description: Whether the host publishes its SRV record.
      type: bool
      sample: true
    publish_domains:
      description: The extra domains of C(DnsDomainPublishList), each with C(domain), C(priority), C(weight).
      type: list
      elements: dict
      sample: [{domain: branch1.example.com, priority: 10, weight: 60}]
    low_priority:
      description: Whether the service runs at low priority.
      type: bool
      sample: false
    activation_interval:
      description: Minutes between activation attempts of clients not activated yet.
      type: int
      sample: 120
    renewal_interval:
      description: Minutes between renewals of activated clients.
      type: int
      sample: 10080
    host_caching:
      description: Whether KMS host caching is on.
      type: bool
      sample: true
before:
  description: The settings as read before any change, with the keys of RV(after).
  returned: success
  version_added: 0.1.0
  type: dict
  sample:
    port: 1688
    dns_publishing: true
    publish_domains: []
    low_priority: false
    activation_interval: 120
    renewal_interval: 10080
    host_caching: true
changed_settings:
  description: The names of the options whose value changed (or would change in check mode).
  returned: success
  version_added: 0.1.0
  type: list
  elements: str
  sample: [port, publish_domains]
changes:
  description: What was done (or would be done in check mode), one sentence per operation.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample:
    - set the KMS listening port to 1689 (was 1688)
    - restart the Software Protection service (sppsvc) so that the KMS host applies the new settings
current_count:
  description:
    - The number of clients the KMS host counts (the last 30 days, up to 50), from the Windows KMS
      host product when there is one, else from the licensing service.
    - V(-1) when no client has contacted the host yet (CIM returns 4294967295).
  returned: success
  version_added: 0.1.0
  type: int
  sample: 7
kms_host_products:
  description: Every product with a key that has the KMS host role, with its own count (Windows and Office hosts count separately).
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    activation_id:
      description: The activation ID (C(slmgr.vbs /dlv <id>)).
      type: str
      sample: 98ebfe73-2084-4c97-932c-c0cd1643bea7
    name:
      description: The product name.
      type: str
      sample: "Office 16, OfficeKMSHostVL_KMS_Host edition"
    family:
      description: V(windows), V(office2010) or V(office).
      type: str
      sample: office
    office_version:
      description: The Office version of an Office host license, else null.
      type: str
      sample: "2016"
    license_status:
      description: The license status name, for example V(licensed) or V(initial_grace).
      type: str
      sample: licensed
    activated:
      description: Whether the host product is activated; an unactivated host answers 0xC004F041.
      type: bool
      sample: true
    current_count:
      description: Its current count, V(-1) when no client has contacted it.
      type: int
      sample: 7
    required_count:
      description: The count its clients need.
      type: int
      sample: 5
    requests:
      description: Its request counters, as RV(requests).
      type: dict
      sample: {total: 12, failed: 0, unlicensed: 0, licensed: 5, initial_grace: 7, additional_grace: 0,
               non_genuine_grace: 0, notification: 0}
required_count:
  description: The count the host's clients need before they activate (25 Windows clients, 5 servers or Office).
  returned: success
  version_added: 0.1.0
  type: int
  sample: 25
requests:
  description: The requests the host has received, by the client's license status.
  returned: success
  version_added: 0.1.0
  type: dict
  contains:
    total:
      description: All requests.
      type: int
      sample: 12
    failed:
      description: Requests that failed.
      type: int
      sample: 0
    unlicensed:
      description: Requests from unlicensed clients.
      type: int
      sample: 0
    licensed:
      description: Requests from licensed clients.
      type: int
      sample: 5
    initial_grace:
      description: Requests from clients in their initial grace period.
      type: int
      sample: 7
    additional_grace:
      description: Requests from clients whose KMS license expired or whose hardware changed.
      type: int
      sample: 0
    non_genuine_grace:
      description: Requests from clients in non-genuine grace.
      type: int
      sample: 0
    notification:
      description: Requests from clients in notification mode.
      type: int
      sample: 0
restart_required:
  description:
    - Whether settings the KMS host reads at start were changed without restarting C(sppsvc)
      (O(restart_service=false), an operation failed before the restart, or Windows refused the
      restart).
    - When Windows refuses the restart (on Windows 8 and later C(sppsvc) is trigger-started and may
      refuse a stop requested over WinRM) the settings already applied are not a failure; the task
      succeeds with V(true) here and a warning saying they take effect at the next start of
      C(sppsvc). C(slmgr.vbs) never restarts it either; it says a restart is needed.
  returned: success
  version_added: 0.1.0
  type: bool
  sample: false
restarted:
  description: Whether C(sppsvc) was restarted by this task.
  returned: success
  version_added: 0.1.0
  type: bool
  sample: true
round_trips:
  description: How many times the licensing executor ran on the host (1 when nothing changed, 2 after a change).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
"""
