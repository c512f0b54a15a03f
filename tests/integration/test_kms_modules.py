"""kms_host, kms_firewall, kms_client end to end: ansible-playbook -> winrm -> lab.

Each module runs the triad (check mode, real run, repeat run); ``changed`` and the round
trips are asserted and the outcome is verified from the lab's own model (registry,
firewall rules, the KMS listener's effective settings), never by the module under test.
"""

from __future__ import annotations

import json
import typing as t

import pytest

from .conftest import Ansible, LabHandle

# Registry paths as the lab's model snapshot names them.
SPP_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\SoftwareProtectionPlatform"
OSPP_KEY = "HKLM\\SOFTWARE\\Microsoft\\OfficeSoftwareProtectionPlatform"
# The synthetic Windows Server 2022 KMS host key of lab/fleets/small.yml (not a Microsoft key).
SMALL_CSVLK = "TGV4F-XXX8X-CHX6D-44W7X-H4D3N"

# product_key/activation are another module's job; the executor is used directly to make kms01 a KMS host.
PREPARE_HOST = f"""
    - name: Install and activate the KMS host key
      winops.volume_activation.licensing_batch:
        operations:
          - {{op: cim_invoke, class: SoftwareLicensingService, method: InstallProductKey,
              arguments: {{ProductKey: {{secret: product_keys, index: 0}}}}}}
          - {{op: cim_invoke, class: SoftwareLicensingProduct, method: Activate,
              filter: "PartialProductKey <> null AND IsKeyManagementServiceMachine = 1"}}
        product_keys: ["{SMALL_CSVLK}"]
      no_log: true
"""


def play(hosts: str, tasks: str) -> str:
    return f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n{tasks}"


def task(name: str, module: str, args: dict[str, t.Any], *, check: bool = False) -> str:
    return (f"    - name: {name}\n      winops.volume_activation.{module}: {json.dumps(args)}\n"
            + ("      check_mode: true\n" if check else ""))


def registry(handle: LabHandle, host: str, path: str) -> dict[str, t.Any]:
    reg = handle.lab.host_state(host)["registry"]
    for key, values in reg.items():
        if key.lower() == path.lower():
            return {n: v["value"] for n, v in values.items()}
    return {}


def firewall(handle: LabHandle, host: str) -> dict[str, dict[str, t.Any]]:
    """The host's rules by rule ID (``SPPSVC-In-TCP``) and by display name: a rule created through
    the firewall COM API has a GUID for ID and its COM ``Name`` as display name."""
    rules = handle.lab.host_state(host)["firewall"]
    return {**{r["display_name"]: r for r in rules}, **{r["name"]: r for r in rules}}


def triad(ansible: Ansible, handle: LabHandle, host: str, module: str, args: dict[str, t.Any], *,
          prepare: str = "") -> dict[str, dict[str, t.Any]]:
    """Check mode (then verify nothing changed), real run, repeat run; returns the three results."""
    before = handle.lab.host_state(host)
    run = ansible.run(play(host, prepare + task("Check", module, args, check=True)), handle)
    assert run.rc == 0, run.stdout + run.stderr
    check = run.result("Check", host)
    after_check = handle.lab.host_state(host)
    # The check run's one module call went to the executor in check mode and held reads only.
    last = handle.lab.request_log(host)[-1]
    assert last["check_mode"] is True and "failed" not in last, last
    assert {op["op"] for op in last["ops"]} <= {"cim_query", "reg_get", "firewall_get", "service_get"}, last
    if not prepare:
        assert after_check["registry"] == before["registry"]
        assert after_check["firewall"] == before["firewall"]
    mark = len(handle.lab.request_log(host))  # LabHandle.log_mark() counts its last entry again
    run = ansible.run(play(host, task("Real", module, args) + task("Repeat", module, args)), handle)
    assert run.rc == 0, run.stdout + run.stderr
    real, repeat = run.result("Real", host), run.result("Repeat", host)
    assert handle.round_trips(host, since=mark) == real["round_trips"] + repeat["round_trips"]
    return {"check": check, "real": real, "repeat": repeat, "check_state": after_check}


HOST_ARGS = {"port": 1689, "low_priority": True, "renewal_interval": 1440,
             "publish_domains": [{"domain": "branch.small.example.test", "priority": 10, "weight": 20}]}


def test_kms_host_triad(lab: LabHandle, ansible: Ansible) -> None:
    r = triad(ansible, lab, "kms01", "kms_host", HOST_ARGS, prepare=PREPARE_HOST)
    assert r["check"]["changed"] is True and r["check"]["round_trips"] == 1
    assert r["check"]["restarted"] is False
    # Check mode changed nothing: the registry holds no KMS host setting yet, the listener is on 1688.
    assert "KeyManagementServiceListeningPort" not in r["check_state"]["registry"].get(SPP_KEY, {})
    assert "DnsDomainPublishList" not in r["check_state"]["registry"].get(SPP_KEY, {})
    assert r["check_state"]["kms_effective"]["port"] == 1688
    assert r["real"]["changed"] is True and r["real"]["round_trips"] == 2
    assert r["real"]["restarted"] is True
    assert r["real"]["current_count"] == -1
    assert r["repeat"]["changed"] is False and r["repeat"]["round_trips"] == 1
    reg = registry(lab, "kms01", SPP_KEY)
    assert reg["KeyManagementServiceListeningPort"] == "1689"
    assert reg["EnableKmsLowPriority"] == 1
    assert reg["VLRenewalInterval"] == 1440
    assert reg["DnsDomainPublishList"] == ["branch.small.example.test, 10, 20"]
    # The listener took the settings: sppsvc was restarted in the apply round trip.
    effective = lab.lab.host_state("kms01")["kms_effective"]
    assert effective["port"] == 1689
    assert effective["low_priority"] is True
    assert effective["publish_list"] == ["branch.small.example.test, 10, 20"]


def test_kms_host_refused_before_a_host_key(lab: LabHandle, ansible: Ansible) -> None:
    run = ansible.run(play("kms01", task("Host", "kms_host", {"port": 1689})), lab)
    result = run.result("Host", "kms01")
    assert result["_status"] == "failed"
    assert result["msg"].startswith("Failed to configure the KMS host: this machine is not a KMS host")
    assert "KeyManagementServiceListeningPort" not in registry(lab, "kms01", SPP_KEY)


def test_kms_firewall_triad_on_1688(lab: LabHandle, ansible: Ansible) -> None:
    r = triad(ansible, lab, "kms01", "kms_firewall", {"remote_addresses": ["LocalSubnet", "10.20.0.0/16"]})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    assert [r[k]["round_trips"] for k in ("check", "real", "repeat")] == [1, 2, 1]
    rule = firewall(lab, "kms01")["SPPSVC-In-TCP"]
    assert rule["enabled"] is True
    assert rule["profiles"] == ["Domain", "Private"]
    # as the firewall stores them (INetFwRule reads IPv4 subnets back with a mask)
    assert sorted(rule["remote_addresses"]) == ["10.20.0.0/255.255.0.0", "LocalSubnet"]


def test_kms_firewall_custom_port_and_absent(lab: LabHandle, ansible: Ansible) -> None:
    r = triad(ansible, lab, "kms01", "kms_firewall", {"port": 1689})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    rule = firewall(lab, "kms01")["winops-va-kms-tcp-in"]
    assert (rule["enabled"], rule["local_ports"], rule["remote_addresses"]) == (True, ["1689"], ["LocalSubnet"])
    assert rule["group"] == "winops.volume_activation"
    assert firewall(lab, "kms01")["SPPSVC-In-TCP"]["enabled"] is False
    r = triad(ansible, lab, "kms01", "kms_firewall", {"port": 1689, "state": "absent"})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    assert "winops-va-kms-tcp-in" not in firewall(lab, "kms01")


def test_kms_client_windows_triad(lab: LabHandle, ansible: Ansible) -> None:
    args = {"kms_host": "kms01.small.example.test:1689", "lookup_domain": "small.example.test",
            "host_caching": False, "activation_type": "kms"}
    r = triad(ansible, lab, "ws01", "kms_client", args)
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    assert [r[k]["round_trips"] for k in ("check", "real", "repeat")] == [1, 2, 1]
    reg = registry(lab, "ws01", SPP_KEY)
    assert reg["KeyManagementServiceName"] == "kms01.small.example.test"
    assert reg["KeyManagementServicePort"] == "1689"
    assert reg["KeyManagementServiceLookupDomain"] == "small.example.test"
    assert reg["DisableKeyManagementServiceHostCaching"] == 1
    assert reg["VLActivationType"] == 2
    r = triad(ansible, lab, "ws01", "kms_client", {"state": "absent"})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    reg = registry(lab, "ws01", SPP_KEY)
    assert "KeyManagementServiceName" not in reg and "KeyManagementServicePort" not in reg


def test_kms_client_office2010_on_windows_7(lab: LabHandle, ansible: Ansible) -> None:
    r = triad(ansible, lab, "ws02", "kms_client", {"product": "office2010", "kms_host": "kms01.small.example.test",
                                                   "host_caching": False})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    product = r["real"]["targets"][0]["activation_id"]
    reg = lab.lab.host_state("ws02")["registry"]
    sku = {k.lower(): v for k, v in reg.items()}[
        f"{OSPP_KEY}\\59a52881-a989-479d-af46-f275c6370663\\{product}".lower()]
    assert sku["KeyManagementServiceName"]["value"] == "kms01.small.example.test"
    assert registry(lab, "ws02", OSPP_KEY)["DisableKeyManagementServiceHostCaching"] == 1


@pytest.mark.parametrize("option", [{"activation_type": "kms"}, {"lookup_domain": "small.example.test"}])
def test_kms_client_windows8_options_refused_on_windows_7(
    lab: LabHandle, ansible: Ansible, option: dict[str, t.Any]
) -> None:
    run = ansible.run(play("ws02", task("Client", "kms_client", option)), lab)
    result = run.result("Client", "ws02")
    assert result["_status"] == "failed"
    name = next(iter(option))
    assert result["msg"] == (
        f"Failed to configure the KMS client settings of Windows: {name} needs Windows 8 / Windows Server 2012 or "
        "later, and this host runs Microsoft Windows 7 Enterprise (version 6.1.7601), where the licensing service "
        "has no such setting (slmgr.vbs /skms-domain and /act-type, ospp.vbs /skms-domain and /actype are Windows "
        "8+ only)")
    assert result["round_trips"] == 1
