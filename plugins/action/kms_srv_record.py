# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of winops.volume_activation.kms_srv_record (documentation in plugins/modules/kms_srv_record.py).

Why a :class:`_action.LicensingAction` and not a bare ``ActionBase``: both methods
share what ``LicensingAction.run`` does around the work (one argument spec checked
by ``validate_argument_spec``, every ``no_log`` value such as ``tsig_key_secret``
scrubbed from the whole result, ``LicensingActionError`` turned into
``failed``/``msg``). Only the way the records are read and written differs:

* ``windows_dns`` fits the template's hooks unchanged: ``_va_reader`` (the zone and
  the SRV records through ``root/MicrosoftDNS``, one round trip), ``_va_plan``
  (``CreateInstanceFromPropertyData`` / ``Modify`` / ``cim_delete``, applied and read
  back in a second round trip), ``_va_apply_failure`` and ``_va_result``;
* ``rfc2136`` never contacts the inventory host, so it replaces the one step of
  ``run()`` that talks to the executor, ``_va_run``, with the DNS exchange of
  ``_dns.SrvZoneClient`` (query, one UPDATE, query). ``round_trips`` stays 0.
"""

from __future__ import annotations

import typing as t

from ansible_collections.winops.volume_activation.plugins.plugin_utils import (
    _action,
    _client,
    _dns,
    _errors,
    _kms_srv_record,
)

#: WBEM_E_INVALID_NAMESPACE (wbemcli.h): what WMI answers when root/MicrosoftDNS does not exist,
#: i.e. the DNS Server role is not installed on the host.
WBEM_E_INVALID_NAMESPACE = 0x8004100E
#: How often the RFC 2136 path re-reads and re-plans when its prerequisite fails (a concurrent writer).
UPDATE_ATTEMPTS = 3


class ActionModule(_action.LicensingAction):
    """Reconcile the ``_vlmcs._tcp`` SRV records of a zone (RFC 2136 from the controller, or Windows DNS via WMI)."""

    ARGUMENT_SPEC: t.ClassVar[dict[str, t.Any]] = {
        "dns_server": {"type": "str"},
        "exclusive": {"type": "bool", "default": False},
        "method": {"type": "str", "required": True, "choices": ["rfc2136", "windows_dns"]},
        "name": {"type": "str"},
        "records": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "target": {"type": "str", "required": True},
                "port": {"type": "int", "default": _kms_srv_record.DEFAULT_PORT},
                "priority": {"type": "int", "default": _kms_srv_record.DEFAULT_PRIORITY},
                "weight": {"type": "int", "default": _kms_srv_record.DEFAULT_WEIGHT},
            },
        },
        "server": {"type": "str"},
        "server_port": {"type": "int", "default": 53},
        "state": {"type": "str", "default": "present", "choices": ["absent", "present"]},
        "timeout": {"type": "int", "default": 10},
        "tsig_algorithm": {"type": "str", "default": "hmac-sha256", "choices": list(_kms_srv_record.TSIG_ALGORITHMS)},
        "tsig_key_name": {"type": "str"},
        "tsig_key_secret": {"type": "str", "no_log": True},
        "ttl": {"type": "int", "default": _kms_srv_record.DEFAULT_TTL},
        "zone": {"type": "str", "required": True},
    }
    ARGUMENT_SPEC_OPTIONS: t.ClassVar[dict[str, t.Any]] = {
        "required_if": [("method", "rfc2136", ("server",))],
        "required_together": [("tsig_key_name", "tsig_key_secret")],
    }

    _desired: _kms_srv_record.DesiredSrv
    _srv_plan: _kms_srv_record.SrvPlan

    # ------------------------------------------------------------------ shared

    def _fail_prefix(self, ctx: _action.ActionContext) -> str:
        return f"Failed to manage the KMS SRV records of zone '{ctx.params.get('zone')}'"

    def _validate(self, ctx: _action.ActionContext) -> None:
        """Every check on the options, before anything is sent anywhere."""
        p = ctx.params
        try:
            self._desired = _kms_srv_record.desired_srv(p)
            if p["method"] == "rfc2136":
                if p["dns_server"] is not None:
                    raise _kms_srv_record.SrvValidationError("dns_server applies to method=windows_dns only; use server")
                _kms_srv_record.check_port(p["server_port"], "server_port")
                if not str(p["server"]).strip():
                    raise _kms_srv_record.SrvValidationError("server must name the DNS server (an address or a host name)")
                if not 1 <= p["timeout"] <= 3600:
                    raise _kms_srv_record.SrvValidationError(f"timeout {p['timeout']} is out of range 1..3600 seconds")
                _kms_srv_record.validate_tsig(p["tsig_key_name"], p["tsig_key_secret"], p["tsig_algorithm"])
            else:
                if p["dns_server"] is not None and str(p["dns_server"]).strip().rstrip(".") == "":
                    raise _kms_srv_record.SrvValidationError(
                        f"dns_server '{p['dns_server']}' is not a DNS server name: CreateInstanceFromPropertyData "
                        "takes the FQDN or IP address of the DNS server; leave dns_server out to use the server's "
                        "own name (MicrosoftDNS_Server.Name)")
                given = [k for k in ("server", "tsig_key_name", "tsig_key_secret") if p[k] is not None]
                if given:
                    raise _kms_srv_record.SrvValidationError(
                        f"{', '.join(given)} apply to method=rfc2136 only; method=windows_dns changes the records "
                        "through the DNS Server WMI provider of the inventory host"
                    )
        except _kms_srv_record.SrvValidationError as e:
            raise _action.LicensingActionError(f"{self._fail_prefix(ctx)}: {e}") from None

    def _common_result(self, ctx: _action.ActionContext, plan: _kms_srv_record.SrvPlan,
                       after: t.Sequence[_kms_srv_record.SrvRecord]) -> dict[str, t.Any]:
        d = self._desired
        out: dict[str, t.Any] = {
            "zone": d.zone,
            "name": d.owner,
            "method": ctx.params["method"],
            "records": [r.as_dict() for r in sorted(after, key=_kms_srv_record.sort_key)],
        }
        out.update(plan.result())
        return out

    @staticmethod
    def _mismatch(plan: _kms_srv_record.SrvPlan, after: t.Sequence[_kms_srv_record.SrvRecord]) -> str | None:
        want = sorted((r.data, r.ttl) for r in plan.after)
        have = sorted((r.data, r.ttl) for r in after)
        if want == have:
            return None
        return (
            "the server accepted the change but now holds ["
            + ", ".join(f"{r.view()} (TTL {r.ttl})" for r in sorted(after, key=_kms_srv_record.sort_key))
            + "] instead of ["
            + ", ".join(f"{r.view()} (TTL {r.ttl})" for r in plan.after)
            + "]"
        )

    def _va_validate(self, ctx: _action.ActionContext) -> None:
        self._validate(ctx)

    def _va_run(self, ctx: _action.ActionContext) -> dict[str, t.Any]:
        self._validate(ctx)
        if ctx.params["method"] == "rfc2136":
            return self._run_rfc2136(ctx)
        return super()._va_run(ctx)

    # ------------------------------------------------------------------ rfc2136

    def _run_rfc2136(self, ctx: _action.ActionContext) -> dict[str, t.Any]:
        p = ctx.params
        d = self._desired
        key = _kms_srv_record.validate_tsig(p["tsig_key_name"], p["tsig_key_secret"], p["tsig_algorithm"])
        secrets = [key[1]] if key else []

        def log(level: int, text: str) -> None:
            ctx.client.log(level, text, secrets)

        try:
            dns_client = _dns.SrvZoneClient(
                str(p["server"]).strip(),
                d.zone,
                port=p["server_port"],
                tsig=_dns.TsigKey(*key) if key else None,
                timeout=float(p["timeout"]),
                log=log,
            )
            plan = self._rfc2136_apply(ctx, dns_client, log)
            applied = plan.changed and not ctx.check_mode
            after = dns_client.read(d.owner) if applied else list(plan.after)
        except _dns.DnsError as e:
            raise _action.LicensingActionError(str(e)) from None

        out: dict[str, t.Any] = {"changed": plan.changed}
        out.update(self._common_result(ctx, plan, after))
        if plan.changed:
            out["changes"] = plan.descriptions(d.owner)
            if ctx.check_mode:
                log(2, f"check mode: would {'; '.join(out['changes'])}")
        if ctx.diff:
            out["diff"] = plan.diff(d.owner)
        mismatch = self._mismatch(plan, after) if applied else None
        if mismatch:
            out.update(failed=True, msg=f"Failed to update the SRV records '{d.owner}' in zone '{d.zone}' on "
                                        f"{dns_client.where}: {mismatch}")
        return out

    def _rfc2136_apply(
        self, ctx: _action.ActionContext, dns_client: _dns.SrvZoneClient, log: t.Callable[[int, str], None]
    ) -> _kms_srv_record.SrvPlan:
        """Read, plan and (unless check mode or nothing to do) send the update; re-plan on a failed prerequisite."""
        d = self._desired
        for attempt in range(1, UPDATE_ATTEMPTS + 1):
            plan = _kms_srv_record.plan_srv(d, dns_client.read(d.owner), rrset_ttl=True)
            if not plan.changed or ctx.check_mode:
                return plan
            try:
                dns_client.update(d.owner, plan)
                return plan
            except _dns.PrerequisiteFailed as e:
                if attempt == UPDATE_ATTEMPTS:
                    raise
                log(2, f"{e}; reading again (attempt {attempt + 1} of {UPDATE_ATTEMPTS})")
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ windows_dns (template hooks)

    def _va_reader(self, ctx: _action.ActionContext) -> _action.StateReader:
        return _WmiSrvReader(self._desired.zone, self._desired.owner)

    def _va_plan(self, ctx: _action.ActionContext, before: _kms_srv_record.WmiSrvState) -> _action.Plan:
        d = self._desired
        where = f"Failed to read the SRV records '{d.owner}' of zone '{d.zone}' through {_kms_srv_record.WMI_NAMESPACE}"
        if before.error is not None:
            hresult, message = before.error
            if hresult == WBEM_E_INVALID_NAMESPACE:
                raise _action.LicensingActionError(
                    f"{where}: 0x8004100E (WBEM_E_INVALID_NAMESPACE): the namespace does not exist on this host, "
                    "so the DNS Server role is not installed here; run the task on the Windows DNS server or use "
                    "method=rfc2136"
                )
            cause = _errors.explain(hresult, message) if hresult is not None else (message or "unknown error")
            raise _action.LicensingActionError(f"{where}: {cause}")
        if not before.zone_found:
            raise _action.LicensingActionError(
                f"{where}: the DNS server on this host does not host zone '{d.zone}' (no {_kms_srv_record.WMI_ZONE_CLASS} "
                "instance of that name)"
            )
        self._srv_plan = _kms_srv_record.plan_srv(d, before.records, rrset_ttl=False)
        dns_server = ctx.params["dns_server"] or before.server_name
        if self._srv_plan.add and not dns_server:
            raise _action.LicensingActionError(
                f"{where}: the DNS server did not give its name ({_kms_srv_record.WMI_SERVER_CLASS}.Name is empty), "
                "which CreateInstanceFromPropertyData needs as DnsServerName; set dns_server to its FQDN")
        plan = _action.Plan()
        for op, description in _kms_srv_record.wmi_plan_operations(d, self._srv_plan, dns_server or ""):
            plan.add(op, description)
        plan.diff = self._srv_plan.diff(d.owner)
        return plan

    def _va_apply_failure(
        self, ctx: _action.ActionContext, plan: _action.Plan, applied: t.Sequence[_client.OpResult]
    ) -> str | None:
        failure = super()._va_apply_failure(ctx, plan, applied)
        if failure:
            return failure
        # Modify and cim_delete select the exact record read: none selected means another writer
        # changed it in between (the executor reports matched 0 / deleted 0 as success).
        for r in applied:
            op = plan.operations[r.index]
            if (op["op"] == "cim_invoke" and op.get("method") == "Modify" and not r.raw.get("matched")) or (
                op["op"] == "cim_delete" and not r.raw.get("deleted")
            ):
                return (
                    f"Failed to {plan.descriptions[r.index]}: the record is no longer on the server "
                    "(changed by another writer since it was read); run the task again"
                )
        return None

    def _va_result(
        self,
        ctx: _action.ActionContext,
        before: _kms_srv_record.WmiSrvState,
        after: _kms_srv_record.WmiSrvState | None,
        plan: _action.Plan,
    ) -> dict[str, t.Any]:
        sp = self._srv_plan
        records = list(after.records) if after is not None else list(sp.after)
        out = self._common_result(ctx, sp, records)
        if after is not None:
            mismatch = self._mismatch(sp, after.records) if after.error is None else (
                f"reading the records back failed: {after.error[1]}"
            )
            if mismatch:
                d = self._desired
                out.update(failed=True, msg=f"Failed to update the SRV records '{d.owner}' in zone '{d.zone}': "
                                            f"{mismatch}")
        return out


class _WmiSrvReader:
    """Reads the zone and the SRV records at the owner name in one batch (``_action.StateReader``)."""

    def __init__(self, zone: str, owner: str) -> None:
        self.zone = zone
        self.owner = owner

    def operations(self) -> list[dict[str, t.Any]]:
        return _kms_srv_record.wmi_read_operations(self.zone, self.owner)

    def parse(self, results: t.Sequence[t.Mapping[str, t.Any]]) -> _kms_srv_record.WmiSrvState:
        return _kms_srv_record.parse_wmi_state(results)
