#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: kms_srv_record runs entirely through its action plugin
# (plugins/action/kms_srv_record.py). With method=rfc2136 it talks DNS from the control node;
# with method=windows_dns it sends batches to the winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: kms_srv_record
short_description: Manage the _vlmcs._tcp SRV records that KMS clients use to find KMS hosts
version_added: 0.1.0
description:
  - Makes the C(_vlmcs._tcp) SRV records of a DNS zone match a list of KMS hosts, each with its port,
    priority and weight, and a TTL. KMS clients look up these records to find a KMS host.
  - A KMS host publishes its own record by dynamic update every 24 hours unless publishing is turned
    off. Use this module when the zone does not accept those updates, when records are managed by
    hand, or to remove the stale record of a replaced KMS host. Stale records are otherwise left
    until someone deletes them or scavenging removes them.
  - With O(method=rfc2136) the module reads the records with a DNS query, sends all the changes in
    one RFC 2136 dynamic update, optionally signed with a TSIG key, and reads them back. This works
    with BIND, Windows DNS and any server that accepts dynamic updates. Everything runs on the
    Ansible control node with dnspython and never contacts the inventory host.
  - With O(method=windows_dns) the module changes the records through the Windows DNS Server WMI
    provider (C(MicrosoftDNS_SRVType) in C(root/MicrosoftDNS)) on the inventory host, which must be
    the DNS server. It costs one WinRM round trip when nothing changes and two when something does.
  - Each listed target ends with exactly one record. A record whose port, priority, weight or TTL
    differs is replaced; other records of that target are removed.
  - Check mode reads the records and reports what would change, with the diff, and changes nothing.
options:
  dns_server:
    description:
      - With O(method=windows_dns), the C(DnsServerName) given to
        C(MicrosoftDNS_SRVType.CreateInstanceFromPropertyData) when a record is created.
      - Microsoft documents this parameter as the FQDN or IP address of the DNS server that holds the record.
        By default the module passes the server's own name, C(MicrosoftDNS_Server.Name), read in the same round
        trip as the records.
      - The WMI provider manages the DNS server of the host it runs on, so the inventory host must be the
        DNS server.
      - Not allowed with O(method=rfc2136); use O(server) there.
    type: str
    version_added: 0.1.0
  exclusive:
    description:
      - With V(true), records at the owner name whose target is not in O(records) are removed, for
        example the stale record of a KMS host that was replaced.
      - With V(false), records of other targets are left alone.
      - Only with O(state=present).
    type: bool
    default: false
    version_added: 0.1.0
  method:
    description:
      - How the records are read and changed.
      - >-
        V(rfc2136) sends DNS messages from the control node to O(server) over TCP, a query and one
        dynamic update. The inventory host is not contacted, so the task can run with
        C(delegate_to: localhost) or against any host, and the result is the same. Use C(run_once: true)
        when the play targets several hosts, so the update is sent once.
      - V(windows_dns) runs on the inventory host, which must be a Windows DNS server, through the
        collection's executor and the C(root/MicrosoftDNS) WMI namespace.
    type: str
    required: true
    choices: [rfc2136, windows_dns]
    version_added: 0.1.0
  name:
    description:
      - The owner name of the records, as a fully qualified name inside O(zone) that starts with
        C(_vlmcs._tcp.).
      - Defaults to C(_vlmcs._tcp.<zone>).
      - Set it to publish for a subdomain held in O(zone), for example C(_vlmcs._tcp.branch.contoso.com)
        in zone C(contoso.com), or for the lookup domain that clients are given with
        C(slmgr.vbs /skms-domain).
    type: str
    version_added: 0.1.0
  records:
    description:
      - The KMS hosts, one entry per target.
      - With O(state=present), the records that must exist. With O(state=absent), the targets whose
        records must not exist, and only O(records[].target) is used.
      - An empty list with O(exclusive=true) removes every record at the owner name.
    type: list
    elements: dict
    default: []
    version_added: 0.1.0
    suboptions:
      port:
        description:
          - The TCP port the KMS host listens on, from 1 to 65535.
        type: int
        default: 1688
        version_added: 0.1.0
      priority:
        description:
          - The SRV priority, from 0 to 65535. Clients try lower values first.
          - KMS clients honour priority and weight only when KMS host caching is off
            (C(slmgr.vbs /ckhc), see M(winops.volume_activation.kms_client)).
        type: int
        default: 0
        version_added: 0.1.0
      target:
        description:
          - The fully qualified domain name of the KMS host. A trailing dot is optional and case is
            ignored.
          - Must be a host name (letters, digits and hyphens) with at least two labels. It must not be
            the zone apex.
        type: str
        required: true
        version_added: 0.1.0
      weight:
        description:
          - The SRV weight, from 0 to 65535. Among hosts with the same priority, clients pick a host in
            proportion to its weight.
        type: int
        default: 0
        version_added: 0.1.0
  server:
    description:
      - With O(method=rfc2136), the DNS server that receives the query and the update, as an IP address
        or a host name that the control node can resolve. Give the primary server of the zone.
      - Required with O(method=rfc2136). Not allowed with O(method=windows_dns).
    type: str
    version_added: 0.1.0
  server_port:
    description:
      - With O(method=rfc2136), the TCP port of O(server).
    type: int
    default: 53
    version_added: 0.1.0
  state:
    description:
      - V(present) makes the listed records exist.
      - V(absent) removes every record of the listed targets, whatever its port, priority or weight.
    type: str
    choices: [absent, present]
    default: present
    version_added: 0.1.0
  timeout:
    description:
      - With O(method=rfc2136), seconds to wait for each answer from O(server), from 1 to 3600.
    type: int
    default: 10
    version_added: 0.1.0
  tsig_algorithm:
    description:
      - With O(method=rfc2136), the algorithm of the TSIG key.
    type: str
    choices: [hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512]
    default: hmac-sha256
    version_added: 0.1.0
  tsig_key_name:
    description:
      - With O(method=rfc2136), the name of the TSIG key that signs the query and the update, for example
        the key named in the zone's C(allow-update) or C(update-policy) in BIND.
      - Without a key the messages are unsigned, which only servers that allow updates by address accept.
      - Requires O(tsig_key_secret).
    type: str
    version_added: 0.1.0
  tsig_key_secret:
    description:
      - The base64 secret of O(tsig_key_name), as printed by C(tsig-keygen).
      - It is never returned or logged. Error messages name the key, not the secret.
      - Keep it in Ansible Vault or a vars file, not in the play. When a task fails, ansible-core prints
        the playbook lines around the task, and at C(-vvvv) it prints the C(-e) values of the command
        line.
    type: str
    version_added: 0.1.0
  ttl:
    description:
      - The TTL of the records in seconds, from 0 to 2147483647.
      - Microsoft does not document the TTL a KMS host uses when it publishes its own record, so the
        default of one hour is this module's choice.
      - On an RFC 2136 server all records at a name share one TTL, so a change applies to every record
        at the owner name, including records of targets that are not listed. Windows DNS keeps a TTL
        per record, and only the listed records get this TTL.
    type: int
    default: 3600
    version_added: 0.1.0
  zone:
    description:
      - The DNS zone that holds the records, for example C(contoso.com). The update is addressed to this
        zone.
    type: str
    required: true
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: The records are read (a DNS query, or one WinRM round trip) and nothing is changed.
  diff_mode:
    details: The records before and after, one C(priority weight port target (TTL n)) line per record.
  platform:
    platforms: [posix, windows]
    details:
      - V(rfc2136) runs on the control node.
      - V(windows_dns) runs on a Windows DNS server.
  action:
    details:
      - With V(rfc2136) the action plugin does the whole job on the control node (dnspython, TSIG);
        with V(windows_dns) it plans there and the DNS server runs the collection's executor.
notes:
  - With O(method=rfc2136) the update carries a prerequisite that the records are still what was just
    read, and the server applies the whole update or none of it. If another writer changes the records
    in between, for example a KMS host publishing itself or a parallel task, the module reads them
    again and re-plans, up to three times.
  - TSIG errors are reported by name, for example C(BADSIG) when the secret does not match and
    C(BADKEY) when the server does not know the key. A C(REFUSED) answer means that the server's update
    policy does not allow the change.
  - With O(method=windows_dns), records are added before stale ones are removed, so clients always find
    a host. The executor stops at the first failure.
  - The lab that ships with this collection does not simulate the C(root/MicrosoftDNS) namespace. It
    answers C(0x8004100E) WBEM_E_INVALID_NAMESPACE, as a Windows host without the DNS Server role does.
    The O(method=windows_dns) path is therefore tested only with recorded WMI results. The
    O(method=rfc2136) path is tested against BIND 9.
  - To check the records from a Windows client, run C(nslookup -type=srv _vlmcs._tcp).
seealso:
  - module: winops.volume_activation.kms_host
  - module: winops.volume_activation.kms_client
  - name: Configure DNS for KMS (Windows Server)
    description: How KMS hosts publish _vlmcs._tcp records and the manual record values.
    link: https://learn.microsoft.com/windows-server/get-started/common-troubleshooting-procedures-kms-dns
  - name: MicrosoftDNS_SRVType class
    description: The WMI class used by O(method=windows_dns).
    link: https://learn.microsoft.com/windows/win32/dns/microsoftdns-srvtype
  - name: RFC 2136
    description: Dynamic Updates in the Domain Name System.
    link: https://www.rfc-editor.org/rfc/rfc2136
  - module: ansible.windows.win_dns_record
    description: Any record on a Windows DNS server, SRV included, one record at a time and without removing stale hosts.
  - module: community.general.nsupdate
    description: >-
      Any record by RFC 2136 dynamic update; this module adds the KMS semantics (one update, a prerequisite
      on what was read, exclusive removal of stale hosts).
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Publish two KMS hosts in BIND and remove any other _vlmcs._tcp record
  winops.volume_activation.kms_srv_record:
    method: rfc2136
    zone: contoso.com
    server: 192.0.2.53
    tsig_key_name: kms-update.contoso.com
    tsig_key_secret: "{{ vault_kms_tsig_secret }}"
    records:
      - target: kms1.contoso.com
      - target: kms2.contoso.com
        priority: 10
    exclusive: true
  delegate_to: localhost
  run_once: true

- name: Remove the record of a decommissioned KMS host
  winops.volume_activation.kms_srv_record:
    method: rfc2136
    zone: contoso.com
    server: ns1.contoso.com
    tsig_key_name: kms-update.contoso.com
    tsig_key_secret: "{{ vault_kms_tsig_secret }}"
    records:
      - target: oldkms.contoso.com
    state: absent
  delegate_to: localhost
  run_once: true

- name: Publish the KMS host for a branch subdomain held in the parent zone, on a Windows DNS server
  winops.volume_activation.kms_srv_record:
    method: windows_dns
    zone: contoso.com
    name: _vlmcs._tcp.branch.contoso.com
    records:
      - target: kms-branch.contoso.com
        port: 1688
    ttl: 900
  # the inventory host is the Windows DNS server
"""

RETURN = r"""
added:
  description: The records that were added, or would be added in check mode.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  sample: [{target: kms2.contoso.com, port: 1688, priority: 0, weight: 0, ttl: 3600}]
before:
  description: The records at the owner name before the task, in the order clients try them.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  sample: [{target: oldkms.contoso.com, port: 1688, priority: 0, weight: 0, ttl: 3600}]
changes:
  description: One line per change made, or that would be made in check mode.
  returned: changed
  version_added: 0.1.0
  type: list
  elements: str
  sample: ["add SRV record '0 0 1688 kms2.contoso.com' (TTL 3600) at '_vlmcs._tcp.contoso.com'"]
method:
  description: The method used, V(rfc2136) or V(windows_dns).
  returned: success
  version_added: 0.1.0
  type: str
  sample: rfc2136
name:
  description: The owner name of the records.
  returned: success
  version_added: 0.1.0
  type: str
  sample: _vlmcs._tcp.contoso.com
records:
  description:
    - The records at the owner name after the task, read back from the server, in the order clients try them.
    - In check mode, the records the server would hold.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    target:
      description: The KMS host FQDN, lower case, without the trailing dot.
      type: str
      sample: kms1.contoso.com
    port:
      description: The port.
      type: int
      sample: 1688
    priority:
      description: The priority.
      type: int
      sample: 0
    weight:
      description: The weight.
      type: int
      sample: 0
    ttl:
      description: The TTL in seconds.
      type: int
      sample: 3600
removed:
  description: The records that were removed, or would be removed in check mode.
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  sample: [{target: oldkms.contoso.com, port: 1688, priority: 0, weight: 0, ttl: 3600}]
round_trips:
  description: WinRM round trips to the inventory host. Always 0 with O(method=rfc2136).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 2
updated:
  description:
    - The records whose port, priority, weight or TTL changed, or would change in check mode.
    - Each item has C(target), C(before) and C(after), each a record as in RV(records).
  returned: success
  version_added: 0.1.0
  type: list
  elements: dict
  sample: [{target: kms1.contoso.com, before: {target: kms1.contoso.com, port: 1688, priority: 0, weight: 0,
            ttl: 3600}, after: {target: kms1.contoso.com, port: 1688, priority: 10, weight: 0, ttl: 3600}}]
zone:
  description: The zone, lower case, without the trailing dot.
  returned: success
  version_added: 0.1.0
  type: str
  sample: contoso.com
"""
