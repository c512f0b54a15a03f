"""Adversarial inputs (issue 11): every bad value of every module option and role variable gets a
clear message naming the value (or, for a secret, the option) and the cause, before any mutating
operation reaches a host.

Checked through the lab, not through the task's own result: the lab's request log records every
module execution a simulated host answered with its operations, and the checks below find no
mutating operation in it (and the DNS zone's SOA serial unchanged) after all the bad inputs ran.
The inputs are batched: all module cases in one ansible-playbook run (one task per case,
``ignore_errors``), all role cases in a second run (one inventory alias of the lab host per case,
each with its own role variables, so the roles' one controller-side validation pass checks them
all at once); the assertions are parametrized per case over the recorded results.

The figures of the closing note come from ``test_figures`` (printed with ``-s``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import typing as t

import pytest
import yaml

from .conftest import Ansible, LabHandle, PlaybookRun

#: Executor operations that only read (docs/executor-protocol.md); everything else changes the host.
READ_OPS = frozenset({"cim_query", "reg_get", "firewall_get", "service_get"})
# Synthetic keys (random product-key characters, lab/fleets/small.yml and the lab's key rules).
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"
# A published GVLK (Windows 11 Enterprise, Microsoft's KMS client setup key table) - public, not a secret.
WIN11_ENT_GVLK = "NPPR9-FWDCX-D2C8J-H872K-2YT43"
# A synthetic key that is not a GVLK (stands for a MAK).
NOT_A_GVLK = "7QBNM-K4C2R-T6W8X-Y9PDF-GHJ3V"
TSIG_SECRET = "c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw=="
SECRETS = (SMALL_CSVLK, NOT_A_GVLK, TSIG_SECRET)
#: What a clear message never contains.
UNCLEAR = ("Unknown error", "Traceback", "hidden due to", "NoneType", "object has no attribute", "KeyError")


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input: the module (or role) and its options, and the fragments its message must hold
    (the value or, for a secret, the option; and the cause)."""

    id: str
    module: str
    args: dict[str, t.Any]
    expect: tuple[str, ...]
    host: str = "ws01"


def c(id_: str, module: str, args: dict[str, t.Any], *expect: str, host: str = "ws01") -> Case:
    return Case(id_, module, args, tuple(expect), host)


K = "kms01"
SRV = {"method": "rfc2136", "server": "127.0.0.1", "zone": "small.example.test",
       "records": [{"target": "kms01.small.example.test"}]}

MODULE_CASES: list[Case] = [
    # product_key
    c("pk-short-key", "product_key", {"key": "W269N-WFGWX-YVC9B-4J6C9-T83G", "product": "windows", "key_type": "mak"},
      "XXXXX-", "not five groups of five characters"),
    c("pk-bad-chars", "product_key", {"key": "W269N-WFGWX-YVC9B-4J6C9-T8!GX", "product": "windows", "key_type": "mak"},
      "Failed to", "product key"),
    c("pk-key-type", "product_key", {"key": WIN11_ENT_GVLK, "product": "windows", "key_type": "gvlk"},
      "key_type", "gvlk"),
    c("pk-product", "product_key", {"key": WIN11_ENT_GVLK, "product": "office2007", "key_type": "kms_client"},
      "product", "office2007"),
    c("pk-key-and-gvlk", "product_key", {"key": WIN11_ENT_GVLK, "gvlk": "auto", "product": "windows"},
      "mutually exclusive", "gvlk"),
    c("pk-product-and-id", "product_key", {"gvlk": "auto", "product": "windows",
                                           "activation_id": "2ffd8952-423e-4903-b993-72a1aa44cf82"},
      "mutually exclusive", "activation_id"),
    c("pk-state", "product_key", {"gvlk": "auto", "state": "installed"}, "state", "installed"),
    c("pk-gvlk-name", "product_key", {"gvlk": "Windows 99 Ultimate", "product": "windows"}, "Windows 99 Ultimate"),
    c("pk-activation-id", "product_key", {"state": "absent", "activation_id": "not-a-guid"}, "not-a-guid"),
    c("pk-nothing", "product_key", {"product": "windows"}, "key or gvlk"),
    c("pk-replace-mak", "product_key", {"gvlk": "auto", "replace_mak": "sometimes"}, "replace_mak", "sometimes"),
    c("pk-unknown-option", "product_key", {"gvlk": "auto", "keyy": "x"}, "keyy", "Unsupported"),
    c("pk-allow-unpub", "product_key", {"gvlk": "auto", "allow_unpublished_gvlk": "perhaps"},
      "allow_unpublished_gvlk", "perhaps"),
    c("pk-empty-key", "product_key", {"key": "", "product": "windows", "key_type": "mak"}, "key"),
    c("pk-key-list", "product_key", {"key": ["a"], "product": "windows", "key_type": "mak"}, "key"),
    c("pk-gvlk-as-mak", "product_key", {"key": WIN11_ENT_GVLK, "product": "windows", "key_type": "mak"},
      "XXXXX-XXXXX-XXXXX-XXXXX-2YT43", "KMS client setup key", "not a MAK"),
    c("pk-gvlk-as-retail", "product_key", {"key": WIN11_ENT_GVLK, "product": "windows", "key_type": "retail"},
      "XXXXX-XXXXX-XXXXX-XXXXX-2YT43", "KMS client setup key", "not a retail key"),
    # issue 11 item 3: a key that is no published GVLK is refused as a client key before it is installed
    c("pk-mak-as-client", "product_key", {"key": NOT_A_GVLK, "product": "windows", "key_type": "kms_client"},
      "XXXXX-XXXXX-XXXXX-XXXXX-GHJ3V", "not one of the KMS client setup keys", "use up one of its activations"),
    c("pk-csvlk-as-client", "product_key", {"key": SMALL_CSVLK, "product": "windows", "key_type": "kms_client"},
      "XXXXX-XXXXX-XXXXX-XXXXX-H4D3N", "invalid volume license key", "allow_unpublished_gvlk"),
    # activation
    c("act-product", "activation", {"product": "windows10"}, "product", "windows10"),
    c("act-method", "activation", {"product": "windows", "method": "phone"}, "method", "phone"),
    c("act-cid-online", "activation", {"confirmation_ids": {"2ffd8952-423e-4903-b993-72a1aa44cf82": "123456"}},
      "method=offline", "confirmation_ids"),
    c("act-cid-bad", "activation", {"method": "offline",
                                    "confirmation_ids": {"2ffd8952-423e-4903-b993-72a1aa44cf82": "12ab"}},
      "2ffd8952-423e-4903-b993-72a1aa44cf82", "digits"),
    c("act-cid-key", "activation", {"method": "offline", "confirmation_ids": {"windows": "123456"}},
      "windows", "confirmation_ids"),
    c("act-ids", "activation", {"activation_ids": ["nope"]}, "nope", "activation_ids"),
    c("act-ids-and-product", "activation", {"activation_ids": ["2ffd8952-423e-4903-b993-72a1aa44cf82"],
                                            "product": "windows"}, "mutually exclusive"),
    c("act-fail-below", "activation", {"fail_below_threshold": "sometimes"}, "fail_below_threshold", "sometimes"),
    c("act-force", "activation", {"force": "twice"}, "force", "twice"),
    c("act-unknown", "activation", {"produce": "windows"}, "produce", "Unsupported"),
    # kms_client
    c("kc-host-chars", "kms_client", {"kms_host": "kms host!"}, "kms host!"),
    c("kc-port-0", "kms_client", {"kms_host": "kms01", "kms_port": 0}, "0", "kms_port"),
    c("kc-port-big", "kms_client", {"kms_host": "kms01", "kms_port": 70000}, "70000", "kms_port"),
    c("kc-port-text", "kms_client", {"kms_host": "kms01", "kms_port": "abc"}, "abc", "kms_port"),
    c("kc-host-port", "kms_client", {"kms_host": "kms01:99999"}, "99999"),
    c("kc-domain", "kms_client", {"lookup_domain": "bad domain!"}, "bad domain!"),
    c("kc-act-type", "kms_client", {"activation_type": "phone"}, "activation_type", "phone"),
    c("kc-product", "kms_client", {"product": "linux", "kms_host": "kms01"}, "product", "linux"),
    c("kc-state", "kms_client", {"state": "gone"}, "state", "gone"),
    c("kc-caching", "kms_client", {"host_caching": "perhaps"}, "host_caching", "perhaps"),
    c("kc-ids", "kms_client", {"activation_ids": ["xyz"], "kms_host": "kms01"}, "xyz"),
    c("kc-port-no-host", "kms_client", {"kms_port": 1689, "state": "absent"}, "kms_port"),
    c("kc-host-empty-label", "kms_client", {"kms_host": "kms01..example.test"}, "kms01..example.test"),
    c("kc-host-long", "kms_client", {"kms_host": "a" * 70 + ".example.test"}, "a" * 20),
    # kms_host
    c("kh-port-0", "kms_host", {"port": 0}, "port 0", "1..65535", host=K),
    c("kh-port-big", "kms_host", {"port": 65536}, "65536", "1..65535", host=K),
    c("kh-port-neg", "kms_host", {"port": -1}, "-1", host=K),
    c("kh-port-text", "kms_host", {"port": "abc"}, "abc", "port", host=K),
    c("kh-ai-low", "kms_host", {"activation_interval": 14}, "14", "activation_interval", host=K),
    c("kh-ai-high", "kms_host", {"activation_interval": 43201}, "43201", "activation_interval", host=K),
    c("kh-ri-low", "kms_host", {"renewal_interval": 10}, "10", "renewal_interval", host=K),
    c("kh-ri-high", "kms_host", {"renewal_interval": 99999}, "99999", "renewal_interval", host=K),
    c("kh-ri-zero", "kms_host", {"renewal_interval": 0}, "renewal_interval", host=K),
    c("kh-pd-empty", "kms_host", {"publish_domains": [{"domain": ""}]}, "domain", host=K),
    c("kh-pd-bad", "kms_host", {"publish_domains": [{"domain": "bad domain"}]}, "bad domain", host=K),
    c("kh-pd-prio", "kms_host", {"publish_domains": [{"domain": "x.example.test", "priority": 70000}]},
      "70000", "priority", host=K),
    c("kh-pd-weight", "kms_host", {"publish_domains": [{"domain": "x.example.test", "weight": -1}]},
      "-1", "weight", host=K),
    c("kh-pd-missing", "kms_host", {"publish_domains": [{}]}, "domain", host=K),
    c("kh-pd-dup", "kms_host", {"publish_domains": [{"domain": "x.example.test"}, {"domain": "X.example.test"}]},
      "x.example.test", host=K),
    c("kh-dns-pub", "kms_host", {"dns_publishing": "maybe"}, "dns_publishing", "maybe", host=K),
    c("kh-low-prio", "kms_host", {"low_priority": "x"}, "low_priority", host=K),
    c("kh-restart", "kms_host", {"restart_service": "later"}, "restart_service", "later", host=K),
    c("kh-republish", "kms_host", {"republish": "later"}, "republish", "later", host=K),
    c("kh-unknown", "kms_host", {"listen_port": 1688}, "listen_port", "Unsupported", host=K),
    # kms_firewall
    c("fw-port-0", "kms_firewall", {"port": 0}, "port 0", host=K),
    c("fw-port-big", "kms_firewall", {"port": 70000}, "70000", host=K),
    c("fw-cidr-33", "kms_firewall", {"remote_addresses": ["10.0.0.0/33"]}, "10.0.0.0/33", host=K),
    c("fw-bad-ip", "kms_firewall", {"remote_addresses": ["300.1.1.1"]}, "300.1.1.1", host=K),
    c("fw-range-rev", "kms_firewall", {"remote_addresses": ["10.0.0.9-10.0.0.1"]}, "10.0.0.9-10.0.0.1", host=K),
    c("fw-word", "kms_firewall", {"remote_addresses": ["Everyone"]}, "Everyone", host=K),
    c("fw-empty-addr", "kms_firewall", {"remote_addresses": [""]}, "remote address ''", host=K),
    c("fw-no-addr", "kms_firewall", {"remote_addresses": []}, "remote_addresses", host=K),
    c("fw-profile", "kms_firewall", {"profiles": ["Home"]}, "profiles", "Home", host=K),
    c("fw-no-profile", "kms_firewall", {"profiles": []}, "profiles", host=K),
    c("fw-state", "kms_firewall", {"state": "on"}, "state", "on", host=K),
    c("fw-mask", "kms_firewall", {"remote_addresses": ["10.0.0.0/255.0.255.0"]}, "10.0.0.0/255.0.255.0", host=K),
    c("fw-v6", "kms_firewall", {"remote_addresses": ["fe80::zz"]}, "fe80::zz", host=K),
    c("fw-mixed-range", "kms_firewall", {"remote_addresses": ["10.0.0.1-fe80::1"]}, "10.0.0.1-fe80::1", host=K),
    # issue 11 item 10: the executor sets rules through the firewall COM API, which takes no Internet keyword
    c("fw-internet", "kms_firewall", {"remote_addresses": ["Internet"]}, "'Internet'", "COM"),
    c("fw-unknown", "kms_firewall", {"scope": "LocalSubnet"}, "scope", "Unsupported", host=K),
    # kms_srv_record (rfc2136 against the lab's BIND, windows_dns against kms01)
    c("srv-zone-empty", "kms_srv_record", {**SRV, "zone": ""}, "zone", "non-empty"),
    c("srv-zone-bad", "kms_srv_record", {**SRV, "zone": "bad zone"}, "bad zone"),
    c("srv-method", "kms_srv_record", {**SRV, "method": "nsupdate"}, "method", "nsupdate"),
    c("srv-no-server", "kms_srv_record", {k: v for k, v in SRV.items() if k != "server"}, "server"),
    c("srv-empty-server", "kms_srv_record", {**SRV, "server": " "}, "server must name"),
    c("srv-server-port", "kms_srv_record", {**SRV, "server_port": 0}, "server_port", "0"),
    c("srv-tsig-half", "kms_srv_record", {**SRV, "tsig_key_name": "lab-key"}, "tsig_key_name", "tsig_key_secret"),
    c("srv-tsig-b64", "kms_srv_record", {**SRV, "tsig_key_name": "lab-key", "tsig_key_secret": "not base64 !!"},
      "tsig_key_secret", "base64"),
    c("srv-tsig-alg", "kms_srv_record", {**SRV, "tsig_key_name": "lab-key", "tsig_key_secret": TSIG_SECRET,
                                         "tsig_algorithm": "hmac-md4"}, "tsig_algorithm", "hmac-md4"),
    c("srv-target-empty", "kms_srv_record", {**SRV, "records": [{"target": ""}]}, "target"),
    c("srv-target-bad", "kms_srv_record", {**SRV, "records": [{"target": "bad target!"}]}, "bad target!"),
    c("srv-rec-port", "kms_srv_record", {**SRV, "records": [{"target": "kms01.small.example.test", "port": 0}]},
      "port", "0"),
    c("srv-rec-prio", "kms_srv_record", {**SRV, "records": [{"target": "kms01.small.example.test", "priority": 70000}]},
      "priority", "70000"),
    c("srv-rec-weight", "kms_srv_record", {**SRV, "records": [{"target": "kms01.small.example.test", "weight": -5}]},
      "weight", "-5"),
    c("srv-ttl", "kms_srv_record", {**SRV, "ttl": -1}, "ttl", "-1"),
    c("srv-timeout", "kms_srv_record", {**SRV, "timeout": 0}, "timeout", "0"),
    c("srv-dns-server", "kms_srv_record", {**SRV, "dns_server": "dc01"}, "dns_server"),
    c("srv-wmi-server", "kms_srv_record", {**{k: v for k, v in SRV.items() if k != "server"}, "method": "windows_dns",
                                           "tsig_key_name": "lab-key", "tsig_key_secret": TSIG_SECRET},
      "tsig_key_name", "rfc2136 only"),
    c("srv-state", "kms_srv_record", {**SRV, "state": "gone"}, "state", "gone"),
    c("srv-name-outside", "kms_srv_record", {**SRV, "name": "_vlmcs._tcp.other.example.test"},
      "_vlmcs._tcp.other.example.test", "zone"),
    c("srv-records-type", "kms_srv_record", {**SRV, "records": ["kms01"]}, "records[0]", "kms01", "dictionary"),
    c("srv-no-zone", "kms_srv_record", {k: v for k, v in SRV.items() if k != "zone"}, "zone"),
    # license_info
    c("li-application", "license_info", {"application": "linux"}, "application", "linux"),
    c("li-versions", "license_info", {"office_versions": ["2007"]}, "office_versions", "2007"),
    c("li-ids", "license_info", {"activation_ids": ["nope"]}, "nope"),
    c("li-unlicensed", "license_info", {"include_unlicensed": "perhaps"}, "include_unlicensed", "perhaps"),
    c("li-unknown", "license_info", {"app": "windows"}, "app", "Unsupported"),
    # the executor itself: refused by its own validation on the host, nothing run
    c("ex-op", "licensing_batch", {"operations": [{"op": "format_disk"}]}, "format_disk"),
    c("ex-class", "licensing_batch", {"operations": [{"op": "cim_invoke", "class": "Win32_Process",
                                                      "method": "Create"}]}, "Win32_Process"),
    c("ex-no-filter", "licensing_batch", {"operations": [{"op": "cim_invoke", "class": "SoftwareLicensingProduct",
                                                          "method": "UninstallProductKey"}]}, "filter"),
    c("ex-reg-path", "licensing_batch", {"operations": [{"op": "reg_set", "path": "HKLM:\\SOFTWARE\\Evil",
                                                         "name": "x", "type": "String", "value": "y"}]}, "Evil"),
    c("ex-service", "licensing_batch", {"operations": [{"op": "service_restart", "name": "wuauserv"}]}, "wuauserv"),
    c("ex-fw-rule", "licensing_batch", {"operations": [{"op": "firewall_set", "name": "RemoteDesktop-In",
                                                        "enabled": True}]}, "RemoteDesktop-In"),
    c("ex-secret-ref", "licensing_batch", {"operations": [{
        "op": "cim_invoke", "class": "SoftwareLicensingService", "method": "InstallProductKey",
        "arguments": {"ProductKey": {"secret": "product_keys", "index": 3}}}]}, "product_keys"),
    c("ex-missing-key", "licensing_batch", {"operations": [{"op": "cim_invoke", "method": "Activate"}]}, "class"),
    # validate_args itself
    c("va-module", "validate_args", {"checks": [{"module": "format_disk", "args": {}}]}, "format_disk"),
    c("va-shape", "validate_args", {"checks": [{"modul": "kms_host"}]}, "modul"),
    c("va-checks-var", "validate_args", {"checks_var": "no_such_variable", "hosts": ["ws01"]}, "no_such_variable"),
]


def _by_variable(value: t.Any) -> t.Any:
    """``value`` with every secret replaced by a reference to a play variable: ansible-core prints the
    playbook lines around a failed task, so a secret written in the task itself would be shown
    (README: keep keys in variables)."""
    if isinstance(value, dict):
        return {k: _by_variable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_by_variable(v) for v in value]
    if value in SECRETS:
        return "{{ secret_" + str(SECRETS.index(value)) + " }}"
    return value


def module_playbook(cases: t.Sequence[Case]) -> str:
    plays = []
    for host in sorted({case.host for case in cases}):
        tasks = [
            {"name": case.id, f"winops.volume_activation.{case.module}": _by_variable(case.args), "ignore_errors": True}
            for case in cases if case.host == host
        ]
        plays.append({"hosts": host, "gather_facts": False, "tasks": tasks,
                      "vars": {f"secret_{i}": s for i, s in enumerate(SECRETS)}})
    return yaml.safe_dump(plays, sort_keys=False)


# ------------------------------------------------------------------ role cases

SERVER_BASE = {"kms_server_host_keys": [{"product": "windows", "key": SMALL_CSVLK}]}
ACT_BASE: dict[str, t.Any] = {}


@dataclasses.dataclass(frozen=True)
class RoleCase:
    """One bad role variable: the role, the variables given (on top of a good base) and the fragments."""

    id: str
    role: str
    variables: dict[str, t.Any]
    expect: tuple[str, ...]


def rs(id_: str, variables: dict[str, t.Any], *expect: str, base: bool = True) -> RoleCase:
    return RoleCase(id_, "kms_server", {**(SERVER_BASE if base else {}), **variables}, tuple(expect))


def ra(id_: str, variables: dict[str, t.Any], *expect: str) -> RoleCase:
    return RoleCase(id_, "kms_activation", {**ACT_BASE, **variables}, tuple(expect))


ROLE_CASES: list[RoleCase] = [
    rs("s-port-0", {"kms_server_port": 0}, "port 0", "kms_server_port"),
    rs("s-port-text", {"kms_server_port": "abc"}, "kms_server_port", "abc"),
    rs("s-port-big", {"kms_server_port": 65536}, "65536", "kms_server_port"),
    rs("s-renewal-10", {"kms_server_renewal_interval": 10}, "renewal_interval", "10", "kms_server_renewal_interval"),
    rs("s-activation-5", {"kms_server_activation_interval": 5}, "activation_interval", "kms_server_activation_interval"),
    rs("s-scope-33", {"kms_server_firewall_remote_addresses": ["10.0.0.0/33"]}, "10.0.0.0/33",
       "kms_server_firewall_remote_addresses"),
    rs("s-scope-word", {"kms_server_firewall_remote_addresses": ["Everyone"]}, "Everyone"),
    rs("s-profiles", {"kms_server_firewall_profiles": ["Home"]}, "kms_server_firewall_profiles", "Home"),
    rs("s-rfc2136-no-server", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_zone": "small.example.test"},
       "server", "kms_server_srv_dns_server"),
    rs("s-rfc2136-no-zone", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1"},
       "zone", "kms_server_srv_zone"),
    rs("s-srv-mode", {"kms_server_srv_mode": "dynamic"}, "kms_server_srv_mode", "dynamic"),
    rs("s-keys-empty", {"kms_server_host_keys": []}, "kms_server_host_keys is empty"),
    rs("s-keys-missing", {}, "kms_server_host_keys", "required", base=False),
    rs("s-keys-no-key", {"kms_server_host_keys": [{"product": "windows"}]}, "key", "kms_server_host_keys"),
    rs("s-keys-bad-key", {"kms_server_host_keys": [{"product": "windows", "key": "ABCDE-12345"}]},
       "not five groups", "kms_server_host_keys"),
    rs("s-keys-dup", {"kms_server_host_keys": [{"product": "windows", "key": SMALL_CSVLK},
                                               {"product": "windows", "key": SMALL_CSVLK}]},
       "more than once", "windows, windows"),
    rs("s-keys-product", {"kms_server_host_keys": [{"product": "office2007", "key": SMALL_CSVLK}]}, "office2007"),
    rs("s-keys-gvlk", {"kms_server_host_keys": [{"product": "windows", "key": WIN11_ENT_GVLK}]},
       "XXXXX-XXXXX-XXXXX-XXXXX-2YT43", "KMS client setup key", "kms_server_host_keys"),
    rs("s-method", {"kms_server_activation_method": "phone"}, "kms_server_activation_method", "phone"),
    rs("s-cids-product", {"kms_server_activation_method": "offline",
                          "kms_server_confirmation_ids": {"office2021": "123456"}},
       "kms_server_confirmation_ids", "office2021"),
    rs("s-pd-bad", {"kms_server_publish_domains": [{"domain": "bad domain"}]}, "bad domain",
       "kms_server_publish_domains"),
    rs("s-pd-prio", {"kms_server_publish_domains": [{"domain": "x.example.test", "priority": 70000}]}, "70000"),
    rs("s-ttl", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                 "kms_server_srv_zone": "small.example.test", "kms_server_srv_ttl": -1}, "ttl", "kms_server_srv_ttl"),
    rs("s-srv-prio", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                      "kms_server_srv_zone": "small.example.test", "kms_server_srv_priority": 70000},
       "70000", "kms_server_srv_priority"),
    rs("s-srv-weight", {"kms_server_srv_mode": "windows_dns", "kms_server_srv_zone": "small.example.test",
                        "kms_server_srv_weight": -1}, "-1", "kms_server_srv_weight"),
    rs("s-srv-target", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                        "kms_server_srv_zone": "small.example.test", "kms_server_srv_target": "bad target!"},
       "bad target!"),
    rs("s-srv-zone-bad", {"kms_server_srv_mode": "windows_dns", "kms_server_srv_zone": "bad zone"}, "bad zone"),
    rs("s-tsig-alg", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                      "kms_server_srv_zone": "small.example.test", "kms_server_srv_tsig_key_name": "k",
                      "kms_server_srv_tsig_key_secret": TSIG_SECRET, "kms_server_srv_tsig_algorithm": "md5"},
       "tsig_algorithm", "md5"),
    rs("s-tsig-half", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                       "kms_server_srv_zone": "small.example.test", "kms_server_srv_tsig_key_name": "k"},
       "tsig_key_secret", "kms_server_srv_tsig_key_secret"),
    rs("s-tsig-b64", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                      "kms_server_srv_zone": "small.example.test", "kms_server_srv_tsig_key_name": "k",
                      "kms_server_srv_tsig_key_secret": "###"}, "base64", "kms_server_srv_tsig_key_secret"),
    rs("s-dns-port", {"kms_server_srv_mode": "rfc2136", "kms_server_srv_dns_server": "127.0.0.1",
                      "kms_server_srv_zone": "small.example.test", "kms_server_srv_dns_port": 0},
       "server_port", "kms_server_srv_dns_port"),
    rs("s-wdns-host", {"kms_server_srv_mode": "windows_dns", "kms_server_srv_zone": "small.example.test",
                       "kms_server_srv_windows_dns_host": "dc99"}, "dc99", "kms_server_srv_windows_dns_host"),
    rs("s-verify-timeout", {"kms_server_verify_tcp_timeout": 0}, "kms_server_verify_tcp_timeout", "0"),
    rs("s-dns-pub", {"kms_server_dns_publishing": "perhaps"}, "kms_server_dns_publishing", "perhaps"),
    rs("s-low-prio", {"kms_server_low_priority": "often"}, "kms_server_low_priority", "often"),
    rs("s-caching", {"kms_server_host_caching": "x"}, "kms_server_host_caching"),
    rs("s-firewall", {"kms_server_firewall": "open"}, "kms_server_firewall", "open"),
    rs("s-verify", {"kms_server_verify": "later"}, "kms_server_verify", "later"),
    rs("s-exclusive", {"kms_server_srv_exclusive": "only"}, "kms_server_srv_exclusive", "only"),
    rs("s-srv-check", {"kms_server_srv_check": "twice"}, "kms_server_srv_check", "twice"),
    rs("s-keys-type", {"kms_server_host_keys": "TGV4F"}, "kms_server_host_keys"),
    ra("a-products", {"kms_activation_products": ["linux"]}, "kms_activation_products", "linux"),
    ra("a-gvlk", {"kms_activation_gvlk": "yes"}, "kms_activation_gvlk", "yes"),
    ra("a-key-bad", {"kms_activation_product_keys": [{"product": "windows", "key": "ABCDE"}]},
       "not five groups", "kms_activation_product_keys"),
    ra("a-key-type", {"kms_activation_product_keys": [{"product": "windows", "key": WIN11_ENT_GVLK,
                                                       "key_type": "oem"}]}, "key_type", "oem"),
    ra("a-key-product", {"kms_activation_product_keys": [{"product": "office", "key": WIN11_ENT_GVLK}]}, "office"),
    ra("a-key-missing", {"kms_activation_product_keys": [{"product": "windows"}]}, "key",
       "kms_activation_product_keys"),
    ra("a-kms-host", {"kms_activation_kms_host": "kms host!"}, "kms host!", "kms_activation_kms_host"),
    ra("a-kms-port", {"kms_activation_kms_host": "kms01", "kms_activation_kms_port": 0}, "kms_activation_kms_port"),
    ra("a-kms-port-text", {"kms_activation_kms_port": "x"}, "kms_activation_kms_port"),
    ra("a-by-product", {"kms_activation_kms_hosts_by_product": {"office2007": "kms01"}}, "office2007",
       "kms_activation_kms_hosts_by_product"),
    ra("a-by-product-port", {"kms_activation_kms_hosts_by_product": {"office": "kms01:99999"}}, "99999"),
    ra("a-domain", {"kms_activation_lookup_domain": "bad domain!"}, "bad domain!", "kms_activation_lookup_domain"),
    ra("a-act-type", {"kms_activation_activation_type": "phone"}, "kms_activation_activation_type", "phone"),
    ra("a-wait", {"kms_activation_wait": "maybe"}, "kms_activation_wait", "maybe"),
    ra("a-retries-neg", {"kms_activation_wait_retries": -1}, "kms_activation_wait_retries", "-1"),
    ra("a-retries-text", {"kms_activation_wait_retries": "many"}, "kms_activation_wait_retries", "many"),
    ra("a-delay-neg", {"kms_activation_wait_delay": -5}, "kms_activation_wait_delay", "-5"),
    ra("a-require", {"kms_activation_require_activated": "maybe"}, "kms_activation_require_activated", "maybe"),
    ra("a-caching", {"kms_activation_host_caching": "perhaps"}, "kms_activation_host_caching", "perhaps"),
    ra("a-mak-as-client", {"kms_activation_product_keys": [{"product": "windows", "key": NOT_A_GVLK}]},
       "XXXXX-XXXXX-XXXXX-XXXXX-GHJ3V", "not one of the KMS client setup keys", "kms_activation_product_keys"),
    ra("a-kms-host-key", {"kms_activation_product_keys": [{"product": "windows", "key": SMALL_CSVLK,
                                                           "allow_unpublished_gvlk": True}]},
       "KMS host key (CSVLK) of 'kms-ref'", "invalid volume license key"),
    ra("a-products-type", {"kms_activation_products": "windows office"}, "kms_activation_products"),
]


def role_inventory(handle: LabHandle, cases: t.Sequence[RoleCase]) -> dict[str, t.Any]:
    """One inventory alias per case, at the address and port of the lab host the role targets."""
    base = yaml.safe_load(handle.inventory.read_text(encoding="utf-8"))["all"]
    groups: dict[str, dict[str, t.Any]] = {"server_cases": {"hosts": {}}, "client_cases": {"hosts": {}}}
    for case in cases:
        target = "kms01" if case.role == "kms_server" else "ws01"
        group = "server_cases" if case.role == "kms_server" else "client_cases"
        groups[group]["hosts"][case.id] = {**base["hosts"][target], **case.variables}
    # A KMS host of the inventory, whose host key a client case must not take (issue 11 item 3).
    groups["kms_hosts"] = {"hosts": {"kms-ref": {**base["hosts"]["kms01"], **SERVER_BASE}}}
    return {"all": {"vars": base["vars"], "children": groups}}


#: One run per role: the validation pass fails every host of its play, which ends the playbook.
ROLE_PLAYBOOKS = {
    group: f"- hosts: {group}\n  gather_facts: false\n  roles: [winops.volume_activation.{role}]\n"
    for group, role in (("server_cases", "kms_server"), ("client_cases", "kms_activation"))
}
ARGSPEC_TASK = "Validating arguments against arg spec 'main'"
VALIDATE_TASK = "Validate the variables of every host before changing anything"


# ------------------------------------------------------------------ the runs


@dataclasses.dataclass
class Outcome:
    """What the lab saw and what the runs printed, for every case."""

    module_run: PlaybookRun
    role_runs: list[PlaybookRun]
    mutating: list[dict[str, t.Any]]
    module_calls: list[dict[str, t.Any]]
    role_calls: list[dict[str, t.Any]]
    soa_before: int
    soa_after: int
    states_equal: bool


def _soa(handle: LabHandle) -> int:
    import dns.message
    import dns.query
    import dns.rdatatype

    info = handle.lab.dns_info()
    q = dns.message.make_query(info["zone"], dns.rdatatype.SOA)
    answer = dns.query.tcp(q, info["server"], port=int(info["port"]), timeout=5)
    return int(answer.answer[0][0].serial)


@pytest.fixture(scope="module")
def outcome(start_lab: t.Callable[..., LabHandle], tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    from .conftest import SMALL_FLEET

    handle = start_lab(SMALL_FLEET)
    tmp = tmp_path_factory.mktemp("refusals")
    ansible = Ansible(tmp)
    hosts = ("kms01", "ws01", "ws02")
    state_before = {h: handle.lab.host_state(h) for h in hosts}
    marks = {h: handle.log_mark(h) for h in hosts}
    soa_before = _soa(handle)

    module_run = ansible.run(module_playbook(MODULE_CASES), handle, verbosity=4, diff=True)
    inventory = tmp / "cases.yml"
    inventory.write_text(yaml.safe_dump(role_inventory(handle, ROLE_CASES)), encoding="utf-8")
    role_marks = {h: handle.log_mark(h) for h in hosts}
    role_runs = [ansible.run(text, handle, inventory=inventory, verbosity=2, diff=True)
                 for text in ROLE_PLAYBOOKS.values()]

    role_calls = [e for h in hosts for e in handle.lab.request_log(h, since=role_marks[h]) if "module" in e]
    calls = [e for h in hosts for e in handle.lab.request_log(h, since=marks[h]) if "module" in e]
    mutating = [e for e in calls if any(o["op"] not in READ_OPS and not o.get("skipped") for o in e.get("ops", []))]
    state_after = {h: handle.lab.host_state(h) for h in hosts}
    equal = all(state_after[h][part] == state_before[h][part]
                for h in hosts for part in ("products", "registry", "firewall", "kms_effective"))
    return Outcome(module_run, role_runs, mutating, calls, role_calls, soa_before, _soa(handle), equal)


def module_message(outcome: Outcome, case: Case) -> tuple[str, str]:
    result = outcome.module_run.result(case.id, case.host)
    return result["_status"], str(result.get("msg", ""))


def role_message(outcome: Outcome, case: RoleCase) -> tuple[str, str]:
    """The refusal of a role case: the argument check's own failure for that alias, or its line in
    the one validation pass of the role."""
    records = [r for run in outcome.role_runs for r in run.records]
    for r in records:
        if r["host"] == case.id and r["status"] == "failed" and ARGSPEC_TASK in r["task"]:
            return "failed", str(r["result"].get("msg", ""))
    for r in records:
        if r["action"] == "winops.volume_activation.validate_args" and r["status"] == "failed":
            lines = [e["msg"] for e in r["result"].get("errors", []) if e["host"] == case.id]
            if lines:
                return "failed", " | ".join(lines)
    return "not refused", ""


def is_clear(message: str, expect: t.Sequence[str]) -> bool:
    return bool(message) and all(f.lower() in message.lower() for f in expect) and not any(
        u.lower() in message.lower() for u in UNCLEAR)


# ------------------------------------------------------------------ assertions


def test_nothing_reached_the_hosts_or_dns(outcome: Outcome) -> None:
    """No mutating operation in the lab's request log, the hosts' state unchanged, the zone's serial too."""
    assert outcome.mutating == [], [(e["host"], e["seq"], e.get("ops")) for e in outcome.mutating]
    assert outcome.states_equal
    assert outcome.soa_after == outcome.soa_before


def test_the_roles_contacted_no_host(outcome: Outcome) -> None:
    """The role cases are refused on the controller: the lab saw no module call from that run at all,
    and no task after the validation ran."""
    ran = {r["task"].split(" : ")[-1] for run in outcome.role_runs for r in run.records if r["status"] != "skipped"}
    assert outcome.role_calls == []
    assert ran and all(ARGSPEC_TASK in name or name == VALIDATE_TASK for name in ran), ran


@pytest.mark.parametrize("case", MODULE_CASES, ids=[case.id for case in MODULE_CASES])
def test_module_input_is_refused_clearly(outcome: Outcome, case: Case) -> None:
    status, msg = module_message(outcome, case)
    assert status == "failed", (case.id, msg)
    assert is_clear(msg, case.expect), (case.id, case.expect, msg)


@pytest.mark.parametrize("case", ROLE_CASES, ids=[case.id for case in ROLE_CASES])
def test_role_variable_is_refused_clearly(outcome: Outcome, case: RoleCase) -> None:
    status, msg = role_message(outcome, case)
    assert status == "failed", case.id
    assert is_clear(msg, case.expect), (case.id, case.expect, msg)


def test_no_secret_is_shown(outcome: Outcome) -> None:
    """At -vvvv --diff (modules) and -vv --diff (roles): stdout, stderr and every recorded result."""
    for run in (outcome.module_run, *outcome.role_runs):
        text = run.stdout + run.stderr + json.dumps(run.records)
        shown = [text[max(text.find(s) - 400, 0):text.find(s) + 40] for s in SECRETS if s in text]
        assert shown == []


def test_figures(outcome: Outcome, capsys: pytest.CaptureFixture[str]) -> None:
    """The closing note's figures (shown with -s); asserted to meet their targets."""
    tried = len(MODULE_CASES) + len(ROLE_CASES)
    messages = [(*module_message(outcome, case), case.expect) for case in MODULE_CASES]
    messages += [(*role_message(outcome, case), case.expect) for case in ROLE_CASES]
    refused = sum(1 for status, _m, _e in messages if status == "failed")
    unclear = sum(1 for status, m, e in messages if status == "failed" and not is_clear(m, e))
    shown = sum(1 for run in (outcome.module_run, *outcome.role_runs) for s in SECRETS
                if s in run.stdout + run.stderr + json.dumps(run.records))
    figures = {"bad_inputs_tried": tried, "refused_before_any_change": refused if not outcome.mutating else 0,
               "changed_the_host": len(outcome.mutating), "unclear_messages": unclear, "secrets_shown": shown}
    with capsys.disabled():
        print("\nrefusal figures:", json.dumps(figures))
    if os.environ.get("WINOPS_REFUSALS_DUMP"):  # every message, for review
        _dump(pathlib.Path(os.environ["WINOPS_REFUSALS_DUMP"]), outcome)
    assert tried >= 120
    assert figures["changed_the_host"] == 0 and unclear == 0 and shown == 0 and refused == tried


def _dump(path: pathlib.Path, outcome: Outcome) -> None:  # pragma: no cover - debugging aid
    rows = [(case.id, *module_message(outcome, case)) for case in MODULE_CASES]
    rows += [(case.id, *role_message(outcome, case)) for case in ROLE_CASES]
    path.write_text("\n".join(f"{i}\t{s}\t{m}" for i, s, m in rows), encoding="utf-8")
