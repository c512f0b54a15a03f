#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: kms_probe runs through its action plugin
# (plugins/action/kms_probe.py), which sends one batch to the licensing_batch executor.

DOCUMENTATION = r"""
---
module: kms_probe
short_description: Tell why a KMS client cannot reach a KMS host, from the client, without charging the host
version_added: 0.1.0
description:
  - From the Windows client, in one WinRM round trip, finds the KMS hosts the client would use and checks each
    the way activation would reach it, stopping before activation.
  - Finds the hosts as the client does. O(kms_host) when given; else the KMS host set on the client
    (C(slmgr /skms), C(SoftwareLicensingService.KeyManagementServiceMachine) and its port); else the
    C(_vlmcs._tcp) SRV records of O(domain), of the client's KMS lookup domain (C(slmgr /skms-domain)), or of
    its computer's domain (C(Win32_ComputerSystem.Domain)).
  - For each KMS host it resolves the name on the client (C(DnsQuery_W), present on Windows 7 where
    C(Resolve-DnsName) is not), connects to its port, sends a DCE/RPC bind for the KMS interface (built on the
    controller from The Open Group's C706) and reads the bind_ack.
  - It stops there. No activation request is sent, so the KMS host's count and its request counters do not
    change, and nothing changes on the client.
  - When the KMS port does not answer, it connects to the host's management ports (O(check_ports)) to tell a
    host that is down from a port that is closed.
  - Ends with a verdict for the client and the next step.
  - When a KMS host it tried is a host of the inventory whose licensing state is already known in this run (a
    C(license_info) result registered as C(activation_report_info), or the host-level module's
    C(volume_activation_host_result.license_info)), a refused port is told apart as C(not_kms_host),
    C(wrong_port) or C(sppsvc_stopped); without that, it is C(not_listening).
options:
  check_ports:
    description:
      - Ports connected to (only connected, nothing sent) on a KMS host whose KMS port does not answer. One that
        accepts shows that the host is up.
      - Default is WinRM's ports 5985 and 5986 and every C(ansible_port) of the inventory, up to 8 ports.
    type: list
    elements: int
    version_added: 0.1.0
  connect_timeout_ms:
    description: How long the client waits for each TCP connection, in milliseconds (100 to 10000).
    type: int
    default: 2000
    version_added: 0.1.0
  domain:
    description:
      - The DNS domain whose C(_vlmcs._tcp) SRV records list the KMS hosts.
      - Default is the client's KMS lookup domain when one is set, else its computer's domain.
      - Ignored for the TCP checks when the client has a KMS host set (Windows does not look in DNS then), but
        still queried and returned in RV(srv_records).
    type: str
    version_added: 0.1.0
  kms_host:
    description:
      - Probe this KMS host (a DNS name or an IPv4 address) instead of the ones the client would use.
    type: str
    version_added: 0.1.0
  kms_port:
    description: The port of O(kms_host).
    type: int
    default: 1688
    version_added: 0.1.0
  receive_timeout_ms:
    description: How long the client waits for the bind_ack, in milliseconds (100 to 10000).
    type: int
    default: 2000
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module changes nothing, so check mode runs the same probe.
  diff_mode:
    support: none
  platform:
    platforms: windows
notes:
  - Runs the collection's C(winops.volume_activation.licensing_batch) executor once; its C(dns_query) and
    C(tcp_exchange) operations only resolve, connect and copy bytes, with bounded timeouts. Every byte sent is
    built, and every byte received is judged, on the controller.
  - The KMS interface UUID C(51c82175-844e-4750-b0d8-ec255555bc06) version 1.0 is the one seen in captures of KMS
    traffic; Microsoft documents only anonymous RPC over TCP port 1688.
  - A firewall that drops the KMS port shows as a connection that times out (or is reset) while a management port
    answers (C(port_closed)); nothing listening shows as a refused connection (C(not_listening)).
  - The KMS host set on one product (C(slmgr /skms <host> <activation ID>)) is not read; use O(kms_host) to probe it.
seealso:
  - module: winops.volume_activation.license_info
  - module: winops.volume_activation.kms_client
  - module: winops.volume_activation.fleet_report
  - name: DnsQuery_W function
    description: The DNS API the probe resolves names with, available since Windows 2000.
    link: https://learn.microsoft.com/windows/win32/api/windns/nf-windns-dnsquery_w
  - name: "DCE 1.1: Remote Procedure Call (C706)"
    description: The connection-oriented RPC bind and bind_ack PDUs (chapter 12).
    link: https://pubs.opengroup.org/onlinepubs/9629399/
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Why can this client not activate?
  winops.volume_activation.kms_probe:
  register: probe

- name: Say it
  ansible.builtin.debug:
    msg: "{{ probe.verdict }}: {{ probe.message }} Next: {{ probe.next_step }}"

- name: Probe one KMS host on another port
  winops.volume_activation.kms_probe:
    kms_host: kms01.corp.example.com
    kms_port: 1689
"""

RETURN = r"""
verdict:
  description:
    - C(ok) (a KMS host accepted the bind), C(no_srv_record), C(dns_failure), C(no_kms_host) (nothing set and no
      domain), C(name_not_resolved), C(host_down), C(port_closed), C(not_listening), C(sppsvc_stopped),
      C(wrong_port), C(not_kms_host), C(no_answer), or C(probe_failed) (the client could not run the probe).
    - With several KMS hosts, C(ok) when one answers, else the verdict of the first one tried.
  returned: always
  type: str
  sample: port_closed
message:
  description: The verdict in words.
  returned: always
  type: str
  sample: "the connection to port 1688 of kms01.corp.example.com (10.0.0.5) was reset while the host answers on port 5985: a firewall blocks the KMS port"
next_step:
  description: What to do about it (null for C(probe_failed)).
  returned: always
  type: str
  sample: open the KMS port on the host (kms_firewall) to this client's network
kms_hosts:
  description: Each KMS host tried, in the order the client tried them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The name (or address) tried.
      type: str
    port:
      description: The TCP port.
      type: int
    priority:
      description: The SRV record's priority (null when not from DNS).
      type: int
    weight:
      description: The SRV record's weight (null when not from DNS).
      type: int
    addresses:
      description: The addresses the client resolved.
      type: list
      elements: str
    resolved:
      description: Whether the name resolved on the client.
      type: bool
    dns_status:
      description: The DNS_STATUS of the address lookup (0 when it resolved).
      type: int
    tcp_reachable:
      description: Whether the client connected to the port.
      type: bool
    tcp_error:
      description: C(refused), C(timeout), C(reset), C(unreachable), or null.
      type: str
    host_up:
      description: "When the port did not connect: whether a management port did (null when not tried)."
      type: bool
    rpc_bind:
      description: C(accepted), C(rejected), C(nak), C(not_rpc), C(no_answer), C(reset), or null when not connected.
      type: str
    rpc_detail:
      description: The bind answer in words.
      type: str
    latency_ms:
      description: Connect plus bind round trip, milliseconds (null when not connected).
      type: float
    verdict:
      description: This host's verdict (see RV(verdict)).
      type: str
    message:
      description: This host's verdict in words.
      type: str
    next_step:
      description: What to do about this host.
      type: str
    error:
      description: The message when the verdict is not C(ok), else null.
      type: str
  sample:
    - {name: kms01.corp.example.com, port: 1688, priority: 0, weight: 0, addresses: [10.0.0.5], resolved: true,
       dns_status: 0, tcp_reachable: true, tcp_error: null, host_up: null, rpc_bind: accepted,
       rpc_detail: "bind_ack: the KMS interface was accepted", latency_ms: 1.8, verdict: ok,
       message: "kms01.corp.example.com:1688 answers as a KMS host", next_step: "...", error: null}
source:
  description: Where the KMS hosts came from, C(targets) (O(kms_host)), C(configured) (set on the client), C(srv) or C(none).
  returned: always
  type: str
  sample: srv
domain:
  description: The client's computer domain (null when it is not a domain member).
  returned: always
  type: str
  sample: corp.example.com
configured_host:
  description: The KMS host set on the client, or null.
  returned: always
  type: str
configured_port:
  description: The KMS port set on the client, or null.
  returned: always
  type: int
lookup_domain:
  description: The KMS lookup domain set on the client, or null.
  returned: always
  type: str
srv_name:
  description: The SRV name queried, or null.
  returned: always
  type: str
  sample: _vlmcs._tcp.corp.example.com
srv_status:
  description: The DNS_STATUS of the SRV query (0, 9003 no such name, 9501 no records, 9002 server failure).
  returned: always
  type: int
  sample: 0
srv_records:
  description: The SRV records found, with C(target), C(port), C(priority), C(weight).
  returned: always
  type: list
  elements: dict
round_trips:
  description: WinRM round trips used, always 1.
  returned: always
  type: int
  sample: 1
"""
