#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file holds documentation only: license_info runs entirely through its
# action plugin (plugins/action/license_info.py), which sends one batch to the
# winops.volume_activation.licensing_batch executor.

DOCUMENTATION = r"""
---
module: license_info
short_description: Report the volume licensing state of Windows and Office on a Windows host
version_added: 0.1.0
description:
  - Reads, in one WinRM round trip, the licensing products of a Windows host from the Software
    Protection Platform (C(SoftwareLicensingService), C(SoftwareLicensingProduct)) and, when installed,
    the Office Software Protection Platform (C(OfficeSoftwareProtectionService),
    C(OfficeSoftwareProtectionProduct)) used by Office 2010 and by Office 2013 and later on Windows 7.
  - For each product it returns the name, description, activation ID, application ID, channel,
    partial product key, license status as a name, remaining grace in minutes and as a date on the
    host's clock, KMS client details, KMS host details where the host role is enabled, rearm counts
    and an explanation of every non-zero status reason.
  - It also summarises the host, that is whether Windows is activated, whether each Office product
    is activated and whether the host is a KMS host.
  - By default only products with an installed product key are returned, as C(slmgr.vbs /dlv all)
    shows them.
  - Reads CIM properties, never the localized text of C(slmgr.vbs) or C(ospp.vbs), so the result is
    the same on a Japanese or an English Windows.
  - Never returns a full product key, only the last five characters that Windows stores.
options:
  activation_ids:
    description:
      - Only return the products with these activation IDs (the C(ID) of the licensing product,
        what C(slmgr.vbs /dlv <id>) takes), whether or not they have a product key.
      - Braces and case are ignored.
      - When empty, every product selected by O(application) and O(include_unlicensed) is returned.
    type: list
    elements: str
    default: []
    version_added: 0.1.0
  application:
    description:
      - Which products to read.
      - V(windows) reads the Windows products only and skips the Office Software Protection Platform.
      - V(office) reads the Office products, including Office KMS host licenses installed into Windows.
    type: str
    choices: [all, office, windows]
    default: all
    version_added: 0.1.0
  include_unlicensed:
    description:
      - Also return the products that have no product key installed (C(PartialProductKey) is NULL).
      - A Windows host has many such licenses, so this makes the result large.
      - Ignored when O(activation_ids) is given.
    type: bool
    default: false
    version_added: 0.1.0
  office_versions:
    description:
      - Only return the Office products of these versions. Windows products are not affected.
      - The version of a product is taken from its KMS host activation ID, from the Office 2010
        application ID, or from its name.
    type: list
    elements: str
    choices: ['2010', '2013', '2016', '2019', '2021', '2024']
    default: []
    version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - winops.volume_activation.attributes
attributes:
  check_mode:
    details: The module only reads, so check mode returns the same information.
  diff_mode:
    support: none
notes:
  - This module runs through its action plugin, which executes the collection's
    C(winops.volume_activation.licensing_batch) module on the target once.
  - On a host without the Office Software Protection Platform the OSPP classes do not exist
    (C(0x80041010) WBEM_E_INVALID_CLASS); this is reported as RV(summary.ospp_present=false), not as an error.
  - A KMS host's current count of V(-1) means that no client has contacted the host yet.
seealso:
  - name: KMS client activation and product keys
    description: Microsoft's list of KMS client setup keys (GVLKs).
    link: https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys
  - name: slmgr.vbs options for volume activation
    description: The script whose /dlv output this module returns as data.
    link: https://learn.microsoft.com/windows-server/get-started/activation-slmgr-vbs-options
  - module: ansible.windows.win_product_facts
    description: Windows product ID, edition and activation state as host facts, without the Office products, KMS details or status reasons this module reports.
author:
  - winops volume activation team (@winops)
"""

EXAMPLES = r"""
- name: Read the licensing state of every product with a key
  winops.volume_activation.license_info:
  register: licensing

- name: Fail when Windows is not activated
  ansible.builtin.assert:
    that: licensing.summary.windows_activated
    fail_msg: "Windows is {{ licensing.summary.windows_status }}"

- name: Show the current count of an Office 2016 KMS host
  winops.volume_activation.license_info:
    activation_ids:
      - 98ebfe73-2084-4c97-932c-c0cd1643bea7
  register: office_host

- name: Report Office 2010 products only
  winops.volume_activation.license_info:
    application: office
    office_versions: ['2010']
  register: office2010

- name: List the CMIDs of the fleet to find clones that share one
  ansible.builtin.debug:
    msg: "{{ licensing.service.cmid }}"
"""

RETURN = r"""
os:
  description: The operating system, from C(Win32_OperatingSystem) and the primary Windows product.
  returned: always
  version_added: 0.1.0
  type: dict
  contains:
    caption:
      description: The OS caption.
      type: str
      sample: Microsoft Windows Server 2022 Standard
    version:
      description: The OS version.
      type: str
      sample: 10.0.20348
    build_number:
      description: The OS build number.
      type: str
      sample: "20348"
    operating_system_sku:
      description: The C(OperatingSystemSKU) number.
      type: int
      sample: 7
    product_type:
      description: C(ProductType), 1 workstation, 2 domain controller, 3 server.
      type: int
      sample: 3
    edition:
      description: The edition from the name of the primary Windows product, null when none has a key.
      type: str
      sample: ServerStandard
    local_time:
      description: The host's clock when it was read, ISO 8601 with offset.
      type: str
      sample: "2026-11-28T15:00:00+00:00"
service:
  description: The Software Protection Platform service (C(SoftwareLicensingService)).
  returned: always
  version_added: 0.1.0
  type: dict
  contains:
    source:
      description: C(spp) for this service, C(ospp) for RV(ospp_service).
      type: str
      sample: spp
    version:
      description: The licensing service version.
      type: str
      sample: 10.0.20348.1
    cmid:
      description: The client machine ID (CMID) a KMS host counts; clones sharing one count once.
      type: str
      sample: 7c6d1a2b-0f2e-4a41-9e33-3a0a51e5e1c4
    remaining_windows_rearm_count:
      description: Rearms left for Windows.
      type: int
      sample: 1001
    kms_client:
      description: Service-level KMS client settings.
      type: dict
      contains:
        configured_host:
          description: The KMS host set with C(/skms), null when DNS discovery is used.
          type: str
          sample: kms01.corp.example.test
        configured_port:
          description: The port of the configured host (1688 when 0), null without a host.
          type: int
          sample: 1688
        lookup_domain:
          description: The DNS domain searched for C(_vlmcs._tcp) records (C(/skms-domain)).
          type: str
          sample: corp.example.test
        discovered_host:
          description: The last KMS host found through DNS.
          type: str
          sample: kms01.corp.example.test
        discovered_port:
          description: Its port.
          type: int
          sample: 1688
        activation_interval_minutes:
          description: Retry interval while not activated.
          type: int
          sample: 120
        renewal_interval_minutes:
          description: Renewal interval once activated.
          type: int
          sample: 10080
        host_caching:
          description: Whether the client caches the KMS host it last used.
          type: bool
          sample: true
        activation_type:
          description: Allowed volume activation types, C(all), C(ad), C(kms) or C(token).
          type: str
          sample: all
    is_kms_host:
      description: Whether the KMS host role is enabled in the service.
      type: bool
      sample: false
    kms_host:
      description: Service-level KMS host settings, null when the host role is not enabled.
      type: dict
      sample:
        current_count: 7
        required_count: 5
        listening_port: 1688
        dns_publishing: true
        low_priority: false
        host_caching: true
        requests: {total: 12, failed: 0, unlicensed: 0, licensed: 5, initial_grace: 7,
                   additional_grace: 0, non_genuine_grace: 0, notification: 0}
ospp_service:
  description:
    - The Office Software Protection Platform service, same shape as RV(service).
    - Null when OSPP is not installed or O(application=windows).
  returned: always
  version_added: 0.1.0
  type: dict
  sample:
    source: ospp
    version: 14.0.7015.1000
    cmid: 5e4b27ac-1a1b-4c5d-9e8f-0a1b2c3d4e5f
    remaining_windows_rearm_count: null
    is_kms_host: false
    kms_host: null
    kms_client: {configured_host: null, configured_port: null, lookup_domain: null,
                 discovered_host: kms01.corp.example.test, discovered_port: 1688,
                 activation_interval_minutes: 120, renewal_interval_minutes: 10080,
                 host_caching: true, activation_type: null}
products:
  description: The licensing products, SPP first then OSPP, in the order Windows lists them.
  returned: always
  version_added: 0.1.0
  type: list
  elements: dict
  contains:
    activation_id:
      description: The activation ID (C(ID)), lower case.
      type: str
      sample: de32eafd-aaee-4662-9444-c1befb41bde2
    application_id:
      description: The application ID, lower case.
      type: str
      sample: 55c92734-d682-4d71-983e-d6ec3f16059f
    name:
      description: The product name.
      type: str
      sample: Windows(R), ServerStandard edition
    description:
      description: The product description.
      type: str
      sample: Windows(R) Operating System, VOLUME_KMSCLIENT channel
    family:
      description: C(windows), C(office2010), C(office) (2013 and later) or C(other).
      type: str
      sample: windows
    office_version:
      description: The Office version, null for Windows or when it cannot be told.
      type: str
      sample: "2016"
    source:
      description: C(spp) or C(ospp), the platform that holds the product.
      type: str
      sample: spp
    channel:
      description:
        - C(kms_client), C(kms_host), C(mak), C(retail), C(oem), C(timebased), C(avma) or C(unknown).
        - From C(ProductKeyChannel) when Windows reports it, else from the description as slmgr.vbs classifies it.
      type: str
      sample: kms_client
    product_key_channel:
      description: C(ProductKeyChannel) as Windows reports it (Windows 8 and later), else null.
      type: str
      sample: Volume:GVLK
    partial_product_key:
      description: The last five characters of the installed key, null when no key is installed.
      type: str
      sample: 9VMD4
    masked_product_key:
      description: The installed key masked, null when no key is installed.
      type: str
      sample: XXXXX-XXXXX-XXXXX-XXXXX-VMK7H
    product_key_id:
      description: The extended product ID of the installed key.
      type: str
      sample: 03612-03858-000-000000-03-1033-20348.0000-3322026
    license_status:
      description: C(unlicensed), C(licensed), C(initial_grace), C(additional_grace), C(non_genuine_grace),
        C(notification), C(extended_grace) or C(unknown).
      type: str
      sample: licensed
    license_status_code:
      description: The C(LicenseStatus) number.
      type: int
      sample: 1
    license_status_reason:
      description: The explained C(LicenseStatusReason), null when it is 0.
      type: dict
      sample:
        code: 3221549065
        hex: "0xC004F009"
        symbol: SL_E_GRACE_TIME_EXPIRED
        explanation: the grace period expired, so the product is in notification mode
        remedy: activate the product
        message: "0xC004F009 (SL_E_GRACE_TIME_EXPIRED): the grace period expired, so the product is in notification mode"
        windows_message: null
    activated:
      description: Whether the product is licensed.
      type: bool
      sample: true
    grace_remaining_minutes:
      description: C(GracePeriodRemaining), minutes until the product becomes unlicensed; for a KMS client,
        minutes until its activation expires.
      type: int
      sample: 259200
    grace_expires:
      description: When the grace ends, on the host's clock (ISO 8601), null when there is none.
      type: str
      sample: "2027-05-27T15:00:00+00:00"
    evaluation_end_date:
      description: The evaluation end date, null when none.
      type: str
      sample: null
    is_addon:
      description: C(LicenseIsAddon).
      type: bool
      sample: false
    remaining_app_rearm_count:
      description: Rearms left for the application (Windows 8 and later).
      type: int
      sample: 1001
    remaining_sku_rearm_count:
      description: Rearms left for the SKU (Windows 8 and later).
      type: int
      sample: 1001
    kms_client:
      description: KMS client details for a KMS client product, else null.
      type: dict
      sample:
        configured_host: kms01.corp.example.test
        configured_port: 1688
        configured_at: service
        lookup_domain: null
        discovered_host: kms01.corp.example.test
        discovered_port: 1688
        discovered_ip: 127.0.10.10
        kms_host_pid: 06401-00206-551-012345-03-1033-20348.0000-3322026
        activation_interval_minutes: 120
        renewal_interval_minutes: 10080
        host_caching: true
        activation_type: all
    kms_host:
      description:
        - KMS host details when the product has the KMS host role enabled, else null.
        - C(current_count) is -1 when no client has contacted the host yet.
      type: dict
      sample:
        current_count: -1
        required_count: 5
        listening_port: 1688
        dns_publishing: true
        low_priority: false
        host_caching: true
        requests: {total: 0, failed: 0, unlicensed: 0, licensed: 0, initial_grace: 0,
                   additional_grace: 0, non_genuine_grace: 0, notification: 0}
    activated_by:
      description:
        - For an activated KMS client product, how it was activated - V(ad) from an Active Directory activation
          object (C(VLActivationType) 1), V(token), or V(kms); null for other products or when not activated.
        - Windows 7 and OSPP do not report C(VLActivationType); their KMS clients can only use KMS.
      type: str
      version_added: 0.1.0
      sample: ad
    ad_activation:
      description:
        - The Active Directory activation object of the product's last AD activation
          (C(ADActivationObjectName), C(ADActivationObjectDN), C(ADActivationCsvlkPid),
          C(ADActivationCsvlkSkuId), Windows 8 and later), null when it was not activated through AD.
      type: dict
      version_added: 0.1.0
      sample:
        object_name: WS2022
        object_dn: CN=WS2022,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test
        csvlk_pid: 55250-39901-032-486299-03-1033-20348.0000-1582026
        csvlk_sku_id: c3f4d37d-06d8-55cc-b2cb-06b854bed223
summary:
  description: The host at a glance.
  returned: always
  version_added: 0.1.0
  type: dict
  contains:
    windows_activated:
      description: Whether the primary Windows product is licensed, null when no Windows product has a key
        or O(application=office).
      type: bool
      sample: true
    windows_status:
      description: License status name of the primary Windows product.
      type: str
      sample: licensed
    windows_product:
      description: Name of the primary Windows product.
      type: str
      sample: Windows(R), ServerStandard edition
    office:
      description: Each Office product with a key (KMS host licenses excluded).
      type: list
      elements: dict
      sample:
        - {name: "Office 16, Office16ProPlusVL_KMS_Client edition", activation_id: d450596f-894d-49e0-966a-fd39ed4c4c64,
           version: "2016", channel: kms_client, license_status: licensed, activated: true, activated_by: ad}
    office_activated:
      description: Whether every Office product in RV(summary.office) is activated, null when there is none.
      type: bool
      sample: true
    kms_host:
      description: Whether any product with a key has the KMS host role enabled.
      type: bool
      sample: false
    kms_host_products:
      description: The products acting as KMS host, with their counts.
      type: list
      elements: dict
      sample:
        - {name: "Windows(R), ServerStandard edition", activation_id: 8de8eb62-bbe0-40ac-ac17-f75595071ea3,
           family: windows, office_version: null, activated: true, current_count: 7, required_count: 5}
    ospp_present:
      description: Whether the Office Software Protection Platform is installed, null when it was not queried.
      type: bool
      sample: false
    windows_activated_by:
      description: RV(products[].activated_by) of the primary Windows product.
      type: str
      version_added: 0.1.0
      sample: ad
    activated_by_ad:
      description: How many KMS client products with a key were activated through Active Directory.
      type: int
      version_added: 0.1.0
      sample: 2
    needs_kms_host:
      description:
        - How many KMS client products with a key were not activated through Active Directory, so still need a KMS
          host (Windows 7, Office 2010, Office under OSPP, computers outside the domain, or no activation object).
      type: int
      version_added: 0.1.0
      sample: 0
round_trips:
  description: How many times the licensing executor ran on the host (one for this module).
  returned: always
  version_added: 0.1.0
  type: int
  sample: 1
"""
