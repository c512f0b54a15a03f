"""What Microsoft's own sources say real Windows does, end to end (issue 9, items 1, 4, 7).

ansible-playbook -> winrm -> the lab, outcomes checked in the lab's own state:

* Windows 7 / Server 2008 R2 (the Office 2010 KMS host OS) have no NetSecurity cmdlets
  (``MSFT_NetFirewallRule``: Windows 8 / Server 2012, MicrosoftDocs/win32
  desktop-src/FWP/wmi/wfascimprov/msft-netfirewallrule.md); the lab answers a script that uses
  them with PowerShell 5.1's CommandNotFoundException, so ``kms_firewall`` and the
  ``kms_server`` role work there only through the firewall COM API (``HNetCfg.FwPolicy2``).
* sppsvc may refuse a restart over WinRM (lab fault ``sppsvc_restart_refused``); slmgr.vbs never
  restarts it and only warns "a KMS reboot is needed for this setting to take effect"
  (Microsoft's slmgr.vbs, L_MsgWarningKmsReboot): ``kms_host`` reports the applied setting as
  applied, with ``restart_required``.
* Office 2010 keys are removed as Microsoft's ospp.vbs removes them:
  ``OfficeSoftwareProtectionProduct.UninstallProductKey(ProductKeyID)``.
"""

from __future__ import annotations

import typing as t

import pytest

from .conftest import ROOT, Ansible, LabHandle
from .test_kms_modules import firewall, play, task, triad

KMS_HOST = ROOT / "playbooks" / "kms_host.yml"
OFFICE2010_CSVLK = "8NHQ3-YWMVD-8WMH3-H4WMD-F8RT6"  # synthetic, as in the lab's fleet files
WS2022_CSVLK = "TGB3R-RPMHX-WBWHG-296WF-BGXGH"
OFFICE2010_HOST_ID = "bfe7a195-4f8f-4f0b-a622-cf13c7d16864"

FLEET: dict[str, t.Any] = {
    "lab": {"seed": 91, "start": "2026-11-01T09:00:00Z", "dns_port": 0},
    "domain": "fidelity.example.test",
    "defaults": {"username": "Administrator", "password": "Fidelity-Lab-Pw1", "http_port": 0, "https_port": 0},
    "keys": [
        {"name": "o2010", "kind": "csvlk", "product": "office-2010", "key": OFFICE2010_CSVLK},
        {"name": "ws2022", "kind": "csvlk", "product": "windows-server-2022", "key": WS2022_CSVLK},
    ],
    "hosts": [
        {"name": "w7", "address": "127.0.91.10", "os": "windows-7", "edition": "Enterprise",
         "office": [{"version": "2010", "products": ["ProPlus"]}]},
        {"name": "r2", "address": "127.0.91.11", "os": "windows-server-2008-r2", "edition": "ServerStandard",
         "roles": ["kms_host"]},
        {"name": "kms22", "address": "127.0.91.12", "os": "windows-server-2022", "edition": "ServerStandard",
         "roles": ["kms_host"]},
    ],
}


@pytest.fixture(scope="module")
def fidelity_lab(start_lab: t.Callable[..., LabHandle]) -> LabHandle:
    return start_lab(FLEET)


@pytest.fixture
def flab(fidelity_lab: LabHandle) -> t.Iterator[LabHandle]:
    fidelity_lab.lab.reset()
    yield fidelity_lab
    fidelity_lab.lab.clear()


# --------------------------------------------------------------------------- item 1: firewall


@pytest.mark.parametrize("host", ["w7", "r2"])
def test_kms_firewall_on_windows_6_1_through_the_com_api(flab: LabHandle, ansible: Ansible, host: str) -> None:
    """Check mode, run, repeat on Windows 7 and Server 2008 R2. With the NetSecurity cmdlets the
    first read already failed there ("The term 'Get-NetFirewallRule' is not recognized...")."""
    r = triad(ansible, flab, host, "kms_firewall", {"remote_addresses": ["LocalSubnet", "10.20.0.0/16"]})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    assert [r[k]["round_trips"] for k in ("check", "real", "repeat")] == [1, 2, 1]
    assert r["real"]["rule_name"] == "SPPSVC-In-TCP"
    assert r["repeat"]["rule"]["remote_addresses"] == ["10.20.0.0/16", "LocalSubnet"]
    rule = firewall(flab, host)["SPPSVC-In-TCP"]
    assert (rule["enabled"], rule["profiles"]) == (True, ["Domain", "Private"])
    assert sorted(rule["remote_addresses"]) == ["10.20.0.0/255.255.0.0", "LocalSubnet"]


@pytest.mark.parametrize("host", ["w7", "r2"])
def test_kms_firewall_own_rule_on_windows_6_1(flab: LabHandle, ansible: Ansible, host: str) -> None:
    """A custom port: the collection's own rule is created through INetFwRules.Add, found again by
    name and group, and removed by name."""
    r = triad(ansible, flab, host, "kms_firewall", {"port": 1689, "remote_addresses": ["127.0.91.0/24"]})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    rule = firewall(flab, host)["winops-va-kms-tcp-in"]
    assert (rule["group"], rule["local_ports"], rule["remote_addresses"]) == \
        ("winops.volume_activation", ["1689"], ["127.0.91.0/255.255.255.0"])
    assert rule["name"].startswith("{")  # a COM-created rule's ID is not its name
    r = triad(ansible, flab, host, "kms_firewall", {"port": 1689, "state": "absent"})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    assert "winops-va-kms-tcp-in" not in firewall(flab, host)


def test_builtin_rule_is_found_whatever_its_display_name(flab: LabHandle, ansible: Ansible) -> None:
    """The display name is localized (a Japanese host shows its own); the executor never uses it."""
    with flab.lab.world.lock:
        flab.lab.world.host("r2").firewall.get("SPPSVC-In-TCP").display_name = "キー管理サービス (TCP 受信)"
    run = ansible.run(play("r2", task("Open", "kms_firewall", {})), flab)
    assert run.rc == 0, run.stdout[-3000:]
    assert run.result("Open", "r2")["rule_name"] == "SPPSVC-In-TCP"
    assert firewall(flab, "r2")["SPPSVC-In-TCP"]["enabled"] is True


def test_netsecurity_keywords_are_refused_before_anything_changes(flab: LabHandle, ansible: Ansible) -> None:
    mark = flab.log_mark("w7")
    run = ansible.run(play("w7", task("Open", "kms_firewall", {"remote_addresses": ["Intranet"]})), flab)
    result = run.result("Open", "w7")
    assert result["_status"] == "failed"
    assert "remote address 'Intranet' is a keyword of the NetSecurity cmdlets" in result["msg"]
    assert flab.round_trips("w7", since=mark) == 0
    assert firewall(flab, "w7")["SPPSVC-In-TCP"]["enabled"] is False


def test_kms_server_role_with_office_2010_on_server_2008_r2(flab: LabHandle, ansible: Ansible) -> None:
    """The seed's own case: an Office 2010 KMS host on Windows Server 2008 R2, firewall included,
    then a second run that changes nothing."""
    extra = {"kms_server_host_keys": [{"product": "office2010", "key": OFFICE2010_CSVLK}],
             # the controller probes the port too: admit the whole lab (loopback) network
             "kms_server_dns_publishing": False, "kms_server_firewall_remote_addresses": ["127.0.0.0/8"]}
    run = ansible.run(KMS_HOST, flab, extra_vars=extra, limit="r2")
    assert run.rc == 0, run.stdout[-5000:]
    assert OFFICE2010_CSVLK not in run.stdout
    host = flab.lab.host_state("r2")
    office = next(p for p in host["products"] if p["id"] == OFFICE2010_HOST_ID)
    assert office["activated"] is True
    rule = firewall(flab, "r2")["SPPSVC-In-TCP"]
    assert (rule["enabled"], rule["profiles"], rule["remote_addresses"]) == \
        (True, ["Domain", "Private"], ["127.0.0.0/255.0.0.0"])
    assert "r2" in flab.lab.kms_listeners()  # the firewall admits clients: the KMS listener is open
    mark = flab.log_mark("r2")
    again = ansible.run(KMS_HOST, flab, extra_vars=extra, limit="r2")
    assert again.rc == 0, again.stdout[-5000:]
    assert [r["task"] for r in again.records if r["result"].get("changed")] == []
    assert flab.round_trips("r2", since=mark) >= 1


# --------------------------------------------------------------------------- item 4: sppsvc restart


def _make_kms_host(flab: LabHandle, ansible: Ansible) -> None:
    run = ansible.run(play("kms22", """    - name: Install and activate the KMS host key
      winops.volume_activation.licensing_batch:
        operations:
          - {op: cim_invoke, class: SoftwareLicensingService, method: InstallProductKey,
             arguments: {ProductKey: {secret: product_keys, index: 0}}}
          - {op: cim_invoke, class: SoftwareLicensingProduct, method: Activate,
             filter: "PartialProductKey <> null AND IsKeyManagementServiceMachine = 1"}
        product_keys: ["KEY"]
      no_log: true
""".replace("KEY", WS2022_CSVLK)), flab)
    assert run.rc == 0, run.stdout[-3000:]


def test_refused_sppsvc_restart_reports_the_applied_port_with_restart_required(
    flab: LabHandle, ansible: Ansible
) -> None:
    _make_kms_host(flab, ansible)
    flab.lab.fault("kms22", "sppsvc_restart_refused")
    run = ansible.run(play("kms22", task("Port", "kms_host", {"port": 1689})), flab)
    result = run.result("Port", "kms22")
    assert run.rc == 0 and result["changed"] is True, run.stdout[-3000:]
    assert (result["restarted"], result["restart_required"]) == (False, True)
    assert result["after"]["port"] == 1689
    assert any("refused to restart the Software Protection service (sppsvc): 0x80070005" in w
               and "the next time sppsvc starts" in w for w in result["warnings"])
    # Saved, not yet in effect: the running KMS host still listens where it started.
    assert flab.lab.host_state("kms22")["kms_effective"]["port"] == 1688
    # The repeat run has nothing to change; the setting takes effect when sppsvc next starts.
    run = ansible.run(play("kms22", task("Again", "kms_host", {"port": 1689})), flab)
    assert run.result("Again", "kms22")["changed"] is False
    flab.lab.clear("kms22")
    flab.lab.fault("kms22", "kms_service_stopped")
    flab.lab.clear("kms22")  # starting sppsvc re-reads the settings
    assert flab.lab.host_state("kms22")["kms_effective"]["port"] == 1689


# --------------------------------------------------------------------------- item 7: Office 2010 key removal


def test_office_2010_key_is_removed_with_its_product_key_id(flab: LabHandle, ansible: Ansible) -> None:
    def office2010_keys() -> list[str]:
        # On Windows 7 the OSPP store holds Office 2010 only (Office 2013+ is not installed on w7).
        return [p["partial_product_key"] for p in flab.lab.host_state("w7")["products"]
                if p["store"] == "ospp" and p["partial_product_key"]]

    assert office2010_keys(), "the Office 2010 GVLK comes preinstalled on w7"
    r = triad(ansible, flab, "w7", "product_key", {"state": "absent", "product": "office2010"})
    assert [r[k]["changed"] for k in ("check", "real", "repeat")] == [True, True, False]
    assert office2010_keys() == []
    call = next(e for e in reversed(flab.lab.request_log("w7")) if any(
        op.get("method") == "UninstallProductKey" for op in e.get("ops", [])))
    op = next(o for o in call["ops"] if o.get("method") == "UninstallProductKey")
    assert (op["class"], op["ok"]) == ("OfficeSoftwareProtectionProduct", True)
