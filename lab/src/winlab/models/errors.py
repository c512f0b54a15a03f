"""HRESULTs the simulated host reports, with the text Windows gives for them.

Names follow the SDK header slerror.h [SLERROR.H]; texts are copied from
Microsoft's ``slerror.xml`` shipped beside ``ospp.vbs`` [SLERRXML] for SL_E_*
codes, from ``slmgr.vbs`` message constants [SLMGR10] for the Win32 DNS/RPC codes,
and from the WMI (WBEM) error texts PowerShell shows for CIM failures. The lab
always answers in English; a Japanese host would localise these (not simulated).
"""

from __future__ import annotations

import typing as t

# WMI / WBEM errors (wbemcli.h WBEMSTATUS); PowerShell's CimException texts.
WBEM_E_FAILED = 0x80041001
WBEM_E_NOT_FOUND = 0x80041002
WBEM_E_INVALID_PARAMETER = 0x80041008
WBEM_E_INVALID_NAMESPACE = 0x8004100E
WBEM_E_INVALID_CLASS = 0x80041010
WBEM_E_INVALID_QUERY = 0x80041017
WBEM_E_INVALID_METHOD = 0x80041030
WBEM_E_INVALID_METHOD_PARAMETERS = 0x80041031
WBEM_E_TYPE_MISMATCH = 0x80041005

# Win32 errors as HRESULTs.
E_INVALIDARG = 0x80070057  # ERROR_INVALID_PARAMETER
E_ACCESSDENIED = 0x80070005
HR_ERROR_FILE_NOT_FOUND = 0x80070002
HR_DNS_ERROR_RCODE_NAME_ERROR = 0x8007232B  # 9003, no _vlmcs._tcp record
HR_DNS_ERROR_RCODE_SERVER_FAILURE = 0x8007232A
HR_RPC_S_SERVER_UNAVAILABLE = 0x800706BA
HR_SERVICE_NOT_ACTIVE = 0x80070426  # ERROR_SERVICE_NOT_ACTIVE (service stopped)

# Software licensing (slerror.h).
SL_E_GRACE_TIME_EXPIRED = 0xC004F009
SL_E_PKEY_NOT_INSTALLED = 0xC004F014
SL_E_PRODUCT_SKU_NOT_INSTALLED = 0xC004F015
SL_E_CID_LENGTH = 0xC004F02F  # SL_E_INVALID_CONFIRMATION_ID_LENGTH-ish: "length ... incorrect"
SL_E_IID_CID_MISMATCH = 0xC004F031
SL_E_VL_NOT_ENOUGH_COUNT = 0xC004F038
SL_E_VL_BINDING_SERVICE_NOT_ENABLED = 0xC004F039
SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED = 0xC004F041
SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH = 0xC004F042
SL_E_INVALID_IID_OR_CID = 0xC004F04D
SL_E_INVALID_PRODUCT_KEY = 0xC004F050
SL_E_PRODUCT_KEY_BLOCKED = 0xC004F051
SL_E_VL_MACHINE_NOT_BOUND = 0xC004F056
SL_E_MISMATCHED_PRODUCT_SKU = 0xC004F069
SL_E_VL_BINDING_SERVICE_UNAVAILABLE = 0xC004F074
SL_E_CHPA_PRODUCT_KEY_BLOCKED = 0xC004C003
SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED = 0xC004C008
SL_E_CHPA_DMAK_LIMIT_EXCEEDED = 0xC004C020
SL_E_REARM_EXCEEDED = 0xC004D307

MESSAGES: dict[int, str] = {
    WBEM_E_FAILED: "Generic failure ",
    WBEM_E_NOT_FOUND: "Not found ",
    WBEM_E_INVALID_PARAMETER: "Invalid parameter ",
    WBEM_E_INVALID_NAMESPACE: "Invalid namespace ",
    WBEM_E_INVALID_CLASS: "Invalid class ",
    WBEM_E_INVALID_QUERY: "Invalid query ",
    WBEM_E_INVALID_METHOD: "Invalid method ",
    WBEM_E_INVALID_METHOD_PARAMETERS: "Invalid method Parameter(s) ",
    WBEM_E_TYPE_MISMATCH: "Type mismatch ",
    # [SLMGR10] L_MsgError_* constants.
    E_INVALIDARG: "The parameter is incorrect.",
    E_ACCESSDENIED: "Access denied: the requested action requires elevated privileges",
    HR_ERROR_FILE_NOT_FOUND: "The system cannot find the file specified.",
    HR_DNS_ERROR_RCODE_NAME_ERROR: "DNS name does not exist.",
    HR_DNS_ERROR_RCODE_SERVER_FAILURE: "DNS server failure.",
    HR_RPC_S_SERVER_UNAVAILABLE: "The RPC server is unavailable.",
    HR_SERVICE_NOT_ACTIVE: "The service has not been started.",
    # [SLERRXML] word for word.
    SL_E_GRACE_TIME_EXPIRED: "The Software Licensing Service reported that the grace period expired.",
    SL_E_PKEY_NOT_INSTALLED: "The Software Licensing Service reported that the product key is not available.",
    SL_E_PRODUCT_SKU_NOT_INSTALLED: "The Software Licensing Service reported that the license is not installed.",
    SL_E_CID_LENGTH: "The Software Licensing Service reported that the length of the offline Confirmation ID (CID) is incorrect.",
    SL_E_IID_CID_MISMATCH: "The Installation ID (IID) and the Confirmation ID (CID) do not match. Please confirm the IID and reacquire a new CID if necessary.",
    SL_E_VL_NOT_ENOUGH_COUNT: "The Software Licensing Service reported that the product could not be activated. The count reported by your Key Management Service (KMS) is insufficient. Please contact your system administrator.",
    SL_E_VL_BINDING_SERVICE_NOT_ENABLED: "The Software Licensing Service reported that the product could not be activated.  The Key Management Service (KMS) is not enabled.",
    SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED: "The Software Licensing Service determined that the Key Management Service (KMS) is not activated. KMS needs to be activated. Please contact system administrator.",
    SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH: "The Software Licensing Service determined that the specified Key Management Service (KMS) cannot be used.",
    SL_E_INVALID_IID_OR_CID: "The Software Licensing Service determined that the Installation ID (IID) or the Confirmation ID (CID) is invalid.",
    SL_E_INVALID_PRODUCT_KEY: "The Software Licensing Service reported that the product key is invalid.",
    SL_E_PRODUCT_KEY_BLOCKED: "The Software Licensing Service reported that the product key is blocked.",
    SL_E_VL_MACHINE_NOT_BOUND: "The Software Licensing Service reported that the product could not be activated using the Key Management Service (KMS).",
    SL_E_MISMATCHED_PRODUCT_SKU: "The Software Licensing Service reported that the product SKU is not found.",
    SL_E_VL_BINDING_SERVICE_UNAVAILABLE: "The Software Licensing Service reported that the product could not be activated. No Key Management Service (KMS) could be contacted. Please see the Application Event Log for additional information.",
    SL_E_CHPA_PRODUCT_KEY_BLOCKED: "The activation server determined the specified product key has been blocked.",
    SL_E_CHPA_MAXIMUM_UNLOCK_EXCEEDED: "The activation server reported that the product key has exceeded its unlock limit.",
    SL_E_CHPA_DMAK_LIMIT_EXCEEDED: "The activation server reported that the Multiple Activation Key has exceeded its limit.",
    SL_E_REARM_EXCEEDED: "The security processor reported that the maximum allowed number of re-arms has been exceeded.  You must re-install the OS before trying to re-arm again.",
}


def message(hresult: int) -> str:
    """The Windows text for ``hresult`` (a generic one for codes the lab never emits)."""
    return MESSAGES.get(hresult, f"Unknown error 0x{hresult:08X}")


class WmiError(Exception):
    """A CIM operation failed: ``hresult`` (unsigned 32-bit) and the Windows message.

    ``detail`` is extra lab-side context (never a secret) that is not part of what
    Windows returns; surfaces may log it but must emit ``message`` as the error.
    """

    def __init__(self, hresult: int, detail: str = "", msg: str | None = None) -> None:
        self.hresult = hresult & 0xFFFFFFFF
        self.message = msg if msg is not None else message(self.hresult)
        self.detail = detail
        super().__init__(f"0x{self.hresult:08X}: {self.message}" + (f" ({detail})" if detail else ""))

    @property
    def hex(self) -> str:
        """``0x%08X`` form."""
        return f"0x{self.hresult:08X}"

    def as_dict(self) -> dict[str, t.Any]:
        """``{"hresult", "hresult_hex", "error"}`` as the executor protocol returns them."""
        return {"hresult": self.hresult, "hresult_hex": self.hex, "error": self.message}
