"""What ``cscript //nologo slmgr.vbs /dli | /dlv | /xpr`` prints on a simulated host.

A pure renderer: it takes the CIM property dicts a host would give
``slmgr.vbs`` (``SoftwareLicensingService``, ``SoftwareLicensingProduct`` in WMI
order, ``Win32_OperatingSystem``) and returns ``(exit code, text)`` with CRLF
line endings, exactly as the script builds it.

Sources. The line order, labels, indents and conditions follow the two
Microsoft-signed scripts cited as [SLMGR10] (Windows 8.1/10/Server 2016+;
``DisplayAllInformation``, ``DisplayKMSClientInformation``,
``DisplayKMSInformation``, ``ExpirationDatime``, ``DisplayUsage``) and
[SLMGR7] (Windows 7 / Server 2008 R2) in licensing-api.md §6.1. Which one a
host runs is chosen by its OS version: 6.1 -> SLMGR7, 6.2 and later -> SLMGR10.
The script collects lines with ``LineOut`` (text + CRLF) and prints them with
one ``WScript.Echo`` at exit, which adds one more CRLF: every non-empty output
therefore ends in an empty line.

Choices where the sources are silent (UNCONFIRMED in licensing-api.md):

* ja-JP labels. slmgr.vbs reads every ``L_*`` string from
  ``slmgr\\0411\\slmgr.ini`` on Japanese Windows [SLMGR10 LoadResourceData];
  only "説明" (Description) is confirmed. ``_JA`` below is the lab's own
  rendering of the full label set in the Japanese Windows style, not a copy
  of slmgr.ini. The usage text (shown for a bad option) stays English on
  ja-JP hosts: the script falls back to its English constants for any string
  missing from slmgr.ini, and the lab does not invent a Japanese help text.
* Dates. VBScript turns a Date into text with the system locale's short date
  and long time (en-US ``5/30/2027 9:00:00 AM``, ja-JP ``2027/05/30 9:00:00``)
  and drops the time when it is exactly midnight. The host clock is the lab
  clock; the lab renders it without a time-zone shift (hosts run on UTC).
* ``KeyManagementServiceCurrentCount`` of -1 is declared uint32; WMI hands
  uint32 to VBScript as a signed 32-bit Long, so 4294967295 prints as ``-1``.
* ``/dlv <unknown id>`` prints ``Error: product key not found.``: the script's
  ``DisplayAllInformation`` ends with ``L_MsgErrorPKey`` when nothing matched
  ([SLMGR10]); ``Error: product not found.`` is what ``/rearm-sku`` and the
  ``/ato``/``/dti`` family print for an unknown Activation ID.

Only the read-only switches are rendered. Any other switch slmgr.vbs knows
raises :class:`NotSimulated`; the dispatcher turns that into a lab message.
Remote use (``slmgr.vbs host user password /dlv``) is not simulated either.
"""

from __future__ import annotations

import datetime as dt
import math
import typing as t

WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"  # [SLMGR10] const WindowsAppId
DEFAULT_KMS_PORT = 1688  # [SLMGR10] DefaultPort
HR_SL_E_NOT_GENUINE = 0xC004F200  # [SLMGR10] HR_SL_E_NOT_GENUINE
HR_SL_E_GRACE_TIME_EXPIRED = 0xC004F009  # [SLMGR10] HR_SL_E_GRACE_TIME_EXPIRED
_UINT32 = 0x1_0000_0000
_ILVID_NONE = 0xFFFFFFFF  # [SLMGR10] IsTokenActivated: ILVID 0xFFFFFFFF = not token-activated

#: Switches slmgr.vbs knows that change state (or need more than the licensing
#: model: AD forest, token certificates). The lab renders none of them.
MUTATING_SWITCHES = frozenset({
    "ipk", "upk", "ato", "cpky", "ilc", "rilc", "dti", "atp", "rearm", "rearm-app", "rearm-sku",
    "skms", "ckms", "skms-domain", "ckms-domain", "skhc", "ckhc", "sai", "sri", "sprt", "sdns",
    "cdns", "spri", "cpri", "act-type", "lil", "ril", "ltc", "fta", "stao", "ctao",
    "ad-activation-online", "ad-activation-get-iid", "ad-activation-apply-cid", "ao-list", "del-ao",
})
#: The switches this renderer answers.
SIMULATED_SWITCHES = ("dli", "dlv", "xpr")


class NotSimulated(Exception):
    """The command is real, but the lab does not simulate it. ``str(exc)`` says which part."""


# --------------------------------------------------------------------------- strings

# English strings: the L_* constants of [SLMGR10] (identical in [SLMGR7] for those both have).
_EN: dict[str, str] = {
    "ServiceVersion": "Software licensing service version: ",
    "ProductName": "Name: ",
    "ProductDesc": "Description: ",
    "TkaInfoAdditionalInfo": "Additional Information: %MOREINFO%",
    "ActID": "Activation ID: ",
    "AppID": "Application ID: ",
    "PID4": "Extended PID: ",
    "Channel": "Product Key Channel: ",
    "InstallationID": "Installation ID: ",
    "ProcessorCertUrl": "Processor Certificate URL: ",
    "MachineCertUrl": "Machine Certificate URL: ",
    "UseLicenseCertUrl": "Use License URL: ",
    "PKeyCertUrl": "Product Key Certificate URL: ",
    "ValidationUrl": "Validation URL: ",
    "PartialPKey": "Partial Product Key: ",
    "ErrorLicenseNotInUse": "This license is not in use.",
    "LicenseStatusUnlicensed_1": "License Status: Unlicensed",
    "LicenseStatusLicensed_1": "License Status: Licensed",
    "LicenseStatusVL_1": "Volume activation expiration: %MINUTE% minute(s) (%DAY% day(s))",
    "LicenseStatusTBL_1": "Timebased activation expiration: %MINUTE% minute(s) (%DAY% day(s))",
    "LicenseStatusAVMA_1": "Automatic VM activation expiration: %MINUTE% minute(s) (%DAY% day(s))",
    "LicenseStatusInitialGrace_1": "License Status: Initial grace period",
    "LicenseStatusAdditionalGrace_1":
        "License Status: Additional grace period (KMS license expired or hardware out of tolerance)",
    "LicenseStatusNonGenuineGrace_1": "License Status: Non-genuine grace period.",
    "LicenseStatusNotification_1": "License Status: Notification",
    "LicenseStatusExtendedGrace_1": "License Status: Extended grace period",
    "LicenseStatusUnknown": "License Status: Unknown",
    "NotificationErrorReasonNonGenuine": "Notification Reason: 0x%ERRCODE% (non-genuine).",
    "NotificationErrorReasonExpiration": "Notification Reason: 0x%ERRCODE% (grace time expired).",
    "NotificationErrorReasonOther": "Notification Reason: 0x%ERRCODE%.",
    "LicenseStatusTimeRemaining": "Time remaining: %MINUTE% minute(s) (%DAY% day(s))",
    "LicenseStatusEvalEndData": "Evaluation End Date: ",
    "RemainingWindowsRearmCount": "Remaining Windows rearm count: %COUNT%",
    "RemainingSkuRearmCount": "Remaining SKU rearm count: %COUNT%",
    "RemainingAppRearmCount": "Remaining App rearm count: %COUNT%",
    "CurrentTrustedTime": "Trusted time: ",
    "VLActivationTypeAll": "Configured Activation Type: All",
    "VLActivationTypeAD": "Configured Activation Type: AD",
    "VLActivationTypeKMS": "Configured Activation Type: KMS",
    "VLActivationTypeToken": "Configured Activation Type: Token",
    "PleaseActivateRefreshKMSInfo":
        "Please use slmgr.vbs /ato to activate and update KMS client information in order to update values.",
    "VLMostRecentActivationInfo": "Most recent activation information:",
    "KmsInfo": "Key Management Service client information",
    "Cmid": "Client Machine ID (CMID): ",
    "KmsLookupDomain": "Registered KMS SRV record lookup domain: ",
    "RegisteredKmsName": "Registered KMS machine name: ",
    "KmsFromDnsUnavailable": "DNS auto-discovery: KMS name not available",
    "KmsFromDns": "KMS machine name from DNS: ",
    "KmsIpAddress": "KMS machine IP address: ",
    "KmsIpAddressUnavailable": "KMS machine IP address: not available",
    "KmsPID4": "KMS machine extended PID: ",
    "ActivationInterval": "Activation interval: %INTERVAL% minutes",
    "RenewalInterval": "Renewal interval: %INTERVAL% minutes",
    "KmsHostCachingEnabled": "KMS host caching is enabled",
    "KmsHostCachingDisabled": "KMS host caching is disabled",
    "KmsUseMachineNameOverrides":
        "Warning: /skms setting overrides the /skms-domain setting. %KMS% will be used for activation.",
    "KmsEnabled": "Key Management Service is enabled on this machine",
    "KmsCurrentCount": "Current count: ",
    "KmsListeningOnPort": "Listening on Port: ",
    "KmsDnsPublishingEnabled": "DNS publishing enabled",
    "KmsDnsPublishingDisabled": "DNS publishing disabled",
    "KmsPriNormal": "KMS priority: Normal",
    "KmsPriLow": "KMS priority: Low",
    "KmsCumulativeRequestsFromClients": "Key Management Service cumulative requests received from clients",
    "KmsTotalRequestsRecieved": "Total requests received: ",
    "KmsFailedRequestsReceived": "Failed requests received: ",
    "KmsRequestsWithStatusUnlicensed": "Requests with License Status Unlicensed: ",
    "KmsRequestsWithStatusLicensed": "Requests with License Status Licensed: ",
    "KmsRequestsWithStatusInitialGrace": "Requests with License Status Initial grace period: ",
    "KmsRequestsWithStatusLicenseExpiredOrHwidOot":
        "Requests with License Status License expired or Hardware out of tolerance: ",
    "KmsRequestsWithStatusNonGenuineGrace": "Requests with License Status Non-genuine grace period: ",
    "KmsRequestsWithStatusNotification": "Requests with License Status Notification: ",
    "ADInfo": "AD Activation client information",
    "ADInfoAOName": "Activation Object name: ",
    "ADInfoAODN": "AO DN: ",
    "ADInfoExtendedPid": "AO extended PID: ",
    "ADInfoActID": "AO activation ID: ",
    "TkaInfo": "Token-based Activation information",
    "TkaInfoILID": "License ID (ILID): %ILID%",
    "TkaInfoILVID": "Version ID (ILvID): %ILVID%",
    "TkaInfoGrantNo": "Grant Number: %GRANTNO%",
    "TkaInfoThumbprint": "Certificate Thumbprint: %THUMBPRINT%",
    "AVMAID": "Guest IAID: ",
    "AVMAInfo": "Automatic VM Activation client information",
    "AVMAHostMachineName": "Host machine name: ",
    "AVMALastActTime": "Activation time: ",
    "AVMAHostPid2": "Host Digital PID2: ",
    "NotAvailable": "Not Available",
    "ErrorPKey": "Error: product key not found.",
    "InvalidOptions": "Invalid combination of command parameters.",
    "UnrecognizedOption": "Unrecognized option: ",
    # /xpr
    "LicenseStatusUnlicensed": "Unlicensed",
    "LicenseStatusVL": "Volume activation will expire %ENDDATE%",
    "LicenseStatusTBL": "Timebased activation will expire %ENDDATE%",
    "LicenseStatusAVMA": "Automatic VM activation will expire %ENDDATE%",
    "LicenseStatusLicensed": "The machine is permanently activated.",
    "LicenseStatusInitialGrace": "Initial grace period ends %ENDDATE%",
    "LicenseStatusAdditionalGrace": "Additional grace period ends %ENDDATE%",
    "LicenseStatusNonGenuineGrace": "Non-genuine grace period ends %ENDDATE%",
    "LicenseStatusNotification": "Windows is in Notification mode",
    "LicenseStatusExtendedGrace": "Extended grace period ends %ENDDATE%",
}

# ja-JP: the lab's own Japanese rendering of the label set above, in the style
# of Japanese Windows. NOT a copy of slmgr\0411\slmgr.ini (not available to the
# project; licensing-api.md §6.3 marks the set UNCONFIRMED). Only "説明" is
# confirmed (news.mynavi.jp win10tips-340). Values (IDs, numbers, names) are
# never translated, as slmgr only substitutes %...% placeholders.
_JA: dict[str, str] = {
    "ServiceVersion": "ソフトウェア ライセンス サービスのバージョン: ",
    "ProductName": "名前: ",
    "ProductDesc": "説明: ",
    "TkaInfoAdditionalInfo": "追加情報: %MOREINFO%",
    "ActID": "ライセンス認証 ID: ",
    "AppID": "アプリケーション ID: ",
    "PID4": "拡張 PID: ",
    "Channel": "プロダクト キー チャネル: ",
    "InstallationID": "インストール ID: ",
    "ProcessorCertUrl": "プロセッサ証明書の URL: ",
    "MachineCertUrl": "コンピューター証明書の URL: ",
    "UseLicenseCertUrl": "使用ライセンスの URL: ",
    "PKeyCertUrl": "プロダクト キー証明書の URL: ",
    "ValidationUrl": "検証の URL: ",
    "PartialPKey": "プロダクト キーの一部: ",
    "ErrorLicenseNotInUse": "このライセンスは使用されていません。",
    "LicenseStatusUnlicensed_1": "ライセンスの状態: ライセンスされていません",
    "LicenseStatusLicensed_1": "ライセンスの状態: ライセンスされています",
    "LicenseStatusVL_1": "ボリューム ライセンス認証の有効期限: %MINUTE% 分 (%DAY% 日)",
    "LicenseStatusTBL_1": "期間ベースのライセンス認証の有効期限: %MINUTE% 分 (%DAY% 日)",
    "LicenseStatusAVMA_1": "仮想マシンの自動ライセンス認証の有効期限: %MINUTE% 分 (%DAY% 日)",
    "LicenseStatusInitialGrace_1": "ライセンスの状態: 初期猶予期間",
    "LicenseStatusAdditionalGrace_1":
        "ライセンスの状態: 追加の猶予期間 (KMS ライセンスの有効期限切れ、またはハードウェアが許容範囲外)",
    "LicenseStatusNonGenuineGrace_1": "ライセンスの状態: 非正規の猶予期間。",
    "LicenseStatusNotification_1": "ライセンスの状態: 通知",
    "LicenseStatusExtendedGrace_1": "ライセンスの状態: 延長された猶予期間",
    "LicenseStatusUnknown": "ライセンスの状態: 不明",
    "NotificationErrorReasonNonGenuine": "通知の理由: 0x%ERRCODE% (非正規)。",
    "NotificationErrorReasonExpiration": "通知の理由: 0x%ERRCODE% (猶予期間の期限切れ)。",
    "NotificationErrorReasonOther": "通知の理由: 0x%ERRCODE%。",
    "LicenseStatusTimeRemaining": "残り時間: %MINUTE% 分 (%DAY% 日)",
    "LicenseStatusEvalEndData": "評価期間の終了日: ",
    "RemainingWindowsRearmCount": "Windows の残りの再設定 (rearm) 回数: %COUNT%",
    "RemainingSkuRearmCount": "SKU の残りの再設定 (rearm) 回数: %COUNT%",
    "RemainingAppRearmCount": "アプリケーションの残りの再設定 (rearm) 回数: %COUNT%",
    "CurrentTrustedTime": "信頼された時刻: ",
    "VLActivationTypeAll": "構成されているライセンス認証の種類: すべて",
    "VLActivationTypeAD": "構成されているライセンス認証の種類: AD",
    "VLActivationTypeKMS": "構成されているライセンス認証の種類: KMS",
    "VLActivationTypeToken": "構成されているライセンス認証の種類: トークン",
    "PleaseActivateRefreshKMSInfo":
        "値を更新するには、slmgr.vbs /ato を使用してライセンス認証を行い、KMS クライアント情報を更新してください。",
    "VLMostRecentActivationInfo": "最新のライセンス認証の情報:",
    "KmsInfo": "キー管理サービスのクライアント情報",
    "Cmid": "クライアント コンピューター ID (CMID): ",
    "KmsLookupDomain": "登録されている KMS SRV レコードの検索ドメイン: ",
    "RegisteredKmsName": "登録されている KMS コンピューター名: ",
    "KmsFromDnsUnavailable": "DNS 自動検出: KMS 名を使用できません",
    "KmsFromDns": "DNS から取得した KMS コンピューター名: ",
    "KmsIpAddress": "KMS コンピューターの IP アドレス: ",
    "KmsIpAddressUnavailable": "KMS コンピューターの IP アドレス: 使用できません",
    "KmsPID4": "KMS コンピューターの拡張 PID: ",
    "ActivationInterval": "ライセンス認証の間隔: %INTERVAL% 分",
    "RenewalInterval": "更新の間隔: %INTERVAL% 分",
    "KmsHostCachingEnabled": "KMS ホストのキャッシュは有効です",
    "KmsHostCachingDisabled": "KMS ホストのキャッシュは無効です",
    "KmsUseMachineNameOverrides":
        "警告: /skms の設定は /skms-domain の設定より優先されます。ライセンス認証には %KMS% が使用されます。",
    "KmsEnabled": "このコンピューターではキー管理サービスが有効です",
    "KmsCurrentCount": "現在のカウント: ",
    "KmsListeningOnPort": "待ち受けポート: ",
    "KmsDnsPublishingEnabled": "DNS 発行は有効です",
    "KmsDnsPublishingDisabled": "DNS 発行は無効です",
    "KmsPriNormal": "KMS の優先度: 標準",
    "KmsPriLow": "KMS の優先度: 低",
    "KmsCumulativeRequestsFromClients": "クライアントから受信したキー管理サービスの累積要求数",
    "KmsTotalRequestsRecieved": "受信した要求の合計: ",
    "KmsFailedRequestsReceived": "受信した失敗要求: ",
    "KmsRequestsWithStatusUnlicensed": "ライセンスの状態が「ライセンスされていません」の要求: ",
    "KmsRequestsWithStatusLicensed": "ライセンスの状態が「ライセンスされています」の要求: ",
    "KmsRequestsWithStatusInitialGrace": "ライセンスの状態が「初期猶予期間」の要求: ",
    "KmsRequestsWithStatusLicenseExpiredOrHwidOot":
        "ライセンスの状態が「ライセンスの有効期限切れ、またはハードウェアが許容範囲外」の要求: ",
    "KmsRequestsWithStatusNonGenuineGrace": "ライセンスの状態が「非正規の猶予期間」の要求: ",
    "KmsRequestsWithStatusNotification": "ライセンスの状態が「通知」の要求: ",
    "ADInfo": "AD ライセンス認証のクライアント情報",
    "ADInfoAOName": "ライセンス認証オブジェクト名: ",
    "ADInfoAODN": "AO の DN: ",
    "ADInfoExtendedPid": "AO の拡張 PID: ",
    "ADInfoActID": "AO のライセンス認証 ID: ",
    "TkaInfo": "トークン ベースのライセンス認証の情報",
    "TkaInfoILID": "ライセンス ID (ILID): %ILID%",
    "TkaInfoILVID": "バージョン ID (ILvID): %ILVID%",
    "TkaInfoGrantNo": "付与番号: %GRANTNO%",
    "TkaInfoThumbprint": "証明書の拇印: %THUMBPRINT%",
    "AVMAID": "ゲストの IAID: ",
    "AVMAInfo": "仮想マシンの自動ライセンス認証のクライアント情報",
    "AVMAHostMachineName": "ホスト コンピューター名: ",
    "AVMALastActTime": "ライセンス認証の時刻: ",
    "AVMAHostPid2": "ホストのデジタル PID2: ",
    "NotAvailable": "使用できません",
    "ErrorPKey": "エラー: プロダクト キーが見つかりません。",
    "InvalidOptions": "コマンド パラメーターの組み合わせが無効です。",
    "UnrecognizedOption": "認識されないオプションです: ",
    "LicenseStatusUnlicensed": "ライセンスされていません",
    "LicenseStatusVL": "ボリューム ライセンス認証の有効期限: %ENDDATE%",
    "LicenseStatusTBL": "期間ベースのライセンス認証の有効期限: %ENDDATE%",
    "LicenseStatusAVMA": "仮想マシンの自動ライセンス認証の有効期限: %ENDDATE%",
    "LicenseStatusLicensed": "このコンピューターは永続的にライセンス認証されています。",
    "LicenseStatusInitialGrace": "初期猶予期間の終了日時: %ENDDATE%",
    "LicenseStatusAdditionalGrace": "追加の猶予期間の終了日時: %ENDDATE%",
    "LicenseStatusNonGenuineGrace": "非正規の猶予期間の終了日時: %ENDDATE%",
    "LicenseStatusNotification": "Windows は通知モードです",
    "LicenseStatusExtendedGrace": "延長された猶予期間の終了日時: %ENDDATE%",
}

LABELS: dict[str, dict[str, str]] = {"en-US": _EN, "ja-JP": _JA}

# Usage text ([SLMGR10] / [SLMGR7] DisplayUsage). Each entry is (option, params, usage);
# None is an empty line (LineOut "" or LineFlush "", which print the same on a console).
_UsageRow = tuple[str, str, str] | str | None
_USAGE_HEAD = [
    "Windows Software Licensing Management Tool",
    "Usage: slmgr.vbs [MachineName [User Password]] [<Option>]",
    "           MachineName: Name of remote machine (default is local machine)",
    "           User:        Account with required privilege on remote machine",
    "           Password:    password for the previous account",
    "",
]
_ACT_OPT = "[Activation ID]"
_USAGE10: list[_UsageRow] = [
    "Global Options:",
    ("ipk", "<Product Key>", "Install product key (replaces existing key)"),
    ("ato", _ACT_OPT, "Activate Windows"),
    ("dli", "[Activation ID | All]", "Display license information (default: current license)"),
    ("dlv", "[Activation ID | All]", "Display detailed license information (default: current license)"),
    ("xpr", _ACT_OPT, "Expiration date for current license state"),
    None,
    "Advanced Options:",
    ("cpky", "", "Clear product key from the registry (prevents disclosure attacks)"),
    ("ilc", "<License file>", "Install license"),
    ("rilc", "", "Re-install system license files"),
    ("rearm", "", "Reset the licensing status of the machine"),
    ("rearm-app", "<Application ID>", "Reset the licensing status of the given app"),
    ("rearm-sku", "<Activation ID>", "Reset the licensing status of the given sku"),
    ("upk", _ACT_OPT, "Uninstall product key"),
    None,
    ("dti", _ACT_OPT, "Display Installation ID for offline activation"),
    ("atp", "<Confirmation ID> " + _ACT_OPT, "Activate product with user-provided Confirmation ID"),
    None,
    "Volume Licensing: Key Management Service (KMS) Client Options:",
    ("skms", "<Name[:Port] | : port> " + _ACT_OPT,
     "Set the name and/or the port for the KMS computer this machine will use. IPv6 address must be "
     "specified in the format [hostname]:port"),
    ("ckms", _ACT_OPT, "Clear name of KMS computer used (sets the port to the default)"),
    ("skms-domain", "<FQDN> " + _ACT_OPT,
     "Set the specific DNS domain in which all KMS SRV records can be found. This setting has no effect "
     "if the specific single KMS host is set via /skms option."),
    ("ckms-domain", _ACT_OPT,
     "Clear the specific DNS domain in which all KMS SRV records can be found. The specific KMS host will "
     "be used if set via /skms. Otherwise default KMS auto-discovery will be used."),
    ("skhc", "", "Enable KMS host caching"),
    ("ckhc", "", "Disable KMS host caching"),
    None,
    "Volume Licensing: Token-based Activation Options:",
    ("lil", "", "List installed Token-based Activation Issuance Licenses"),
    ("ril", "<ILID> <ILvID>", "Remove installed Token-based Activation Issuance License"),
    ("ltc", "", "List Token-based Activation Certificates"),
    ("fta", "<Certificate Thumbprint> [<PIN>]", "Force Token-based Activation"),
    None,
    "Volume Licensing: Key Management Service (KMS) Options:",
    ("sprt", "<Port>", "Set TCP port KMS will use to communicate with clients"),
    ("sai", "<Activation Interval>",
     "Set interval (minutes) for unactivated clients to attempt KMS connection. The activation interval "
     "must be between 15 minutes (min) and 30 days (max) although the default (2 hours) is recommended."),
    ("sri", "<Renewal Interval>",
     "Set renewal interval (minutes) for activated clients to attempt KMS connection. The renewal interval "
     "must be between 15 minutes (min) and 30 days (max) although the default (7 days) is recommended."),
    ("sdns", "", "Enable DNS publishing by KMS (default)"),
    ("cdns", "", "Disable DNS publishing by KMS"),
    ("spri", "", "Set KMS priority to normal (default)"),
    ("cpri", "", "Set KMS priority to low"),
    ("act-type", "[Activation-Type] " + _ACT_OPT,
     "Set activation type to 1 (for AD) or 2 (for KMS) or 3 (for Token) or 0 (for all)."),
    None,
    "Volume Licensing: Active Directory (AD) Activation Options:",
    ("ad-activation-online", "<Product Key> [Activation Object name]",
     "Activate AD (Active Directory) forest with user-provided product key"),
    ("ad-activation-get-iid", "<Product Key>", "Display Installation ID for AD (Active Directory) forest"),
    ("ad-activation-apply-cid", "<Product Key> <Confirmation ID> [Activation Object name]",
     "Activate AD (Active Directory) forest with user-provided product key and Confirmation ID"),
    ("ao-list", "", "Display Activation Objects in AD (Active Directory)"),
    ("del-ao", "<Activation Object DN | Activation Object RDN>",
     "Delete Activation Objects in AD (Active Directory) for user-provided Activation Object"),
]
_USAGE7: list[_UsageRow] = [
    "Global Options:",
    ("ipk", "<Product Key>", "Install product key (replaces existing key)"),
    ("ato", _ACT_OPT, "Activate Windows"),
    ("dli", "[Activation ID | All]", "Display license information (default: current license)"),
    ("dlv", "[Activation ID | All]", "Display detailed license information (default: current license)"),
    ("xpr", _ACT_OPT, "Expiration date for current license state"),
    None,
    "Advanced Options:",
    ("cpky", "", "Clear product key from the registry (prevents disclosure attacks)"),
    ("ilc", "<License file>", "Install license"),
    ("rilc", "", "Re-install system license files"),
    ("rearm", "", "Reset the licensing status of the machine"),
    ("upk", _ACT_OPT, "Uninstall product key"),
    None,
    ("dti", _ACT_OPT, "Display Installation ID for offline activation"),
    ("atp", "<Confirmation ID> " + _ACT_OPT, "Activate product with user-provided Confirmation ID"),
    None,
    "Volume Licensing: Key Management Service (KMS) Client Options:",
    # [SLMGR7] L_ParamsSetKms already ends in "[Activation ID]" and OptLine2 appends it again.
    ("skms", "<Name[:Port] | : port> [Activation ID] " + _ACT_OPT,
     "Set the name and/or the port for the KMS computer this machine will use. IPv6 address must be "
     "specified in the format [hostname]:port"),
    ("ckms", _ACT_OPT, "Clear name of KMS computer used (sets the port to the default)"),
    ("skhc", "", "Enable KMS host caching"),
    ("ckhc", "", "Disable KMS host caching"),
    None,
    "Volume Licensing: Token-based Activation Options:",
    ("lil", "", "List installed Token-based Activation Issuance Licenses"),
    ("ril", "<ILID> <ILvID>", "Remove installed Token-based Activation Issuance License"),
    ("ctao", "", "Clear Token-based Activation Only flag (default)"),
    ("stao", "", "Set Token-based Activation Only flag"),
    ("ltc", "", "List Token-based Activation Certificates"),
    ("fta", "<Certificate Thumbprint> [<PIN>]", "Force Token-based Activation"),
    None,
    "Volume Licensing: Key Management Service (KMS) Options:",
    ("sprt", "<Port>", "Set TCP port KMS will use to communicate with clients"),
    ("sai", "<Activation Interval>",
     "Set interval (minutes) for unactivated clients to attempt KMS connection. The activation interval "
     "must be between 15 minutes (min) and 30 days (max) although the default (2 hours) is recommended."),
    ("sri", "<Renewal Interval>",
     "Set renewal interval (minutes) for activated clients to attempt KMS connection. The renewal interval "
     "must be between 15 minutes (min) and 30 days (max) although the default (7 days) is recommended."),
    ("sdns", "", "Enable DNS publishing by KMS (default)"),
    ("cdns", "", "Disable DNS publishing by KMS"),
    ("spri", "", "Set KMS priority to normal (default)"),
    ("cpri", "", "Set KMS priority to low"),
]


# --------------------------------------------------------------------------- helpers shared with ospp.py

def version_tuple(version: str | None) -> tuple[int, int]:
    """``"6.1.7601"`` -> ``(6, 1)``; anything unparsable counts as a current Windows (10, 0)."""
    parts = str(version or "").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return 10, 0


def vbs_str(value: t.Any) -> str:
    """A CIM value concatenated to a VBScript string: NULL -> "", booleans as True/False."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def vbs_long(value: t.Any) -> t.Any:
    """A uint32 CIM value as VBScript sees it (a signed 32-bit Long); NULL stays None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return value
    return value - _UINT32 if value >= 0x8000_0000 else value


def vbs_hex(value: t.Any) -> str:
    """VBScript ``Hex()`` of a uint32 CIM value: upper case, no leading zeros."""
    if value is None:
        return ""
    return f"{int(value) % _UINT32:X}"


def cim_datetime(value: t.Any) -> dt.datetime | None:
    """A CIM datetime (datetime, ISO 8601 text or DMTF ``yyyymmddHHMMSS.ffffff+UUU``) or None.

    The year 1601 (FILETIME 0) means "not set", as WMI reports it, and gives None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        when = value
    else:
        text = str(value)
        if len(text) >= 14 and text[:14].isdigit():
            when = dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S")
        else:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.year <= 1601:
        return None
    return when.replace(tzinfo=None, microsecond=0)


def vbs_date(when: dt.datetime, locale: str) -> str:
    """``CStr(date)`` as VBScript prints it under the host's locale (see module docstring)."""
    when = when.replace(tzinfo=None, microsecond=0)
    midnight = when.hour == 0 and when.minute == 0 and when.second == 0
    if locale == "ja-JP":
        date = f"{when.year:04d}/{when.month:02d}/{when.day:02d}"
        return date if midnight else f"{date} {when.hour}:{when.minute:02d}:{when.second:02d}"
    date = f"{when.month}/{when.day}/{when.year}"
    if midnight:
        return date
    hour12 = when.hour % 12 or 12
    ampm = "AM" if when.hour < 12 else "PM"
    return f"{date} {hour12}:{when.minute:02d}:{when.second:02d} {ampm}"


def echo_text(lines: list[str]) -> str:
    """What ``LineOut`` x N then ``ExitScript`` (one ``WScript.Echo``) prints: CRLF lines plus one CRLF."""
    if not lines:
        return ""
    return "".join(line + "\r\n" for line in lines) + "\r\n"


# --------------------------------------------------------------------------- renderer

class _Slmgr:
    """One slmgr.vbs run against fixed CIM data; ``lines`` collects LineOut."""

    def __init__(self, service: dict[str, t.Any], products: list[dict[str, t.Any]],
                 os_info: dict[str, t.Any], locale: str, now: dt.datetime) -> None:
        self.service = service
        self.products = products
        self.win7 = version_tuple(os_info.get("Version")) <= (6, 1)
        self.locale = locale if locale in LABELS else "en-US"
        self.labels = LABELS[self.locale]
        self.now = now.replace(tzinfo=None, microsecond=0)
        self.lines: list[str] = []

    def L(self, key: str, **subst: t.Any) -> str:  # named after slmgr's GetResource("L_Msg...")
        text = self.labels[key]
        for name, value in subst.items():
            text = text.replace(f"%{name}%", vbs_str(value))
        return text

    def out(self, line: str = "") -> None:
        self.lines.append(line)

    def days(self, minutes: int) -> int:
        # [SLMGR10] GetDaysFromMins rounds up; [SLMGR7] uses Int(min / 1440), i.e. down.
        return minutes // 1440 if self.win7 else math.ceil(minutes / 1440)

    # ---- classification ([SLMGR10] IsKmsClient / IsKmsServer / IsTBL / IsAVMA)
    @staticmethod
    def is_kms_client(desc: str) -> bool:
        return "VOLUME_KMSCLIENT" in desc

    def is_kms_server(self, desc: str) -> bool:
        return not self.is_kms_client(desc) and "VOLUME_KMS" in desc

    @staticmethod
    def is_primary_windows_sku(p: dict[str, t.Any]) -> bool:
        # [SLMGR10] GetIsPrimaryWindowsSKU: Windows AppID, a key, LicenseIsAddon false.
        return (vbs_str(p.get("ApplicationID", p.get("ApplicationId"))).lower() == WINDOWS_APP_ID
                and vbs_str(p.get("PartialProductKey")) != ""
                and not p.get("LicenseIsAddon"))

    # ---- /dli, /dlv
    def display_all(self, parm: str, verbose: bool) -> None:
        parm = parm.lower()
        if verbose:
            self.out(self.L("ServiceVersion") + vbs_str(self.service.get("Version")))
        found = False
        for p in self.products:
            act_id = vbs_str(p.get("ID"))
            primary = self.is_primary_windows_sku(p)
            show = (parm == "" and primary) or parm == "all" or parm == act_id.lower()
            if parm == "" and p.get("LicenseIsAddon") and vbs_str(p.get("PartialProductKey")) != "":
                show = True
            if not show:
                continue
            found = True
            self.product_block(p, primary, verbose)
            if parm not in ("", "all") and parm == act_id.lower():
                break
            self.out()
        if not found:
            self.out(self.L("ErrorPKey"))

    def product_block(self, p: dict[str, t.Any], primary: bool, verbose: bool) -> None:
        desc = vbs_str(p.get("Description"))
        kms_server = self.is_kms_server(desc)
        kms_client = self.is_kms_client(desc)
        tbl = "TIMEBASED_" in desc
        avma = not self.win7 and "VIRTUAL_MACHINE_ACTIVATION" in desc
        self.out()
        self.out(self.L("ProductName") + vbs_str(p.get("Name")))
        self.out(self.L("ProductDesc") + desc)
        if vbs_str(p.get("TokenActivationAdditionalInfo")) != "":
            self.out(self.L("TkaInfoAdditionalInfo", MOREINFO=p.get("TokenActivationAdditionalInfo")))
        if verbose:
            self.out(self.L("ActID") + vbs_str(p.get("ID")))
            self.out(self.L("AppID") + vbs_str(p.get("ApplicationID", p.get("ApplicationId"))))
            self.out(self.L("PID4") + vbs_str(p.get("ProductKeyID")))
            if not self.win7:
                self.out(self.L("Channel") + vbs_str(p.get("ProductKeyChannel")))
            self.out(self.L("InstallationID") + vbs_str(p.get("OfflineInstallationId")))
            if self.win7 and not kms_client:
                # [SLMGR7] prints the four URLs unconditionally (even empty), no Validation URL.
                for key, prop in (("ProcessorCertUrl", "ProcessorURL"), ("MachineCertUrl", "MachineURL"),
                                  ("UseLicenseCertUrl", "UseLicenseURL"), ("PKeyCertUrl", "ProductKeyURL")):
                    self.out(self.L(key) + vbs_str(p.get(prop)))
            elif not self.win7 and not kms_client and not avma:
                for key, prop in (("ProcessorCertUrl", "ProcessorURL"), ("MachineCertUrl", "MachineURL"),
                                  ("UseLicenseCertUrl", "UseLicenseURL"), ("PKeyCertUrl", "ProductKeyURL"),
                                  ("ValidationUrl", "ValidationURL")):
                    if vbs_str(p.get(prop)) != "":
                        self.out(self.L(key) + vbs_str(p.get(prop)))
        ppk = vbs_str(p.get("PartialProductKey"))
        self.out(self.L("PartialPKey") + ppk if ppk else self.L("ErrorLicenseNotInUse"))

        ls = p.get("LicenseStatus")
        grace = int(p.get("GracePeriodRemaining") or 0)
        if ls == 0:
            self.out(self.L("LicenseStatusUnlicensed_1"))
        elif ls == 1:
            self.out(self.L("LicenseStatusLicensed_1"))
            if grace != 0:
                key = "LicenseStatusTBL_1" if tbl else "LicenseStatusAVMA_1" if avma else "LicenseStatusVL_1"
                self.out(self.L(key, MINUTE=grace, DAY=self.days(grace)))
        elif ls in (2, 3, 4, 6):
            key = {2: "LicenseStatusInitialGrace_1", 3: "LicenseStatusAdditionalGrace_1",
                   4: "LicenseStatusNonGenuineGrace_1", 6: "LicenseStatusExtendedGrace_1"}[ls]
            self.out(self.L(key))
            self.out(self.L("LicenseStatusTimeRemaining", MINUTE=grace, DAY=self.days(grace)))
        elif ls == 5:
            self.out(self.L("LicenseStatusNotification_1"))
            reason = p.get("LicenseStatusReason")
            reason_u = int(reason) % _UINT32 if reason is not None else None
            key = ("NotificationErrorReasonNonGenuine" if reason_u == HR_SL_E_NOT_GENUINE
                   else "NotificationErrorReasonExpiration" if reason_u == HR_SL_E_GRACE_TIME_EXPIRED
                   else "NotificationErrorReasonOther")
            self.out(self.L(key, ERRCODE=vbs_hex(reason)))
        else:
            self.out(self.L("LicenseStatusUnknown"))

        if ls != 0 and verbose:
            end = cim_datetime(p.get("EvaluationEndDate"))
            if end is not None:
                self.out(self.L("LicenseStatusEvalEndData") + vbs_date(end, self.locale))
        if verbose:
            app = vbs_str(p.get("ApplicationID", p.get("ApplicationId"))).lower()
            if self.win7 or app == WINDOWS_APP_ID:
                self.out(self.L("RemainingWindowsRearmCount",
                                COUNT=self.service.get("RemainingWindowsReArmCount")))
            else:
                self.out(self.L("RemainingAppRearmCount", COUNT=p.get("RemainingAppReArmCount")))
            if not self.win7:
                self.out(self.L("RemainingSkuRearmCount", COUNT=p.get("RemainingSkuReArmCount")))
            trusted = cim_datetime(p.get("TrustedTime"))
            if trusted is not None:
                self.out(self.L("CurrentTrustedTime") + vbs_date(trusted, self.locale))

        if kms_client:
            if not self.win7:
                self.out(self.L({1: "VLActivationTypeAD", 2: "VLActivationTypeKMS", 3: "VLActivationTypeToken"}
                                .get(p.get("VLActivationTypeEnabled") or 0, "VLActivationTypeAll")))
            if not self.win7 and p.get("VLActivationType") == 1:
                self.ad_client_info(p)
            elif self.token_activated(p):
                self.token_client_info(p)
            elif ls != 1:
                self.out(self.L("PleaseActivateRefreshKMSInfo"))
            else:
                self.kms_client_info(p)
        if kms_server or primary:
            self.kms_info(p)
        if avma:
            iaid = vbs_str(p.get("IAID"))
            self.out(self.L("AVMAID") + (iaid or self.L("NotAvailable")))
            self.avma_client_info(p)

    @staticmethod
    def token_activated(p: dict[str, t.Any]) -> bool:
        ilvid = p.get("TokenActivationILVID")
        return ilvid is not None and int(ilvid) % _UINT32 != _ILVID_NONE

    def ad_client_info(self, p: dict[str, t.Any]) -> None:
        self.out()
        self.out(self.L("VLMostRecentActivationInfo"))
        self.out(self.L("ADInfo"))
        self.out("    " + self.L("ADInfoAOName") + vbs_str(p.get("ADActivationObjectName")))
        self.out("    " + self.L("ADInfoAODN") + vbs_str(p.get("ADActivationObjectDN")))
        self.out("    " + self.L("ADInfoExtendedPid") + vbs_str(p.get("ADActivationCsvlkPid")))
        self.out("    " + self.L("ADInfoActID") + vbs_str(p.get("ADActivationCsvlkSkuId")))

    def token_client_info(self, p: dict[str, t.Any]) -> None:
        self.out()
        if not self.win7:
            self.out(self.L("VLMostRecentActivationInfo"))
        self.out(self.L("TkaInfo"))
        self.out("    " + self.L("TkaInfoILID", ILID=p.get("TokenActivationILID")))
        self.out("    " + self.L("TkaInfoILVID", ILVID=p.get("TokenActivationILVID")))
        self.out("    " + self.L("TkaInfoGrantNo", GRANTNO=p.get("TokenActivationGrantNumber")))
        self.out("    " + self.L("TkaInfoThumbprint", THUMBPRINT=p.get("TokenActivationCertificateThumbprint")))

    def kms_client_info(self, p: dict[str, t.Any]) -> None:
        self.out()
        if not self.win7:
            self.out(self.L("VLMostRecentActivationInfo"))
        self.out(self.L("KmsInfo"))
        self.out("    " + self.L("Cmid") + vbs_str(self.service.get("ClientMachineID")))
        lookup = "" if self.win7 else vbs_str(p.get("KeyManagementServiceLookupDomain"))
        if lookup:
            self.out("    " + self.L("KmsLookupDomain") + lookup)
        kms = vbs_str(p.get("KeyManagementServiceMachine"))
        port: t.Any
        if kms:
            port = p.get("KeyManagementServicePort")
            if port == 0:
                port = DEFAULT_KMS_PORT
            self.out("    " + self.L("RegisteredKmsName") + f"{kms}:{vbs_str(port)}")
        else:
            name = vbs_str(p.get("DiscoveredKeyManagementServiceMachineName"))
            dport = p.get("DiscoveredKeyManagementServiceMachinePort")
            if not name or not dport:
                self.out("    " + self.L("KmsFromDnsUnavailable"))
            else:
                self.out("    " + self.L("KmsFromDns") + f"{name}:{dport}")
        if not self.win7:
            ip = vbs_str(p.get("DiscoveredKeyManagementServiceMachineIpAddress"))
            self.out("    " + (self.L("KmsIpAddress") + ip if ip else self.L("KmsIpAddressUnavailable")))
        self.out("    " + self.L("KmsPID4") + vbs_str(p.get("KeyManagementServiceProductKeyID")))
        self.out("    " + self.L("ActivationInterval", INTERVAL=p.get("VLActivationInterval")))
        self.out("    " + self.L("RenewalInterval", INTERVAL=p.get("VLRenewalInterval")))
        caching = self.service.get("KeyManagementServiceHostCaching") is True
        self.out("    " + self.L("KmsHostCachingEnabled" if caching else "KmsHostCachingDisabled"))
        if lookup and kms:
            self.out()
            self.out(self.L("KmsUseMachineNameOverrides", KMS=f"{kms}:{vbs_str(port)}"))

    def kms_info(self, p: dict[str, t.Any]) -> None:
        # [SLMGR10] DisplayKMSInformation: counts come from the Product, settings from the Service.
        if not (p.get("IsKeyManagementServiceMachine") or 0) > 0:
            return
        s = self.service
        self.out()
        self.out(self.L("KmsEnabled"))
        self.out("    " + self.L("KmsCurrentCount") + vbs_str(vbs_long(p.get("KeyManagementServiceCurrentCount"))))
        port = s.get("KeyManagementServiceListeningPort")
        self.out("    " + self.L("KmsListeningOnPort") + vbs_str(DEFAULT_KMS_PORT if port == 0 else port))
        publishing = s.get("KeyManagementServiceDnsPublishing") is True
        self.out("    " + self.L("KmsDnsPublishingEnabled" if publishing else "KmsDnsPublishingDisabled"))
        normal = s.get("KeyManagementServiceLowPriority") is False
        self.out("    " + self.L("KmsPriNormal" if normal else "KmsPriLow"))
        if p.get("KeyManagementServiceTotalRequests") is not None:
            self.out()
            self.out(self.L("KmsCumulativeRequestsFromClients"))
            for key, prop in (
                ("KmsTotalRequestsRecieved", "KeyManagementServiceTotalRequests"),
                ("KmsFailedRequestsReceived", "KeyManagementServiceFailedRequests"),
                ("KmsRequestsWithStatusUnlicensed", "KeyManagementServiceUnlicensedRequests"),
                ("KmsRequestsWithStatusLicensed", "KeyManagementServiceLicensedRequests"),
                ("KmsRequestsWithStatusInitialGrace", "KeyManagementServiceOOBGraceRequests"),
                ("KmsRequestsWithStatusLicenseExpiredOrHwidOot", "KeyManagementServiceOOTGraceRequests"),
                ("KmsRequestsWithStatusNonGenuineGrace", "KeyManagementServiceNonGenuineGraceRequests"),
                ("KmsRequestsWithStatusNotification", "KeyManagementServiceNotificationRequests"),
            ):
                self.out("    " + self.L(key) + vbs_str(vbs_long(p.get(prop))))

    def avma_client_info(self, p: dict[str, t.Any]) -> None:
        host = vbs_str(p.get("AutomaticVMActivationHostMachineName"))
        when = cim_datetime(p.get("AutomaticVMActivationLastActivationTime"))
        pid2 = vbs_str(p.get("AutomaticVMActivationHostDigitalPid2"))
        if not (host or when or pid2):
            return
        na = self.L("NotAvailable")
        self.out()
        self.out(self.L("VLMostRecentActivationInfo"))
        self.out(self.L("AVMAInfo"))
        self.out("    " + self.L("AVMAHostMachineName") + (host or na))
        self.out("    " + self.L("AVMALastActTime") + (vbs_date(when, self.locale) if when else na))
        self.out("    " + self.L("AVMAHostPid2") + (pid2 or na))

    # ---- /xpr
    def expiration(self, act_id: str) -> None:
        act_id = act_id.lower()
        found = False
        for p in self.products:
            app = vbs_str(p.get("ApplicationID", p.get("ApplicationId"))).lower()
            pid = vbs_str(p.get("ID")).lower()
            # [SLMGR10] WHERE ApplicationId = Windows (or ID = <id>) AND PartialProductKey <> null;
            # [SLMGR7] the same test in the loop with PartialProductKey <> "".
            selected = (app == WINDOWS_APP_ID) if act_id == "" else (pid == act_id)
            key = p.get("PartialProductKey")
            has_key = key not in (None, "") if self.win7 else key is not None
            if not (selected and has_key):
                continue
            found = True
            ls = p.get("LicenseStatus")
            grace = int(p.get("GracePeriodRemaining") or 0)
            ends = vbs_date(self.now + dt.timedelta(minutes=grace), self.locale)
            desc = vbs_str(p.get("Description"))
            text = ""
            if ls == 0:
                text = self.L("LicenseStatusUnlicensed")
            elif ls == 1:
                if grace != 0:
                    key_name = ("LicenseStatusTBL" if "TIMEBASED_" in desc
                                else "LicenseStatusAVMA" if not self.win7 and "VIRTUAL_MACHINE_ACTIVATION" in desc
                                else "LicenseStatusVL")
                    text = self.L(key_name, ENDDATE=ends)
                else:
                    text = self.L("LicenseStatusLicensed")
            elif ls == 5:
                text = self.L("LicenseStatusNotification")
            elif ls in (2, 3, 4, 6):
                key_name = {2: "LicenseStatusInitialGrace", 3: "LicenseStatusAdditionalGrace",
                            4: "LicenseStatusNonGenuineGrace", 6: "LicenseStatusExtendedGrace"}[ls]
                text = self.L(key_name, ENDDATE=ends)
            if text:
                self.out(vbs_str(p.get("Name")) + ":")
                self.out("    " + text)
        if not found:
            self.out(self.L("ErrorPKey"))

    def usage(self) -> None:
        self.lines.extend(_USAGE_HEAD)
        for row in _USAGE7 if self.win7 else _USAGE10:
            if row is None:
                self.out()
            elif isinstance(row, str):
                self.out(row)
            else:
                option, params, text = row
                self.out(f"/{option} {params}")
                self.out("    " + text)


def render_slmgr(  # noqa: PLR0917 - the agreed seam signature (see surfaces/commands.py)
        args: list[str], service: dict[str, t.Any], products: list[dict[str, t.Any]],
        os_info: dict[str, t.Any], locale: str, now: dt.datetime) -> tuple[int, str]:
    """Render ``cscript //nologo slmgr.vbs <args>`` for one host.

    ``service``: the ``SoftwareLicensingService`` instance; ``products``: every
    ``SoftwareLicensingProduct`` in WMI order; ``os_info``: ``Win32_OperatingSystem``
    (``Version`` picks the SLMGR7 or SLMGR10 format); ``locale``: ``en-US`` or
    ``ja-JP``; ``now``: the host's local clock (``/xpr`` adds the grace minutes to it).

    Returns ``(exit code, stdout text with CRLF line endings)``: 0 after /dli,
    /dlv, /xpr (also when they print ``Error: product key not found.``, as the
    script does); 1 with the usage text for a missing or unknown option.
    Raises :class:`NotSimulated` for the state-changing switches and for remote use.
    """
    run = _Slmgr(service, products, os_info, locale, now)
    # [SLMGR10] ExecCommandLine: up to three leading non-option words are MachineName User Password.
    index = next((i for i, a in enumerate(args[:4]) if a[:1] in ("/", "-")), None)
    if index is None:
        run.out(run.L("InvalidOptions"))
        run.out()
        run.usage()
        return 1, echo_text(run.lines)
    if index == 2:
        # Two leading words (machine and user without a password) is not a valid remote form:
        # [SLMGR10] ExecCommandLine treats it like a missing option.
        run.out(run.L("InvalidOptions"))
        run.out()
        run.usage()
        return 1, echo_text(run.lines)
    if index != 0:
        raise NotSimulated("slmgr.vbs against a remote machine")
    option = args[index][1:].lower()
    param = args[index + 1] if len(args) > index + 1 else ""
    if option in ("dli", "dlv"):
        run.display_all(param, verbose=option == "dlv")
        return 0, echo_text(run.lines)
    if option == "xpr":
        run.expiration(param)
        return 0, echo_text(run.lines)
    if option in MUTATING_SWITCHES:
        raise NotSimulated(f"slmgr.vbs /{option}")
    run.out(run.L("UnrecognizedOption") + args[index])
    run.out()
    run.usage()
    return 1, echo_text(run.lines)
