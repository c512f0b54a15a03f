"""Exact ospp.vbs text for representative Office licensing states ([OSPP15], [SLERRXML])."""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

from winlab.surfaces.ospp import ospp_classes, render_ospp
from winlab.surfaces.slmgr import NotSimulated

NOW = dt.datetime(2026, 11, 1, 9, 0)
OFFICE13_APP = "0ff1ce15-a989-479d-af46-f275c6370663"
OFFICE10_APP = "59a52881-a989-479d-af46-f275c6370663"
WIN_APP = "55c92734-d682-4d71-983e-d6ec3f16059f"
HEAD = "---Processing--------------------------\n---------------------------------------\n"
SEP = "---------------------------------------\n"
FOOT = "---------------------------------------\n---Exiting-----------------------------\n"


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def office2010_proplus(**kw: t.Any) -> dict[str, t.Any]:
    """Office Professional Plus 2010 KMS client (GVLK ...-H3GVB) activated through DNS, on Windows 7."""
    base: dict[str, t.Any] = {
        "ID": "6f327760-8c5c-417c-9b61-836a98287e0c", "ApplicationId": OFFICE10_APP,
        "Name": "Office 14, OfficeProPlus-KMS_Client edition",
        "Description": "Office 14, VOLUME_KMSCLIENT channel", "PartialProductKey": "H3GVB",
        "ProductKeyID": "82503-018-0000106-48291", "LicenseStatus": 1, "LicenseStatusReason": 0x4004F040,
        "GracePeriodRemaining": 259199, "EvaluationEndDate": "16010101000000.000000-000",
        "DiscoveredKeyManagementServiceMachineName": "kms01.corp.example.test",
        "DiscoveredKeyManagementServiceMachinePort": 1688, "KeyManagementServiceMachine": None,
        "KeyManagementServicePort": 0, "VLActivationInterval": 120, "VLRenewalInterval": 10080,
    }
    base.update(kw)
    return base


def test_office2010_client_on_windows7() -> None:
    products = [
        office2010_proplus(),
        # Same AppID but no key: counted for /dstatusall only.
        {"ID": "fdf3ecb9-b56f-43b2-a9b8-1b48b6bae1a7", "ApplicationId": OFFICE10_APP,
         "Name": "Office 14, OfficeProPlus-MAK edition", "Description": "Office 14, VOLUME_MAK channel",
         "PartialProductKey": None, "ProductKeyID": None, "LicenseStatus": 0, "LicenseStatusReason": 0xC004F014,
         "GracePeriodRemaining": 0},
        # Windows licenses never show in ospp output.
        {"ID": "ae2ee509-1b34-41c0-acb7-6d4650168915", "ApplicationId": WIN_APP, "Name": "Windows(R) 7",
         "Description": "VOLUME_KMSCLIENT", "PartialProductKey": "H9DH4", "ProductKeyID": "x"},
    ]
    svc = {"ClientMachineID": "6e7a3bcd-0f4b-4c0e-9b4e-1c2e3d4f5a6b", "KeyManagementServiceHostCaching": True}
    expected = crlf(HEAD + """\
SKU ID: 6f327760-8c5c-417c-9b61-836a98287e0c
LICENSE NAME: Office 14, OfficeProPlus-KMS_Client edition
LICENSE DESCRIPTION: Office 14, VOLUME_KMSCLIENT channel
LICENSE STATUS:  ---LICENSED---\x20
ERROR CODE: 0x4004F040 (for information purposes only as the status is licensed)
ERROR DESCRIPTION: The Software Licensing Service reported that the product was activated but the owner should verify the Product Use Rights.
REMAINING GRACE: 179 days  (259199 minute(s) before expiring)
Last 5 characters of installed product key: H3GVB
\tKMS machine name from DNS: kms01.corp.example.test:1688
\tActivation Interval: 120 minutes
\tRenewal Interval: 10080 minutes
\tKMS host caching: Enabled
""" + SEP + FOOT)
    assert render_ospp(["/dstatus"], svc, products, "6.1.7601", NOW, office_version="2010") == (0, expected)
    assert ospp_classes("2010", "6.1.7601") == ("OfficeSoftwareProtectionService",
                                                "OfficeSoftwareProtectionProduct")


def test_office2016_client_on_windows10() -> None:
    product = {
        "ID": "d450596f-894d-49e0-966a-fd39ed4c4c64", "ApplicationId": OFFICE13_APP,
        "Name": "Office 16, Office16ProPlusVL_KMS_Client edition",
        "Description": "Office 16, VOLUME_KMSCLIENT channel", "PartialProductKey": "WFG99",
        "ProductKeyID": "03356-03800-000-000000-03-1033-9200.0000-3052026", "ProductKeyID2": "00339-10000-00000-AA680",
        "LicenseStatus": 1, "LicenseStatusReason": 0, "GracePeriodRemaining": 258130, "EvaluationEndDate": None,
        "VLActivationTypeEnabled": 0, "VLActivationType": 2,
        "DiscoveredKeyManagementServiceMachineName": None, "DiscoveredKeyManagementServiceMachinePort": 0,
        "KeyManagementServiceMachine": "kms01.corp.example.test", "KeyManagementServicePort": 0,
        "KeyManagementServiceLookupDomain": "corp.example.test",
        "VLActivationInterval": 120, "VLRenewalInterval": 10080,
    }
    expected = crlf(HEAD + """\
PRODUCT ID: 00339-10000-00000-AA680
SKU ID: d450596f-894d-49e0-966a-fd39ed4c4c64
LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition
LICENSE DESCRIPTION: Office 16, VOLUME_KMSCLIENT channel
BETA EXPIRATION: 1/1/1601
LICENSE STATUS:  ---LICENSED---\x20
REMAINING GRACE: 179 days  (258130 minute(s) before expiring)
Last 5 characters of installed product key: WFG99
Activation Type Configuration: ALL
\tDNS auto-discovery: KMS name not available
\tKMS machine registry override defined: kms01.corp.example.test:1688
\tActivation Interval: 120 minutes
\tRenewal Interval: 10080 minutes
\tKMS host caching: Disabled
\tKMS Lookup Domain: corp.example.test
""" + SEP + FOOT)
    svc = {"ClientMachineID": "x", "KeyManagementServiceHostCaching": False}
    assert render_ospp(["/DSTATUS"], svc, [product], "10.0.19045", NOW, office_version="2016") == (0, expected)
    assert ospp_classes("2016", "10.0.19045") == ("SoftwareLicensingService", "SoftwareLicensingProduct")
    assert ospp_classes("2016", "6.1.7601") == ("OfficeSoftwareProtectionService",
                                                "OfficeSoftwareProtectionProduct")


def test_ad_activated_office2013_shows_ao_lines_and_no_kms_lines() -> None:
    product = {
        "ID": "b322da9c-a2e2-4058-9e4e-f59a6970bd69", "ApplicationId": OFFICE13_APP,
        "Name": "Office 15, OfficeProPlusVL_KMS_Client edition", "Description": "Office 15, VOLUME_KMSCLIENT channel",
        "PartialProductKey": "GVGXT", "ProductKeyID": "05426-00206-233-000015-03-1033-9200.0000-3052026",
        "LicenseStatus": 1, "LicenseStatusReason": 0, "GracePeriodRemaining": 0,
        "EvaluationEndDate": "16010101000000.000000-000", "VLActivationTypeEnabled": 1, "VLActivationType": 1,
        "ADActivationObjectName": "Office2013", "ADActivationObjectDN": "CN=Office2013,CN=Activation Objects",
        "ADActivationCsvlkPid": "06401-00206-551-000001", "ADActivationCsvlkSkuId": "2e28138a-847f-42bc-9752-61b03fff33cd",
    }
    expected = crlf(HEAD + """\
SKU ID: b322da9c-a2e2-4058-9e4e-f59a6970bd69
LICENSE NAME: Office 15, OfficeProPlusVL_KMS_Client edition
LICENSE DESCRIPTION: Office 15, VOLUME_KMSCLIENT channel
LICENSE STATUS:  ---LICENSED---\x20
Last 5 characters of installed product key: GVGXT
Activation Type Configuration: AD
Most recent successful activation client information: AD
\tActivation Object name: Office2013
\tAO DN: CN=Office2013,CN=Activation Objects
\tAO extended PID: 06401-00206-551-000001
\tAO activation ID: 2e28138a-847f-42bc-9752-61b03fff33cd
""" + SEP + FOOT)
    assert render_ospp(["/dstatus"], {}, [product], "10.0.20348", NOW, office_version="2013") == (0, expected)


@pytest.mark.parametrize(("reason", "lines"), [
    (0xC004F074, "ERROR CODE: 0xC004F074\nERROR DESCRIPTION: The Software Licensing Service reported that the "
                 "product could not be activated. No Key Management Service (KMS) could be contacted. Please see "
                 "the Application Event Log for additional information.\n"),
    (0xC004F038, "ERROR CODE: 0xC004F038\nERROR DESCRIPTION: The Software Licensing Service reported that the "
                 "product could not be activated. The count reported by your Key Management Service (KMS) is "
                 "insufficient. Please contact your system administrator.\n"),
    (0xC004FEED, "ERROR CODE: 0xC004FEED\nERROR DESCRIPTION: Run the following: cscript ospp.vbs /ddescr:0xC004FEED\n"),
])
def test_grace_state_with_error_code(reason: int, lines: str) -> None:
    product = office2010_proplus(LicenseStatus=2, LicenseStatusReason=reason, GracePeriodRemaining=43199,
                                 DiscoveredKeyManagementServiceMachineName=None)
    _, text = render_ospp(["/dstatus"], {}, [product], "6.1.7601", NOW, office_version="2010")
    assert crlf("LICENSE STATUS:  ---OOB_GRACE--- \n" + lines +
                "REMAINING GRACE: 29 days  (43199 minute(s) before expiring)\n"
                "Last 5 characters of installed product key: H3GVB\n"
                "\tDNS auto-discovery: KMS name not available\n") in text


@pytest.mark.parametrize(("status", "label"), [
    (0, " ---UNLICENSED--- "), (3, " ---OOT_GRACE--- "), (4, " ---NON_GENUINE_GRACE--- "),
    (5, " ---NOTIFICATIONS--- "), (6, " ---EXTENDED GRACE--- "), (9, " ---UNKNOWN--- "),
])
def test_status_labels(status: int, label: str) -> None:
    product = office2010_proplus(LicenseStatus=status, LicenseStatusReason=0)
    _, text = render_ospp(["/dstatus"], {}, [product], "6.1.7601", NOW, office_version="2010")
    assert f"\r\nLICENSE STATUS: {label}\r\n" in text


def test_no_key_installed() -> None:
    product = office2010_proplus(ApplicationId=OFFICE13_APP, PartialProductKey=None, ProductKeyID=None,
                                 LicenseStatus=0, LicenseStatusReason=0xC004F014, GracePeriodRemaining=0)
    expected = crlf(HEAD + "<No installed product keys detected>\n" + SEP + FOOT)
    assert render_ospp(["/dstatus"], {}, [product], "10.0.19045", NOW, office_version="2019") == (0, expected)


def test_dstatusall_lists_unkeyed_licenses_without_beta_expiration() -> None:
    product = office2010_proplus(ApplicationId=OFFICE13_APP, PartialProductKey=None, ProductKeyID=None,
                                 ProductKeyID2=None, LicenseStatus=0, LicenseStatusReason=0, GracePeriodRemaining=0)
    expected = crlf(HEAD + """\
PRODUCT ID:\x20
SKU ID: 6f327760-8c5c-417c-9b61-836a98287e0c
LICENSE NAME: Office 14, OfficeProPlus-KMS_Client edition
LICENSE DESCRIPTION: Office 14, VOLUME_KMSCLIENT channel
LICENSE STATUS:  ---UNLICENSED---\x20
""" + SEP + "<No installed product keys detected>\n" + SEP + FOOT)
    assert render_ospp(["/dstatusall"], {}, [product], "10.0.19045", NOW, office_version="2021") == (0, expected)


@pytest.mark.parametrize(("cmid", "line"), [("6e7a3bcd-0f4b-4c0e-9b4e-1c2e3d4f5a6b",
                                             "Client Machine ID (CMID): 6e7a3bcd-0f4b-4c0e-9b4e-1c2e3d4f5a6b"),
                                            (None, "Client Machine ID (CMID): Not found.")])
def test_dcmid(cmid: str | None, line: str) -> None:
    result = render_ospp(["/dcmid"], {"ClientMachineID": cmid}, [], "10.0.19045", NOW)
    assert result == (0, crlf(HEAD + line + "\n" + FOOT))


def test_no_arguments_prints_nothing_and_unsupported_prints_frame_only() -> None:
    assert render_ospp([], {}, [], "10.0.19045", NOW) == (0, "")
    assert render_ospp(["/bogus"], {}, [], "10.0.19045", NOW) == (0, crlf(HEAD + FOOT))


@pytest.mark.parametrize("args", [["/act"], ["/inpkey:XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"], ["/sethst:kms01"],
                                  ["/unpkey:WFG99"], ["/dhistorykms"], ["/dstatus", "remotepc"]])
def test_state_changing_commands_are_not_simulated(args: list[str]) -> None:
    with pytest.raises(NotSimulated) as info:
        render_ospp(args, {}, [], "10.0.19045", NOW)
    assert "XQNVK" not in str(info.value)
