# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Identifiers and public KMS client setup keys (GVLKs) of Windows and Office.

FOR INTERNAL COLLECTION USE ONLY. The interfaces in this file are meant for use
within the winops.volume_activation collection and may change in any release.

Every row carries the source tag of docs/reference/licensing-api.md (sections
2 and 3). The GVLKs are the *public* keys Microsoft publishes so that volume
media can become KMS clients; they are not secrets, but the collection still
shows them masked like any other key.

Caveats carried over from the reference:

* Office 2013 and Office 2010 GVLKs are **[3P]**: Microsoft's pages (technet
  dn385360, ee624355) were not retrievable; the values are identical in two
  independent third-party copies. Verify against Microsoft before relying on them.
* The Office 2013 KMS host activation ID is [3P] as well.
* The Office LTSC 2024 KMS host ID is the corrected one from [ODO-HOST]
  (F3D89BBF-...), not the stale 8D368FC1-... of [ODO-TOOLS].
"""

from __future__ import annotations

import dataclasses
import re

#: Application ID of Windows [SLMGR10] (const WindowsAppId).
WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
#: Application ID of Office 2013 and later [OSPP15] (const OfficeAppId).
OFFICE_APP_ID = "0ff1ce15-a989-479d-af46-f275c6370663"
#: Application ID of Office 2010 [3P: PYKMS; masked in an MS article].
OFFICE2010_APP_ID = "59a52881-a989-479d-af46-f275c6370663"

#: Application ID -> family name used throughout the collection.
APPLICATION_FAMILIES: dict[str, str] = {
    WINDOWS_APP_ID: "windows",
    OFFICE2010_APP_ID: "office2010",
    OFFICE_APP_ID: "office",
}


@dataclasses.dataclass(frozen=True)
class KmsHostActivation:
    """The activation ID of an Office KMS host license (installed into Windows SPP on the host)."""

    version: str
    activation_id: str
    source: str


#: Office KMS host activation IDs (lower case), by Office version.
OFFICE_KMS_HOST_IDS: tuple[KmsHostActivation, ...] = (
    KmsHostActivation("2010", "bfe7a195-4f8f-4f0b-a622-cf13c7d16864", "[SUP discover-remove-unauthorized-office-windows-kms-hosts]"),
    KmsHostActivation("2013", "2e28138a-847f-42bc-9752-61b03fff33cd", "[3P: PYKMS] UNCONFIRMED from MS"),
    KmsHostActivation("2016", "98ebfe73-2084-4c97-932c-c0cd1643bea7", "[ODO-HOST] [ODO-TOOLS]"),
    KmsHostActivation("2019", "70512334-47b4-44db-a233-be5ea33b914c", "[ODO-HOST] [ODO-TOOLS]"),
    KmsHostActivation("2021", "47f3b983-7c53-4d45-abc6-bcd91e2dd90a", "[ODO-HOST] [ODO-TOOLS]"),
    KmsHostActivation("2024", "f3d89bbf-c0ec-47ce-a8fa-e5a5f97e447f", "[ODO-HOST] (commit bde96c36)"),
)

#: Office versions the collection knows, oldest first.
OFFICE_VERSIONS = ("2010", "2013", "2016", "2019", "2021", "2024")


@dataclasses.dataclass(frozen=True)
class Gvlk:
    """One public KMS client setup key."""

    family: str  # windows | office2010 | office
    product: str  # as Microsoft's table names it, e.g. "Windows Server 2022 Standard"
    key: str
    source: str


def _rows(family: str, source: str, rows: str) -> tuple[Gvlk, ...]:
    out = []
    for line in rows.strip().splitlines():
        product, key = (p.strip() for p in line.rsplit("|", 1))
        out.append(Gvlk(family, product, key, source))
    return tuple(out)


_WSD = "[WSD-KEYS]"
_WSD_2017 = "[WSD-KEYS] (2017 version KMSclientkeys.md)"
_ODO = "[ODO-GVLK]"
_3P = "[3P] Microsoft page not retrievable; identical in two third-party copies"

#: Public GVLKs. Windows: [WSD-KEYS] (ms.date 2024-10-01); Office 2016..LTSC 2024:
#: [ODO-GVLK] (ms.date 2024-09-18); Office 2013/2010: [3P].
GVLKS: tuple[Gvlk, ...] = (
    _rows("windows", _WSD, """
Windows Server 2025 Standard | TVRH6-WHNXV-R9WG3-9XRFY-MY832
Windows Server 2025 Datacenter | D764K-2NDRG-47T6Q-P8T8W-YP6DF
Windows Server 2025 Datacenter: Azure Edition | XGN3F-F394H-FD2MY-PP6FD-8MCRC
Windows Server 2022 Standard | VDYBN-27WPP-V4HQT-9VMD4-VMK7H
Windows Server 2022 Datacenter | WX4NM-KYWYW-QJJR4-XV3QB-6VM33
Windows Server 2022 Datacenter: Azure Edition | NTBV8-9K7Q8-V27C6-M2BTV-KHMXV
Windows Server 2019 Standard | N69G4-B89J2-4G8F4-WWYCC-J464C
Windows Server 2019 Datacenter | WMDGN-G9PQG-XVVXX-R3X43-63DFG
Windows Server 2019 Essentials | WVDHN-86M7X-466P6-VHXV7-YY726
Windows Server 2016 Standard | WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY
Windows Server 2016 Datacenter | CB7KF-BWN84-R7R2Y-793K2-8XDDG
Windows Server 2016 Essentials | JCKRF-N37P4-C2D82-9YXRT-4M63B
Windows Server SAC Standard | N2KJX-J94YW-TQVFB-DG9YT-724CC
Windows Server SAC Datacenter | 6NMRW-2C8FM-D24W7-TQWMY-CWH2D
Windows Server 1803 Standard | PTXN8-JFHJM-4WC78-MPCBR-9W4KR
Windows Server 1803 Datacenter | 2HXDN-KRXHB-GPYC7-YCKFJ-7FVDG
Windows Server 1709 Standard | DPCNP-XQFKJ-BJF7R-FRC8D-GF6G4
Windows Server 1709 Datacenter | 6Y6KB-N82V8-D8CQV-23MJW-BWTG6
Windows 11/10 Pro | W269N-WFGWX-YVC9B-4J6C9-T83GX
Windows 11/10 Pro N | MH37W-N47XK-V7XM9-C7227-GCQG9
Windows 11/10 Pro for Workstations | NRG8B-VKK3Q-CXVCJ-9G2XF-6Q84J
Windows 11/10 Pro for Workstations N | 9FNHH-K3HBT-3W4TD-6383H-6XYWF
Windows 11/10 Pro Education | 6TP4R-GNPTD-KYYHQ-7B7DP-J447Y
Windows 11/10 Pro Education N | YVWGF-BXNMC-HTQYQ-CPQ99-66QFC
Windows 11/10 Education | NW6C2-QMPVW-D7KKK-3GKT6-VCFB2
Windows 11/10 Education N | 2WH4N-8QGBV-H22JP-CT43Q-MDWWJ
Windows 11/10 Enterprise | NPPR9-FWDCX-D2C8J-H872K-2YT43
Windows 11/10 Enterprise N | DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4
Windows 11/10 Enterprise G | YYVX9-NTFWV-6MDM3-9PT4T-4M68B
Windows 11/10 Enterprise G N | 44RPN-FTY23-9VTTB-MP9BX-T84FV
Windows 11 Enterprise LTSC 2024 | M7XTQ-FN8P6-TTKYV-9D4CC-J462D
Windows 10 Enterprise LTSC 2021 | M7XTQ-FN8P6-TTKYV-9D4CC-J462D
Windows 10 Enterprise LTSC 2019 | M7XTQ-FN8P6-TTKYV-9D4CC-J462D
Windows 11 Enterprise N LTSC 2024 | 92NFX-8DJQP-P6BBQ-THF9C-7CG2H
Windows 10 Enterprise N LTSC 2021 | 92NFX-8DJQP-P6BBQ-THF9C-7CG2H
Windows 10 Enterprise N LTSC 2019 | 92NFX-8DJQP-P6BBQ-THF9C-7CG2H
Windows IoT Enterprise LTSC 2024 | KBN8V-HFGQ4-MGXVD-347P6-PDQGT
Windows IoT Enterprise LTSC 2021 | KBN8V-HFGQ4-MGXVD-347P6-PDQGT
Windows 10 Enterprise LTSB 2016 | DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ
Windows 10 Enterprise N LTSB 2016 | QFFDN-GRT3P-VKWWX-X7T3R-8B639
Windows 10 Enterprise LTSB 2015 | WNMTR-4C88C-JK8YV-HQ7T2-76DF9
Windows 10 Enterprise N LTSB 2015 | 2F77B-TNFGY-69QQF-B8YKP-D69TJ
Windows Server 2012 R2 Standard | D2N9P-3P6X9-2R39C-7RTCD-MDVJX
Windows Server 2012 R2 Datacenter | W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9
Windows Server 2012 R2 Essentials | KNC87-3J2TX-XB4WP-VCPJV-M4FWM
Windows Server 2012 Standard | XC9B7-NBPP2-83J2H-RHMBY-92BT4
Windows Server 2012 Datacenter | 48HP8-DN98B-MYWDG-T2DCC-8W83P
Windows Server 2012 Essentials | HTDQM-NBMMG-KGYDT-2DTKT-J2MPV
Windows Server 2012 MultiPoint Standard | HM7DN-YVMH3-46JC3-XYTG7-CYQJJ
Windows Server 2012 MultiPoint Premium | XNH6W-2V9GX-RGJ4K-Y8X6F-QGJ2G
Windows Server 2008 R2 Web | 6TPJF-RBVHG-WBW2R-86QPH-6RTM4
Windows Server 2008 R2 HPC | TT8MH-CG224-D3D7Q-498W2-9QCTX
Windows Server 2008 R2 Standard | YC6KT-GKW9T-YTKYR-T4X34-R7VHC
Windows Server 2008 R2 Enterprise | 489J6-VHDMP-X63PK-3K798-CPX3Y
Windows Server 2008 R2 Datacenter | 74YFP-3QFB3-KQT8W-PMXWJ-7M648
Windows Server 2008 R2 for Itanium-based Systems | GT63C-RJFQ3-4GMB6-BRFB9-CB83V
Windows Server 2008 Web | WYR28-R7TFJ-3X2YQ-YCY4H-M249D
Windows Server 2008 Standard | TM24T-X9RMF-VWXK6-X8JC9-BFGM2
Windows Server 2008 Standard without Hyper-V | W7VD6-7JFBR-RX26B-YKQ3Y-6FFFJ
Windows Server 2008 Enterprise | YQGMW-MPWTJ-34KDK-48M3W-X4Q6V
Windows Server 2008 Enterprise without Hyper-V | 39BXF-X8Q23-P2WWT-38T2F-G3FPG
Windows Server 2008 HPC | RCTX3-KWVHP-BR6TB-RB6DM-6X7HP
Windows Server 2008 Datacenter | 7M67G-PC374-GR742-YH8V4-TCBY3
Windows Server 2008 Datacenter without Hyper-V | 22XQ2-VRXRG-P8D42-K34TD-G3QQC
Windows Server 2008 for Itanium-based Systems | 4DWFP-JF3DJ-B7DTH-78FJB-PDRHK
Windows 8.1 Pro | GCRJD-8NW9H-F2CDX-CCM8D-9D6T9
Windows 8.1 Pro N | HMCNV-VVBFX-7HMBH-CTY9B-B4FXY
Windows 8.1 Enterprise | MHF9N-XY6XB-WVXMC-BTDCT-MKKG7
Windows 8.1 Enterprise N | TT4HM-HN7YT-62K67-RGRQJ-JFFXW
Windows 8 Pro | NG4HW-VH26C-733KW-K6F98-J8CK4
Windows 8 Pro N | XCVCF-2NXM9-723PB-MHCB7-2RYQQ
Windows 8 Enterprise | 32JNW-9KQ84-P47T8-D8GGY-CWCK7
Windows 8 Enterprise N | JMNMF-RHW7P-DMY6X-RF3DR-X2BQT
Windows 7 Professional | FJ82H-XT6CR-J8D7P-XQJJ2-GPDD4
Windows 7 Professional N | MRPKT-YTG23-K7D7T-X2JMM-QY7MG
Windows 7 Professional E | W82YF-2Q76Y-63HXB-FGJG9-GF7QX
Windows 7 Enterprise | 33PXH-7Y6KF-2VJC9-XBBR8-HVTHH
Windows 7 Enterprise N | YDRBP-3D83W-TY26F-D46B2-XCKRJ
Windows 7 Enterprise E | C29WB-22CC8-VJ326-GHFJW-H9DH4
Windows Vista Business | YFKBB-PQJJV-G996G-VWGXY-2V3X8
Windows Vista Business N | HMBQG-8H2RH-C77VX-27R82-VMQBT
Windows Vista Enterprise | VKK3X-68KWM-X2YGT-QR4M6-4BWMV
Windows Vista Enterprise N | VTC42-BM838-43QHV-84HX6-XJXKV
""")
    + _rows("windows", _WSD_2017, """
Windows Server 2012 | BN3D2-R7TKB-3YPBD-8DRP2-27GG4
Windows Server 2012 N | 8N2M2-HWPGY-7PGT9-HGDD8-GVGGY
Windows Server 2012 Single Language | 2WN2H-YGCQR-KFX6K-CD6TF-84YXQ
Windows Server 2012 Country Specific | 4K36P-JN4VD-GDC6V-KDT89-DYFKP
""")
    + _rows("office", _ODO, """
Office LTSC Professional Plus 2024 | XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB
Office LTSC Standard 2024 | V28N4-JG22K-W66P8-VTMGK-H6HGR
Project Professional 2024 | FQQ23-N4YCY-73HQ3-FM9WC-76HF4
Project Standard 2024 | PD3TT-NTHQQ-VC7CY-MFXK3-G87F8
Visio LTSC Professional 2024 | B7TN8-FJ8V3-7QYCP-HQPMV-YY89G
Visio LTSC Standard 2024 | JMMVY-XFNQC-KK4HK-9H7R3-WQQTV
Access LTSC 2024 | 82FTR-NCHR7-W3944-MGRHM-JMCWD
Excel LTSC 2024 | F4DYN-89BP2-WQTWJ-GR8YC-CKGJG
Outlook LTSC 2024 | D2F8D-N3Q3B-J28PV-X27HD-RJWB9
PowerPoint LTSC 2024 | CW94N-K6GJH-9CTXY-MG2VC-FYCWP
Skype for Business LTSC 2024 | 4NKHF-9HBQF-Q3B6C-7YV34-F64P3
Word LTSC 2024 | MQ84N-7VYDM-FXV7C-6K7CC-VFW9J
Office LTSC Professional Plus 2021 | FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH
Office LTSC Standard 2021 | KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3
Project Professional 2021 | FTNWT-C6WBT-8HMGF-K9PRX-QV9H8
Project Standard 2021 | J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T
Visio LTSC Professional 2021 | KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4
Visio LTSC Standard 2021 | MJVNY-BYWPY-CWV6J-2RKRT-4M8QG
Access LTSC 2021 | WM8YG-YNGDD-4JHDC-PG3F4-FC4T4
Excel LTSC 2021 | NWG3X-87C9K-TC7YY-BC2G7-G6RVC
Outlook LTSC 2021 | C9FM6-3N72F-HFJXB-TM3V9-T86R9
PowerPoint LTSC 2021 | TY7XF-NFRBR-KJ44C-G83KF-GX27K
Publisher LTSC 2021 | 2MW9D-N4BXM-9VBPG-Q7W6M-KFBGQ
Skype for Business LTSC 2021 | HWCXN-K3WBT-WJBKY-R8BD9-XK29P
Word LTSC 2021 | TN8H9-M34D3-Y64V9-TR72V-X79KV
Office Professional Plus 2019 | NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP
Office Standard 2019 | 6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK
Project Professional 2019 | B4NPR-3FKK7-T2MBV-FRQ4W-PKD2B
Project Standard 2019 | C4F7P-NCP8C-6CQPT-MQHV9-JXD2M
Visio Professional 2019 | 9BGNQ-K37YR-RQHF2-38RQ3-7VCBB
Visio Standard 2019 | 7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2
Access 2019 | 9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT
Excel 2019 | TMJWT-YYNMB-3BKTF-644FC-RVXBD
Outlook 2019 | 7HD7K-N4PVK-BHBCQ-YWQRW-XW4VK
PowerPoint 2019 | RRNCX-C64HY-W2MM7-MCH9G-TJHMQ
Publisher 2019 | G2KWX-3NW6P-PY93R-JXK2T-C9Y9V
Skype for Business 2019 | NCJ33-JHBBY-HTK98-MYCV8-HMKHJ
Word 2019 | PBX3G-NWMT6-Q7XBW-PYJGG-WXD33
Office Professional Plus 2016 | XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99
Office Standard 2016 | JNRGM-WHDWX-FJJG3-K47QV-DRTFM
Project Professional 2016 | YG9NW-3K39V-2T3HJ-93F3Q-G83KT
Project Standard 2016 | GNFHQ-F6YQM-KQDGJ-327XX-KQBVC
Visio Professional 2016 | PD3PC-RHNGV-FXJ29-8JK7D-RJRJK
Visio Standard 2016 | 7WHWN-4T7MP-G96JF-G33KR-W8GF4
Access 2016 | GNH9Y-D2J4T-FJHGG-QRVH7-QPFDW
Excel 2016 | 9C2PK-NWTVB-JMPW8-BFT28-7FTBF
Outlook 2016 | R69KK-NTPKF-7M3Q4-QYBHW-6MT9B
PowerPoint 2016 | J7MQP-HNJ4Y-WJ7YM-PFYGF-BY6C6
Publisher 2016 | F47MM-N3XJP-TQXJ9-BP99D-8K837
Skype for Business 2016 | 869NQ-FJ69K-466HW-QYCP2-DDBV6
Word 2016 | WXY84-JN2Q9-RBCCQ-3Q3J3-3PFJ6
OneNote 2016 | DR92N-9HTF2-97XKM-XW2WJ-XW3J6
""")
    + _rows("office", _3P, """
Office Professional Plus 2013 | YC7DK-G2NP3-2QQC3-J6H88-GVGXT
Office Standard 2013 | KBKQT-2NMXY-JJWGP-M62JB-92CD4
Project Professional 2013 | FN8TT-7WMH6-2D4X9-M337T-2342K
Project Standard 2013 | 6NTH3-CW976-3G3Y2-JK3TX-8QHTT
Visio Professional 2013 | C2FG9-N6J68-H8BTJ-BW3QX-RM3B3
Visio Standard 2013 | J484Y-4NKBF-W2HMG-DBMJC-PGWR7
Access 2013 | NG2JY-H4JBT-HQXYP-78QH9-4JM2D
Excel 2013 | VGPNG-Y7HQW-9RHP7-TKPV3-BG7GB
InfoPath 2013 | DKT8B-N7VXH-D963P-Q4PHY-F8894
Lync 2013 | 2MG3G-3BNTT-3MFW9-KDQW3-TCK7R
OneNote 2013 | TGN6P-8MMBC-37P2F-XHXXK-P34VW
Outlook 2013 | QPN8Q-BJBTJ-334K3-93TGY-2PMBT
PowerPoint 2013 | 4NT99-8RJFH-Q2VDH-KYG2C-4RD4F
Publisher 2013 | PN2WF-29XG2-T9HJ7-JQPJR-FCXK4
Word 2013 | 6Q7VD-NX8JD-WJ2VH-88V73-4GBJ7
""")
    + _rows("office2010", _3P, """
Office Professional Plus 2010 | VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB
Office Standard 2010 | V7QKV-4XVVR-XYV4D-F7DFM-8R6BM
Access 2010 | V7Y44-9T38C-R2VJK-666HK-T7DDX
Excel 2010 | H62QG-HXVKF-PP4HP-66KMR-CW9BM
SharePoint Workspace 2010 | QYYW6-QP4CB-MBV6G-HYMCJ-4T3J4
InfoPath 2010 | K96W8-67RPQ-62T9Y-J8FQJ-BT37T
OneNote 2010 | Q4Y4M-RHWJM-PY37F-MTKWH-D3XHX
Outlook 2010 | 7YDC2-CWM8M-RRTJC-8MDVC-X3DWQ
PowerPoint 2010 | RC8FX-88JRY-3PF7C-X8P67-P4VTT
Project Professional 2010 | YGX6F-PGV49-PGW3J-9BTGG-VHKC6
Project Standard 2010 | 4HP3K-88W3F-W2K3D-6677X-F9PGB
Publisher 2010 | BFK7F-9MYHM-V68C7-DRQ66-83YTP
Word 2010 | HVHB3-C6FV7-KQX9W-YQG79-CRY7T
Visio Premium 2010 | D9DWC-HPYVV-JGF4P-BTWQB-WX8BJ
Visio Professional 2010 | 7MCW8-VRQVK-G677T-PDJCM-Q8TCP
Visio Standard 2010 | 767HD-QGMWX-8QTDB-9G3R2-KHFGJ
""")
)


def _norm_name(name: str) -> str:
    text = name.lower().replace("(r)", "").replace("®", "").replace("microsoft", "")
    text = text.replace("windows 11/10", "windows").replace(":", " ")
    return " ".join(re.sub(r"[^a-z0-9/.]+", " ", text).split())


def _name_variants(product: str) -> set[str]:
    """Names a user may type for a table row: ``Windows 11/10 Pro`` answers to ``Windows 10 Pro``
    and ``Windows 11 Pro`` too."""
    base = _norm_name(product)
    out = {base}
    if product.startswith("Windows 11/10 "):
        rest = _norm_name(product[len("Windows 11/10 "):])
        out |= {f"windows 10 {rest}", f"windows 11 {rest}"}
    return out


_GVLK_INDEX: dict[str, Gvlk] = {}
for _g in GVLKS:
    for _v in _name_variants(_g.product):
        _GVLK_INDEX.setdefault(_v, _g)


def find_gvlk(product: str) -> Gvlk | None:
    """The public GVLK row for a product name as Microsoft's tables write it.

    Matching ignores case, ``Microsoft``, ``(R)`` and punctuation, and accepts
    ``Windows 10 Pro`` / ``Windows 11 Pro`` for the shared ``Windows 11/10 Pro`` row.
    Returns None when there is no exact match (no guessing).
    """
    return _GVLK_INDEX.get(_norm_name(product))


def family_of(application_id: str | None) -> str:
    """``windows``, ``office2010``, ``office`` (2013 and later) or ``other`` for an ApplicationID."""
    if not application_id:
        return "other"
    return APPLICATION_FAMILIES.get(application_id.strip().lower().strip("{}"), "other")


def office_kms_host_version(activation_id: str | None) -> str | None:
    """The Office version whose KMS host license has this activation ID, or None."""
    if not activation_id:
        return None
    aid = activation_id.strip().lower().strip("{}")
    for row in OFFICE_KMS_HOST_IDS:
        if row.activation_id == aid:
            return row.version
    return None


# Product names as the licensing service reports them, e.g. "Office 16, Office16ProPlusVL_KMS_Client
# edition", "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", "Office 14, OfficeProPlus-KMS_Client
# edition", host "Office 16, OfficeKMSHostVL_KMS_Host edition" [ODO-HOST]. The "Office NN," prefix is the
# internal major version: 14 = 2010, 15 = 2013, 16 = 2016 (and the 2019+ products of the "16" line name
# their year), 19/21/24 = 2019/2021/2024 [INFERRED from [ODO-HOST] and [3P] sample outputs].
_OFFICE_PREFIX = {"14": "2010", "15": "2013", "16": "2016", "19": "2019", "21": "2021", "24": "2024"}
_OFFICE_YEAR_RE = re.compile(r"(?<!\d)(2010|2013|2016|2019|2021|2024)(?!\d)")
_OFFICE_PREFIX_RE = re.compile(r"^\s*office\s+(\d\d)\s*,", re.IGNORECASE)


def office_version(name: str | None, application_id: str | None, activation_id: str | None = None) -> str | None:
    """The Office version (``2010`` .. ``2024``) of a licensing product, or None when it is not
    Office or the version cannot be told from its name.

    Order: a known KMS host activation ID; Office 2010's own application ID; a year
    in the name (``...ProPlus2019VL...``); the ``Office NN,`` prefix.
    """
    host = office_kms_host_version(activation_id)
    if host:
        return host
    fam = family_of(application_id)
    if fam == "office2010":
        return "2010"
    if fam != "office" or not name:
        return None
    m = _OFFICE_YEAR_RE.search(name)
    if m:
        return m.group(1)
    m = _OFFICE_PREFIX_RE.match(name)
    if m:
        return _OFFICE_PREFIX.get(m.group(1))
    return None
