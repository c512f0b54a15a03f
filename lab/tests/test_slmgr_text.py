"""Exact slmgr.vbs text for representative licensing states ([SLMGR10], [SLMGR7]).

The states are plain dicts shaped like the CIM instances a host returns; the
expected texts are written out line by line from the scripts' DisplayAllInformation /
ExpirationDatime logic, so a change in order, label, indent or rounding fails here.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from winlab.surfaces.slmgr import NotSimulated, cim_datetime, render_slmgr, vbs_date

WIN_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"
NOW = dt.datetime(2026, 11, 1, 9, 0, 0)
CMID = "4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11"
WIN10 = {"Version": "10.0.19045", "ProductType": 1}
WS2022 = {"Version": "10.0.20348", "ProductType": 3}
WIN7 = {"Version": "6.1.7601", "ProductType": 1}


def crlf(text: str) -> str:
    """Expected text written with \\n, compared as the CRLF text the script prints."""
    return text.replace("\n", "\r\n")


def service(**kw: t.Any) -> dict[str, t.Any]:
    base: dict[str, t.Any] = {
        "Version": "10.0.19041.4355", "ClientMachineID": CMID, "KeyManagementServiceHostCaching": True,
        "RemainingWindowsReArmCount": 1001, "KeyManagementServiceListeningPort": 0,
        "KeyManagementServiceDnsPublishing": True, "KeyManagementServiceLowPriority": False,
    }
    base.update(kw)
    return base


def win10_enterprise(**kw: t.Any) -> dict[str, t.Any]:
    """Windows 10 Enterprise KMS client (GVLK NPPR9-...-2YT43) activated by a DNS-discovered host."""
    base: dict[str, t.Any] = {
        "ID": "73111121-5638-40f6-bc11-f1d7b0d64300", "Name": "Windows(R), Enterprise edition",
        "Description": "Windows(R) Operating System, VOLUME_KMSCLIENT channel", "ApplicationID": WIN_APP,
        "PartialProductKey": "2YT43", "LicenseIsAddon": False, "LicenseStatus": 1, "LicenseStatusReason": 0,
        "GracePeriodRemaining": 259140, "ProductKeyID": "03612-03308-000-000000-03-1033-19041.0000-3052026",
        "ProductKeyChannel": "Volume:GVLK", "OfflineInstallationId": "5523810942",
        "VLActivationTypeEnabled": 0, "VLActivationType": 2, "KeyManagementServiceMachine": None,
        "KeyManagementServicePort": 0, "KeyManagementServiceLookupDomain": None,
        "DiscoveredKeyManagementServiceMachineName": "kms01.corp.example.test",
        "DiscoveredKeyManagementServiceMachinePort": 1688,
        "DiscoveredKeyManagementServiceMachineIpAddress": "127.0.10.10",
        "KeyManagementServiceProductKeyID": "06401-00206-551-000001-03-1033-20348.0000-3052026",
        "VLActivationInterval": 120, "VLRenewalInterval": 10080, "RemainingSkuReArmCount": 1001,
        "RemainingAppReArmCount": 1001, "IsKeyManagementServiceMachine": 0,
        "TokenActivationILVID": 0xFFFFFFFF, "EvaluationEndDate": "16010101000000.000000-000",
        "TrustedTime": "20261101090000.000000+000",
    }
    base.update(kw)
    return base


def unkeyed(name: str, act_id: str, app: str = WIN_APP) -> dict[str, t.Any]:
    """A license installed without a key (slmgr /dlv all lists many of these)."""
    return {"ID": act_id, "Name": name, "Description": "Windows(R) Operating System, RETAIL channel",
            "ApplicationID": app, "PartialProductKey": None, "LicenseIsAddon": False, "LicenseStatus": 0,
            "LicenseStatusReason": 0xC004F014, "GracePeriodRemaining": 0, "ProductKeyID": None,
            "ProductKeyChannel": None, "OfflineInstallationId": None, "RemainingSkuReArmCount": 1001,
            "IsKeyManagementServiceMachine": 0}


KMS_CLIENT_DLV = crlf("""\
Software licensing service version: 10.0.19041.4355

Name: Windows(R), Enterprise edition
Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
Activation ID: 73111121-5638-40f6-bc11-f1d7b0d64300
Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f
Extended PID: 03612-03308-000-000000-03-1033-19041.0000-3052026
Product Key Channel: Volume:GVLK
Installation ID: 5523810942
Partial Product Key: 2YT43
License Status: Licensed
Volume activation expiration: 259140 minute(s) (180 day(s))
Remaining Windows rearm count: 1001
Remaining SKU rearm count: 1001
Trusted time: 11/1/2026 9:00:00 AM
Configured Activation Type: All

Most recent activation information:
Key Management Service client information
    Client Machine ID (CMID): 4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11
    KMS machine name from DNS: kms01.corp.example.test:1688
    KMS machine IP address: 127.0.10.10
    KMS machine extended PID: 06401-00206-551-000001-03-1033-20348.0000-3052026
    Activation interval: 120 minutes
    Renewal interval: 10080 minutes
    KMS host caching is enabled


""")

KMS_CLIENT_DLI = crlf("""\

Name: Windows(R), Enterprise edition
Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
Partial Product Key: 2YT43
License Status: Licensed
Volume activation expiration: 259140 minute(s) (180 day(s))
Configured Activation Type: All

Most recent activation information:
Key Management Service client information
    Client Machine ID (CMID): 4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11
    KMS machine name from DNS: kms01.corp.example.test:1688
    KMS machine IP address: 127.0.10.10
    KMS machine extended PID: 06401-00206-551-000001-03-1033-20348.0000-3052026
    Activation interval: 120 minutes
    Renewal interval: 10080 minutes
    KMS host caching is enabled


""")


def test_win10_kms_client_dlv() -> None:
    assert render_slmgr(["/dlv"], service(), [win10_enterprise()], WIN10, "en-US", NOW) == (0, KMS_CLIENT_DLV)


@pytest.mark.parametrize("switch", ["/dli", "-DLI", "/Dli"])
def test_win10_kms_client_dli_any_case_and_dash(switch: str) -> None:
    assert render_slmgr([switch], service(), [win10_enterprise()], WIN10, "en-US", NOW) == (0, KMS_CLIENT_DLI)


def test_win10_kms_client_xpr() -> None:
    # 259140 minutes after 2026-11-01 09:00 is 2027-04-30 08:00.
    expected = crlf("Windows(R), Enterprise edition:\n    Volume activation will expire 4/30/2027 8:00:00 AM\n\n")
    assert render_slmgr(["/xpr"], service(), [win10_enterprise()], WIN10, "en-US", NOW) == (0, expected)


def test_registered_kms_name_and_lookup_domain_warning() -> None:
    product = win10_enterprise(KeyManagementServiceMachine="kms02.corp.example.test", KeyManagementServicePort=0,
                               KeyManagementServiceLookupDomain="corp.example.test",
                               DiscoveredKeyManagementServiceMachineIpAddress=None)
    _, text = render_slmgr(["/dli"], service(KeyManagementServiceHostCaching=False), [product], WIN10,
                           "en-US", NOW)
    assert text.endswith(crlf("""\
Key Management Service client information
    Client Machine ID (CMID): 4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11
    Registered KMS SRV record lookup domain: corp.example.test
    Registered KMS machine name: kms02.corp.example.test:1688
    KMS machine IP address: not available
    KMS machine extended PID: 06401-00206-551-000001-03-1033-20348.0000-3052026
    Activation interval: 120 minutes
    Renewal interval: 10080 minutes
    KMS host caching is disabled

Warning: /skms setting overrides the /skms-domain setting. kms02.corp.example.test:1688 will be used for activation.


"""))


def ws2022_kms_host(**kw: t.Any) -> dict[str, t.Any]:
    base: dict[str, t.Any] = {
        "ID": "9bd77860-9b31-4b7b-96ad-2564017315bf", "Name": "Windows(R), ServerStandard edition",
        "Description": "Windows(R) Operating System, VOLUME_KMS_WS22 channel", "ApplicationID": WIN_APP,
        "PartialProductKey": "3V66T", "LicenseIsAddon": False, "LicenseStatus": 1, "LicenseStatusReason": 0,
        "GracePeriodRemaining": 0, "ProductKeyID": "06401-00206-551-000001-03-1033-20348.0000-3052026",
        "ProductKeyChannel": "Volume:CSVLK", "OfflineInstallationId": "0144718352",
        "ProcessorURL": "", "MachineURL": "", "UseLicenseURL": "https://activation.lab.invalid/uselicense",
        "ProductKeyURL": None, "ValidationURL": "", "RemainingSkuReArmCount": 1001,
        "IsKeyManagementServiceMachine": 1, "KeyManagementServiceCurrentCount": 27,
        "KeyManagementServiceTotalRequests": 64, "KeyManagementServiceFailedRequests": 3,
        "KeyManagementServiceUnlicensedRequests": 0, "KeyManagementServiceLicensedRequests": 40,
        "KeyManagementServiceOOBGraceRequests": 21, "KeyManagementServiceOOTGraceRequests": 0,
        "KeyManagementServiceNonGenuineGraceRequests": 0, "KeyManagementServiceNotificationRequests": 0,
        "TokenActivationILVID": None,
    }
    base.update(kw)
    return base


def test_ws2022_kms_host_dlv() -> None:
    svc = service(Version="10.0.20348.2461", ClientMachineID="00000000-0000-0000-0000-000000000000",
                  KeyManagementServiceListeningPort=1688, KeyManagementServiceLowPriority=True,
                  RemainingWindowsReArmCount=1000)
    expected = crlf("""\
Software licensing service version: 10.0.20348.2461

Name: Windows(R), ServerStandard edition
Description: Windows(R) Operating System, VOLUME_KMS_WS22 channel
Activation ID: 9bd77860-9b31-4b7b-96ad-2564017315bf
Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f
Extended PID: 06401-00206-551-000001-03-1033-20348.0000-3052026
Product Key Channel: Volume:CSVLK
Installation ID: 0144718352
Use License URL: https://activation.lab.invalid/uselicense
Partial Product Key: 3V66T
License Status: Licensed
Remaining Windows rearm count: 1000
Remaining SKU rearm count: 1001

Key Management Service is enabled on this machine
    Current count: 27
    Listening on Port: 1688
    DNS publishing enabled
    KMS priority: Low

Key Management Service cumulative requests received from clients
    Total requests received: 64
    Failed requests received: 3
    Requests with License Status Unlicensed: 0
    Requests with License Status Licensed: 40
    Requests with License Status Initial grace period: 21
    Requests with License Status License expired or Hardware out of tolerance: 0
    Requests with License Status Non-genuine grace period: 0
    Requests with License Status Notification: 0


""")
    assert render_slmgr(["/dlv"], svc, [ws2022_kms_host()], WS2022, "en-US", NOW) == (0, expected)


def test_kms_host_count_minus_one_prints_as_vbscript_long() -> None:
    # No client has contacted the host: -1, declared uint32 (4294967295), printed as a VBScript Long.
    product = ws2022_kms_host(KeyManagementServiceCurrentCount=4294967295, KeyManagementServiceTotalRequests=None)
    _, text = render_slmgr(["/dli"], service(KeyManagementServiceDnsPublishing=False), [product], WS2022,
                           "en-US", NOW)
    assert text.endswith(crlf("""\
License Status: Licensed

Key Management Service is enabled on this machine
    Current count: -1
    Listening on Port: 1688
    DNS publishing disabled
    KMS priority: Normal


"""))


def test_office_host_pack_by_activation_id_is_case_insensitive_and_stops() -> None:
    office_host = {
        "ID": "98ebfe73-2084-4c97-932c-c0cd1643bea7", "Name": "Office 16, OfficeKMSHostVL_KMS_Host edition",
        "Description": "Office 16, VOLUME_KMS channel", "ApplicationID": "0ff1ce15-a989-479d-af46-f275c6370663",
        "PartialProductKey": "YBMXV", "LicenseIsAddon": False, "LicenseStatus": 1, "GracePeriodRemaining": 0,
        "IsKeyManagementServiceMachine": 1, "KeyManagementServiceCurrentCount": 5,
        "KeyManagementServiceTotalRequests": None,
    }
    products = [ws2022_kms_host(), office_host, unkeyed("Windows(R), ServerDatacenter edition",
                                                       "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03")]
    expected = crlf("""\

Name: Office 16, OfficeKMSHostVL_KMS_Host edition
Description: Office 16, VOLUME_KMS channel
Partial Product Key: YBMXV
License Status: Licensed

Key Management Service is enabled on this machine
    Current count: 5
    Listening on Port: 1688
    DNS publishing enabled
    KMS priority: Normal

""")
    result = render_slmgr(["/dli", "98EBFE73-2084-4C97-932C-C0CD1643BEA7"], service(), products, WS2022,
                          "en-US", NOW)
    assert result == (0, expected)


def test_dli_all_lists_unkeyed_licenses() -> None:
    products = [win10_enterprise(), unkeyed("Windows(R), Professional edition",
                                            "2de67392-b7a7-462a-b1ca-108dd189f588")]
    _, text = render_slmgr(["/dli", "ALL"], service(), products, WIN10, "en-US", NOW)
    assert text.endswith(crlf("""\
    KMS host caching is enabled


Name: Windows(R), Professional edition
Description: Windows(R) Operating System, RETAIL channel
This license is not in use.
License Status: Unlicensed


"""))


@pytest.mark.parametrize("args", [["/dlv", "00000000-0000-0000-0000-000000000000"], ["/dli"]])
def test_no_matching_product(args: list[str]) -> None:
    rc, text = render_slmgr(args, service(), [unkeyed("Windows(R), Enterprise edition",
                                                      "73111121-5638-40f6-bc11-f1d7b0d64300")],
                            WIN10, "en-US", NOW)
    prefix = "Software licensing service version: 10.0.19041.4355\n" if args[0] == "/dlv" else ""
    assert (rc, text) == (0, crlf(prefix + "Error: product key not found.\n\n"))


def test_no_key_xpr() -> None:
    result = render_slmgr(["/xpr"], service(), [unkeyed("Windows(R), Enterprise edition", "x")], WIN10,
                          "en-US", NOW)
    assert result == (0, crlf("Error: product key not found.\n\n"))


@pytest.mark.parametrize(("reason", "line"), [
    (0xC004F056, "Notification Reason: 0xC004F056."),
    (0xC004F009, "Notification Reason: 0xC004F009 (grace time expired)."),
    (0xC004F200, "Notification Reason: 0xC004F200 (non-genuine)."),
])
def test_notification_mode(reason: int, line: str) -> None:
    product = win10_enterprise(LicenseStatus=5, LicenseStatusReason=reason, GracePeriodRemaining=0,
                               DiscoveredKeyManagementServiceMachineName=None)
    expected = crlf(f"""\

Name: Windows(R), Enterprise edition
Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
Partial Product Key: 2YT43
License Status: Notification
{line}
Configured Activation Type: All
Please use slmgr.vbs /ato to activate and update KMS client information in order to update values.


""")
    assert render_slmgr(["/dli"], service(), [product], WIN10, "en-US", NOW) == (0, expected)
    xpr = crlf("Windows(R), Enterprise edition:\n    Windows is in Notification mode\n\n")
    assert render_slmgr(["/xpr"], service(), [product], WIN10, "en-US", NOW) == (0, xpr)


@pytest.mark.parametrize("os_info", [WIN10, WIN7], ids=["slmgr10", "slmgr7"])
@pytest.mark.parametrize(("minutes", "days10", "days7"), [
    (1, 1, 0), (1439, 1, 0), (1440, 1, 1), (1441, 2, 1), (43200, 30, 30), (259199, 180, 179),
])
def test_day_rounding_ceiling_on_slmgr10_floor_on_slmgr7(os_info: dict[str, t.Any], minutes: int, days10: int,
                                                         days7: int) -> None:
    days = days7 if os_info is WIN7 else days10
    product = win10_enterprise(LicenseStatus=2, GracePeriodRemaining=minutes)
    _, text = render_slmgr(["/dli"], service(), [product], os_info, "en-US", NOW)
    assert f"License Status: Initial grace period\r\nTime remaining: {minutes} minute(s) ({days} day(s))\r\n" in text


@pytest.mark.parametrize(("status", "grace", "line"), [
    (1, 0, "    The machine is permanently activated."),
    (0, 0, "    Unlicensed"),
    (2, 43200, "    Initial grace period ends 12/1/2026 9:00:00 AM"),
    (3, 14 * 60, "    Additional grace period ends 11/1/2026 11:00:00 PM"),
    (6, 15 * 60, "    Extended grace period ends 11/2/2026"),  # midnight: VBScript prints the date only
])
def test_xpr_states(status: int, grace: int, line: str) -> None:
    product = win10_enterprise(Description="Windows(R) Operating System, VOLUME_MAK channel",
                               LicenseStatus=status, GracePeriodRemaining=grace)
    _, text = render_slmgr(["/xpr", "73111121-5638-40F6-BC11-F1D7B0D64300"], service(), [product], WIN10,
                           "en-US", NOW)
    assert text == crlf(f"Windows(R), Enterprise edition:\n{line}\n\n")


def test_win7_client_uses_slmgr7_format() -> None:
    svc = service(Version="6.1.7601.17514", RemainingWindowsReArmCount=3)
    product = win10_enterprise(
        ID="ae2ee509-1b34-41c0-acb7-6d4650168915", Name="Windows(R) 7, Enterprise edition",
        ProductKeyID="55041-00172-309-000001-03-1033-7601.0000-3052026", GracePeriodRemaining=259199,
        KeyManagementServiceProductKeyID="55041-00168-305-000000-03-1033-7601.0000-3052026",
        RemainingSkuReArmCount=None)
    expected = crlf("""\
Software licensing service version: 6.1.7601.17514

Name: Windows(R) 7, Enterprise edition
Description: Windows(R) Operating System, VOLUME_KMSCLIENT channel
Activation ID: ae2ee509-1b34-41c0-acb7-6d4650168915
Application ID: 55c92734-d682-4d71-983e-d6ec3f16059f
Extended PID: 55041-00172-309-000001-03-1033-7601.0000-3052026
Installation ID: 5523810942
Partial Product Key: 2YT43
License Status: Licensed
Volume activation expiration: 259199 minute(s) (179 day(s))
Remaining Windows rearm count: 3
Trusted time: 11/1/2026 9:00:00 AM

Key Management Service client information
    Client Machine ID (CMID): 4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11
    KMS machine name from DNS: kms01.corp.example.test:1688
    KMS machine extended PID: 55041-00168-305-000000-03-1033-7601.0000-3052026
    Activation interval: 120 minutes
    Renewal interval: 10080 minutes
    KMS host caching is enabled


""")
    assert render_slmgr(["/dlv"], svc, [product], WIN7, "en-US", NOW) == (0, expected)


def test_win7_mak_prints_all_four_urls_even_empty() -> None:
    product = win10_enterprise(Description="Windows(R) Operating System, VOLUME_MAK channel",
                               GracePeriodRemaining=0, ProcessorURL="", MachineURL=None,
                               UseLicenseURL="https://activation.lab.invalid/u", ProductKeyURL="",
                               ValidationURL="https://never.printed.on.win7")
    _, text = render_slmgr(["/dlv"], service(), [product], WIN7, "en-US", NOW)
    assert crlf("""\
Installation ID: 5523810942
Processor Certificate URL: \nMachine Certificate URL: \nUse License URL: https://activation.lab.invalid/u
Product Key Certificate URL: \nPartial Product Key: 2YT43
""") in text
    assert "Validation URL" not in text


def test_ja_jp_labels_and_date_format() -> None:
    expected = crlf("""\

名前: Windows(R), Enterprise edition
説明: Windows(R) Operating System, VOLUME_KMSCLIENT channel
プロダクト キーの一部: 2YT43
ライセンスの状態: ライセンスされています
ボリューム ライセンス認証の有効期限: 259140 分 (180 日)
構成されているライセンス認証の種類: すべて

最新のライセンス認証の情報:
キー管理サービスのクライアント情報
    クライアント コンピューター ID (CMID): 4a1c0e5e-7d0b-4b8e-9a53-0c2f1b7d9e11
    DNS から取得した KMS コンピューター名: kms01.corp.example.test:1688
    KMS コンピューターの IP アドレス: 127.0.10.10
    KMS コンピューターの拡張 PID: 06401-00206-551-000001-03-1033-20348.0000-3052026
    ライセンス認証の間隔: 120 分
    更新の間隔: 10080 分
    KMS ホストのキャッシュは有効です


""")
    assert render_slmgr(["/dli"], service(), [win10_enterprise()], WIN10, "ja-JP", NOW) == (0, expected)
    xpr = crlf("Windows(R), Enterprise edition:\n    ボリューム ライセンス認証の有効期限: 2027/04/30 8:00:00\n\n")
    assert render_slmgr(["/xpr"], service(), [win10_enterprise()], WIN10, "ja-JP", NOW) == (0, xpr)


def test_addon_with_key_is_shown_after_primary_sku() -> None:
    addon = {"ID": "a0cde89c-3304-4157-b61c-c8ad785d1fad", "Name": "Windows(R), ESU add-on",
             "Description": "Windows(R) Operating System, VOLUME_MAK channel", "ApplicationID": WIN_APP,
             "PartialProductKey": "Q8TCP", "LicenseIsAddon": True, "LicenseStatus": 1, "GracePeriodRemaining": 0}
    other = win10_enterprise(ID="2ffd8952-423e-4903-b993-72a1aa44cf82", PartialProductKey=None,
                             Name="Windows(R), EnterpriseN edition")
    _, text = render_slmgr(["/dli"], service(), [other, win10_enterprise(), addon], WIN10, "en-US", NOW)
    assert text.count("\r\nName: ") == 2
    assert text.index("Enterprise edition") < text.index("ESU add-on")
    assert "EnterpriseN" not in text


def test_usage_for_unknown_option() -> None:
    rc, text = render_slmgr(["/bogus"], service(), [], WIN10, "en-US", NOW)
    assert rc == 1
    assert text.startswith(crlf("Unrecognized option: /bogus\n\nWindows Software Licensing Management Tool\n"
                                "Usage: slmgr.vbs [MachineName [User Password]] [<Option>]\n"))
    assert crlf("/dlv [Activation ID | All]\n    Display detailed license information (default: current "
                "license)\n") in text
    assert text.endswith(crlf("/del-ao <Activation Object DN | Activation Object RDN>\n    Delete Activation "
                              "Objects in AD (Active Directory) for user-provided Activation Object\n\n"))
    rc7, text7 = render_slmgr([], service(), [], WIN7, "en-US", NOW)
    assert rc7 == 1
    assert text7.startswith(crlf("Invalid combination of command parameters.\n\n"))
    assert "/stao \r\n    Set Token-based Activation Only flag\r\n" in text7
    assert "ad-activation" not in text7


@pytest.mark.parametrize("args", [["/ipk", "W269N-WFGWX-YVC9B-4J6C9-T83GX"], ["/ato"], ["/skms", "kms01:1688"],
                                  ["/REARM"], ["kms01", "/dlv"], ["kms01", "admin", "secret", "/dli"]])
def test_state_changing_and_remote_use_are_not_simulated(args: list[str]) -> None:
    with pytest.raises(NotSimulated):
        render_slmgr(args, service(), [win10_enterprise()], WIN10, "en-US", NOW)


@pytest.mark.parametrize(("value", "expected"), [
    ("16010101000000.000000-000", None),
    (None, None),
    ("20270530093000.000000+000", dt.datetime(2027, 5, 30, 9, 30)),
    ("2027-05-30T09:30:00+00:00", dt.datetime(2027, 5, 30, 9, 30)),
    (dt.datetime(2027, 5, 30, 9, 30, 5, 123), dt.datetime(2027, 5, 30, 9, 30, 5)),
])
def test_cim_datetime(value: t.Any, expected: dt.datetime | None) -> None:
    assert cim_datetime(value) == expected


@pytest.mark.parametrize(("when", "locale", "text"), [
    (dt.datetime(2027, 5, 30, 0, 0), "en-US", "5/30/2027"),
    (dt.datetime(2027, 5, 30, 12, 5, 9), "en-US", "5/30/2027 12:05:09 PM"),
    (dt.datetime(2027, 5, 30, 0, 30), "en-US", "5/30/2027 12:30:00 AM"),
    (dt.datetime(2027, 5, 30, 21, 5), "ja-JP", "2027/05/30 21:05:00"),
    (dt.datetime(2027, 5, 3, 0, 0), "ja-JP", "2027/05/03"),
])
def test_vbs_date(when: dt.datetime, locale: str, text: str) -> None:
    assert vbs_date(when, locale) == text
