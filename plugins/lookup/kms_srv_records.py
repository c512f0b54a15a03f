# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The ``kms_srv_records`` lookup: the ``_vlmcs._tcp`` SRV records of DNS zones, read from the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: kms_srv_records
short_description: Read the KMS SRV records (_vlmcs._tcp) of DNS zones
version_added: 0.1.0
description:
  - Queries the C(_vlmcs._tcp) SRV records of each zone given, from the Ansible control node,
    over TCP to one DNS server, and returns one item per record.
  - The records are what KMS clients find when they look for a KMS host through DNS. Give them to
    the R(fleet_summary filter,ansible_collections.winops.volume_activation.fleet_summary_filter)
    as O(winops.volume_activation.fleet_summary#filter:srv_records) to find stale records (a
    target that is not a KMS host, or a wrong port) and KMS hosts missing from DNS.
  - Needs the Python package dnspython on the control node.
  - Read only; for changing the records use M(winops.volume_activation.kms_srv_record).
options:
  _terms:
    description: The DNS zones (such as C(corp.example.com)) whose C(_vlmcs._tcp) records are read.
    type: list
    elements: str
    required: true
  server:
    description:
      - The DNS server to ask, an IP address or a host name.
      - With O(authoritative=true) (the default) a server that hosts the zones (the primary, or
        any Windows DNS server of an AD-integrated zone).
    type: str
    required: true
  port:
    description: The DNS server's TCP port.
    type: int
    default: 53
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 10
  authoritative:
    description:
      - Require an authoritative answer (a cached answer may be out of date).
      - Set to C(false) to ask a recursive resolver the way KMS clients do.
    type: bool
    default: true
notes:
  - Each zone costs one DNS query over TCP, and each record two more (its target's A and AAAA
    addresses); no WinRM connection is made.
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Read the KMS SRV records of the domain
  ansible.builtin.set_fact:
    kms_srv: "{{ lookup('winops.volume_activation.kms_srv_records', 'corp.example.com',
                        server='10.0.0.53', wantlist=True) }}"

- name: Print them
  ansible.builtin.debug:
    msg: "{{ kms_srv | map(attribute='target') | list }}"
"""

RETURN = r"""
_raw:
  description: One item per SRV record, in the order of the zones given.
  type: list
  elements: dict
  contains:
    zone:
      description: The zone the record was read from.
      type: str
      sample: corp.example.com
    owner:
      description: The record's owner name.
      type: str
      sample: _vlmcs._tcp.corp.example.com
    target:
      description: The KMS host the record names (lower case, no trailing dot).
      type: str
      sample: kms01.corp.example.com
    port:
      description: The KMS port the record names.
      type: int
      sample: 1688
    priority:
      description: The record's priority (lower is tried first).
      type: int
      sample: 0
    weight:
      description: The record's weight among records of one priority.
      type: int
      sample: 0
    ttl:
      description: The record's time to live, in seconds.
      type: int
      sample: 3600
    addresses:
      description:
        - The IPv4 and IPv6 addresses of the target as the same server answers them (recursion asked),
          sorted; empty when the target name does not exist in DNS (clients cannot reach it);
          null when the server gave no usable answer.
      type: list
      elements: str
      sample: [10.0.0.10]
"""


import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.winops.volume_activation.plugins.plugin_utils import _dns, _kms_srv_record


class LookupModule(LookupBase):
    """Reads ``_vlmcs._tcp.<zone>`` SRV records with :class:`_dns.SrvZoneClient`."""

    def run(self, terms: list[t.Any], variables: dict[str, t.Any] | None = None, **kwargs: t.Any) -> list[t.Any]:
        self.set_options(var_options=variables, direct=kwargs)
        server = str(self.get_option("server") or "").strip()
        if not server:
            raise AnsibleLookupError("kms_srv_records: server must name the DNS server to ask")
        port = self.get_option("port")
        timeout = float(self.get_option("timeout"))
        if not 1 <= port <= 65535:
            raise AnsibleLookupError(f"kms_srv_records: port {port} is outside 1..65535")
        if not 0 < timeout <= 3600:
            raise AnsibleLookupError(f"kms_srv_records: timeout {timeout:g} is outside (0, 3600] seconds")
        out: list[dict[str, t.Any]] = []
        for term in terms:
            try:
                zone = _kms_srv_record.normalize_name(term, "zone")
                client = _dns.SrvZoneClient(server, zone, port=port, timeout=timeout,
                                            log=lambda level, text: self._display.vvv(text) if level >= 2 else None)
                owner = _kms_srv_record.SERVICE_PREFIX + zone
                records = client.read(owner, authoritative=self.get_option("authoritative"))
            except (_kms_srv_record.SrvValidationError, _dns.DnsError) as e:
                raise AnsibleLookupError(f"kms_srv_records: {e}") from None
            out.extend({"zone": zone, "owner": owner, "target": r.target, "port": r.port, "priority": r.priority,
                        "weight": r.weight, "ttl": r.ttl, "addresses": client.addresses(r.target)}
                       # In a fixed order: DNS servers rotate the records of an RRset between answers
                       # (BIND's default rrset-order), and a report built from them must not change with it.
                       for r in sorted(records, key=lambda r: (r.priority, r.weight, r.target, r.port)))
        return out
