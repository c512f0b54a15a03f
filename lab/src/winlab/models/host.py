"""A simulated Windows host: state and behaviour (moto's "models" side).

The licensing products and services, registry, firewall, services, clock and the KMS
host and client behaviour live here. What a caller sees through CIM (classes,
properties, methods, parameters, HRESULTs) is :mod:`winlab.surfaces.cim`, which reads
and drives this state; this module knows nothing of CIM rows or of sockets (a KMS
request goes through ``world.transport``, a DNS lookup through ``world.transport.discover``).

Key choices where Windows' behaviour is not documented, marked [LAB] in the code:

* a Windows KMS host key (CSVLK) that is not for this OS release/edition class (e.g. a
  Server CSVLK on a client edition) fails 0xC004F050 (SL_E_INVALID_PRODUCT_KEY:
  "wrong edition" is a documented cause [WSD-ERR]);
* an Office CSVLK on an OS where that Office KMS host license pack does not install
  (Office 2010 on Server 2008 or Windows 8+, [SEED]; §5 for 2013..2024) fails
  0xC004F069 (SL_E_MISMATCHED_PRODUCT_SKU: "key for a SKU whose license isn't
  installed" (§4)); so does an Office key whose Office is absent;
* a KMS host answers as soon as its CSVLK is installed (IsKeyManagementServiceMachine=1,
  the listener starts); until the host is activated its answer is 0xC004F041
  (SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED, §4);
* host-side settings are stored at once (registry and the CIM property) but the KMS
  listener applies them at the next sppsvc start ("Warning: a KMS reboot is needed for
  this setting to take effect." [SLMGR10]); client-side settings (KMS machine, port,
  lookup domain) are read at each activation attempt;
* rearm [MS ReArmWindows: "Resets the licensing status of the machine"
  (MicrosoftDocs/win32 desktop-src/SppWmi/rearmwindows-softwarelicensingservice.md);
  slmgr.vbs /rearm asks for a restart [SLMGR10]; the duplicate-CMID article: rearm,
  restart, a new CMID]: ``ReArmWindows`` lowers RemainingWindowsReArmCount at once
  [LAB] and the rest happens at the next restart (:meth:`WindowsHost.boot`): the Windows
  grace period starts again, a KMS or MAK activation is gone, and a new CMID is
  generated. Office's rearm (``ReArmApp`` with Office's application ID on Windows 8+,
  ``OSPPREARM.EXE`` for OSPP) takes effect at once, with no restart: "Resets the grace
  timer to 30 days ... Resets the client computer ID (CMID)"; five rearms [ODO-REARM].
  ``ReArmSku`` (Windows 8+) restarts one SKU's grace period and lowers its
  RemainingSkuReArmCount, with no CMID change [LAB]. A restart takes WinRM down for
  a while when the lab runs its servers (``World.restart_hook``, set by the control
  plane); in models-only worlds it is immediate.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from winlab.models import adds, catalog, errors
from winlab.models.catalog import OFFICE_VERSIONS, OSES, SkuDef
from winlab.models.errors import WmiError
from winlab.models.firewall import Firewall
from winlab.models.kms import (
    OFFICE_CAP,
    OFFICE_THRESHOLD,
    UNCONTACTED,
    WINDOWS_CAP,
    WINDOWS_CLIENT_THRESHOLD,
    WINDOWS_SERVER_THRESHOLD,
    KmsHostState,
)
from winlab.models.licensing import (
    DEFAULT_ACTIVATION_INTERVAL,
    DEFAULT_RENEWAL_INTERVAL,
    KMS_VALIDITY,
    Product,
)
from winlab.models.registry import OSPP_KEY, SPP_KEY, Registry
from winlab.models.services import Service, builtin_services
from winlab.models.srv import SrvRecord, order_srv
from winlab.models.transport import KmsConnectError, KmsRequest, KmsResponse
from winlab.spec import KEY_RE, HostSpec, KeySpec

if t.TYPE_CHECKING:
    from winlab.models.world import World


EVENT_LOG_SIZE = 2000
# A KMS host refreshes its SRV record by dynamic update every 24 hours [WSD-DNS].
SRV_REFRESH = dt.timedelta(hours=24)
# KMS host event IDs in the "Key Management Service" log: 12290 per client request
# [licensing-api §6 Monitoring]; 12294 SRV published, 12293 publishing failed
# (UNCONFIRMED: Windows KMS event IDs seen in the field, not in licensing-api.md).
EVENT_SRV_PUBLISHED = 12294
EVENT_SRV_PUBLISH_FAILED = 12293

LCIDS = {"en-US": 1033, "ja-JP": 1041}
#: "You can rearm five times" [ODO-REARM].
OFFICE_REARMS = 5


def sku_summary(sku: SkuDef) -> str:
    """``Name (ID)`` for messages."""
    return f"{sku.name} ({sku.id})"


class WindowsHost:
    """One simulated Windows machine. Mutate only under ``world.lock``."""

    def __init__(self, world: World, spec: HostSpec) -> None:
        self.world = world
        self.spec = spec
        self.name = spec.name
        self.fqdn = spec.fqdn.lower()
        self.domain = self.fqdn.split(".", 1)[1] if "." in self.fqdn else ""
        self.locale = spec.locale
        if spec.os not in OSES:
            raise ValueError(f"host '{spec.name}': os '{spec.os}' is not simulated "
                             f"(one of {', '.join(OSES)})")
        self.os = OSES[spec.os]
        if spec.edition not in self.os.editions:
            raise ValueError(f"host '{spec.name}': edition '{spec.edition}' is not simulated for {spec.os} "
                             f"(one of {', '.join(self.os.editions)})")
        self.edition = self.os.editions[spec.edition]
        self.os_version = self.os.version
        self.reachable = True
        # Domain membership (ADBA needs it) and the activation object that activated each
        # product from AD (models/adds.py).
        self.domain_joined = spec.domain_joined
        self.ad_activation: dict[str, adds.ActivationObject] = {}
        self.registry = Registry()
        self.firewall = Firewall()
        self.request_log: list[dict[str, t.Any]] = []
        self.events: list[dict[str, t.Any]] = []
        self.installed_at = world.clock.now()
        rng = world.rng
        self.cmid = rng.guid()
        self.products: list[Product] = []
        self.remaining_rearm = self.os.rearm_count
        self.last_boot = self.installed_at
        # Office rearms left, shared by ReArmApp(Office) and OSPPREARM.EXE: five [ODO-REARM].
        self.office_rearm_remaining = OFFICE_REARMS
        # What waits for the next restart ("windows": a ReArmWindows).
        self.pending_at_boot: set[str] = set()
        ospp_needed = False
        for ospec in spec.office:
            if ospec.version not in OFFICE_VERSIONS:
                raise ValueError(f"host '{spec.name}': Office version '{ospec.version}' is not simulated")
            if catalog.office_uses_ospp(ospec.version, self.os):
                ospp_needed = True
        self.has_ospp = ospp_needed
        self.ospp_cmid = rng.guid() if ospp_needed else None
        self.services: dict[str, Service] = builtin_services(ospp_needed)
        self.registry.create_key(SPP_KEY)
        if ospp_needed:
            self.registry.create_key(OSPP_KEY)
        now = self.installed_at
        for sku in catalog.windows_skus(self.os, self.edition):
            self.products.append(Product(sku, "spp", now))
        for ospec in spec.office:
            ospp = catalog.office_uses_ospp(ospec.version, self.os)
            known = catalog.office_products(ospec.version)
            for prod in ospec.products:
                if prod not in known:
                    raise ValueError(f"host '{spec.name}': Office {ospec.version} product '{prod}' is not simulated "
                                     f"(one of {', '.join(known)})")
                for sku in catalog.office_skus(ospec.version, prod, ospp):
                    self.products.append(Product(sku, "ospp" if ospp else "spp", now))
        self.kms_effective: dict[str, t.Any] = {}
        # Next SRV refresh (None: not publishing) [WSD-DNS every 24 h].
        self.next_publish_at: dt.datetime | None = None
        # Per product ID: the last KMS attempt that reached no host, kept so that a retry
        # inside World.advance() with nothing changed replays it instead of re-sending
        # (see kms_activate). Cleared by any attempt that reached a host.
        self._unreachable: dict[str, tuple[t.Hashable, int, list[SrvRecord] | None, dict[tuple[str, int], str]]] = {}
        self._load_kms_settings()
        self._preinstall_keys()

    # -- construction helpers ---------------------------------------------------------
    def _preinstall_keys(self) -> None:
        """VL media ship the edition's GVLK; retail media a retail key [SEED], [WSD-KEYS]."""
        if self.spec.channel == "volume" and self.edition.volume:
            gvlk = next(k for k, g in catalog.WINDOWS_GVLKS.items()
                        if self.os.id in g.os_ids and g.edition == self.edition.name)
            self._install_on(self._sku("windows", "GVLK"), gvlk, "gvlk", None)
        else:
            self._install_on(self._sku("windows", "RETAIL"), *self._synthetic_retail(f"{self.os.id}/{self.edition.name}"))
        for ospec in self.spec.office:
            for prod in ospec.products:
                family = f"office-{ospec.version}/{prod}"
                if ospec.channel == "volume":
                    gvlk = catalog._OFFICE_CLIENT[(ospec.version, prod)][1]
                    self._install_on(self._sku(family, "GVLK"), gvlk, "gvlk", None)
                else:
                    self._install_on(self._sku(family, "RETAIL"), *self._synthetic_retail(family))

    def _synthetic_retail(self, product: str) -> tuple[str, str, KeySpec]:
        alphabet = "BCDFGHJKMNPQRTVWXY2346789"
        rng = self.world.rng
        key = "-".join("".join(rng.choice(alphabet) for _ in range(5)) for _ in range(5))
        spec = KeySpec(name=f"{self.name.lower()}-preinstalled-{product}", kind="retail", key=key, product=product)
        self.world.activation_service.add_key(spec)
        return key, "retail", spec

    def _sku(self, family: str, channel: str) -> Product:
        for p in self.products:
            if p.sku.family == family and p.sku.channel == channel:
                return p
        raise KeyError((family, channel))

    # -- small accessors ----------------------------------------------------------------
    @property
    def now(self) -> dt.datetime:
        """Lab time."""
        return self.world.clock.now()

    def product(self, activation_id: str) -> Product | None:
        """A product by activation ID (case-insensitive)."""
        aid = activation_id.lower()
        return next((p for p in self.products if p.id.lower() == aid), None)

    def store_products(self, store: str) -> list[Product]:
        """Products of ``spp`` or ``ospp``."""
        return [p for p in self.products if p.store == store]

    def log(self, entry: dict[str, t.Any]) -> None:
        """Append to ``request_log`` with the lab time. Callers must never pass a secret."""
        self.request_log.append({"time": self.now.isoformat(), **entry})

    def event(self, log: str, event_id: int, **data: t.Any) -> None:
        """Record an event-log entry (12288 client / 12290 KMS host); the log keeps the
        newest ``EVENT_LOG_SIZE`` entries, as a Windows event log rolls over [LAB size]."""
        self.events.append({"time": self.now.isoformat(), "log": log, "id": event_id, **data})
        if len(self.events) > EVENT_LOG_SIZE:
            del self.events[: len(self.events) - EVENT_LOG_SIZE]

    # -- registry-backed settings -------------------------------------------------------
    def _reg_str(self, path: str, name: str) -> str | None:
        v = self.registry.get(path, name)
        if v is None or v.value in (None, ""):
            return None
        return str(v.value) if not isinstance(v.value, list) else None

    def _reg_int(self, path: str, name: str, default: int) -> int:
        v = self.registry.get(path, name)
        if v is None:
            return default
        try:
            return int(v.value) if not isinstance(v.value, str) else int(v.value.strip() or default)
        except (TypeError, ValueError):
            return default

    def _root(self, store: str) -> str:
        return SPP_KEY if store == "spp" else OSPP_KEY

    def _sku_key(self, p: Product) -> str:
        return f"{self._root(p.store)}\\{p.sku.app_id}\\{p.id}"

    def _load_kms_settings(self) -> None:
        """What the KMS listener uses until the next sppsvc start [SLMGR10 reboot warning]."""
        publish_list = self.registry.get(SPP_KEY, "DnsDomainPublishList")
        self.kms_effective = {
            "port": self._reg_int(SPP_KEY, "KeyManagementServiceListeningPort", 0) or 1688,
            "dns_publishing": self._reg_int(SPP_KEY, "DisableDnsPublishing", 0) == 0,
            "low_priority": self._reg_int(SPP_KEY, "EnableKmsLowPriority", 0) != 0,
            "publish_list": list(publish_list.value) if publish_list and isinstance(publish_list.value, list) else [],
            "activation_interval": self._reg_int(SPP_KEY, "VLActivationInterval", DEFAULT_ACTIVATION_INTERVAL),
            "renewal_interval": self._reg_int(SPP_KEY, "VLRenewalInterval", DEFAULT_RENEWAL_INTERVAL),
        }

    # -- KMS host side ---------------------------------------------------------------
    def kms_host_products(self) -> list[Product]:
        """Installed KMS host SKUs (CSVLK key present), Windows first."""
        return [p for p in self.store_products("spp") if p.sku.channel == "CSVLK" and p.key is not None]

    def kms_listening(self) -> bool:
        """Whether the KMS listener runs (a CSVLK installed, sppsvc running)."""
        return bool(self.kms_host_products()) and self.services["sppsvc"].status == "Running"

    def kms_effective_port(self) -> int:
        """The TCP port the KMS listener uses now."""
        return int(self.kms_effective["port"])

    def kms_licensed(self) -> bool:
        """Whether some KMS host SKU is activated (it then serves and publishes)."""
        return any(p.activated for p in self.kms_host_products())

    def publish_srv(self) -> list[SrvRecord]:
        """Publish ``_vlmcs._tcp`` records when DNS publishing is effective and the KMS host is
        activated: the home domain (priority 0, weight 0) plus each ``DnsDomainPublishList``
        line ``domain, priority, weight`` [WSD-DNS], [MS-REG]. Returns what was published.

        Schedules the next refresh 24 h later [WSD-DNS]; with publishing off (or the KMS
        host not serving) refreshing stops and the record stays, as Windows does not
        delete it. An update the DNS server refuses (or a server that does not answer)
        leaves DNS unchanged and records event 12293 with the reason."""
        if not (self.kms_listening() and self.kms_licensed() and self.kms_effective["dns_publishing"]):
            self.next_publish_at = None
            return []
        self.next_publish_at = self.now + SRV_REFRESH
        recs = [SrvRecord(self.domain, self.fqdn, self.kms_effective_port())] if self.domain else []
        for line in self.kms_effective["publish_list"]:
            parts = [x.strip() for x in str(line).split(",")]
            if not parts or not parts[0]:
                continue
            prio = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            weight = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
            recs.append(SrvRecord(parts[0].lower(), self.fqdn, self.kms_effective_port(), prio, weight))
        published: list[SrvRecord] = []
        for r in recs:
            if self.world.dns.publish(r):
                published.append(r)
            else:
                self.event("Key Management Service", EVENT_SRV_PUBLISH_FAILED, owner=r.owner,
                           reason=self.world.dns.last_error or "the DNS server refused the update")
        if published:
            self.event("Key Management Service", EVENT_SRV_PUBLISHED, published=[r.owner for r in published])
        return published

    def kms_serve(self, req: KmsRequest, port: int) -> KmsResponse:
        """Answer one client request (called by the transport once the connection is up)."""
        now = self.now
        hosts = self.kms_host_products()
        if req.kind.startswith("windows"):
            host_p = next((p for p in hosts if p.sku.product == "windows"), None)
        else:
            host_p = next((p for p in hosts if p.sku.family == f"{req.kind}-kms-host"), None)
        required = {"windows-client": WINDOWS_CLIENT_THRESHOLD,
                    "windows-server": WINDOWS_SERVER_THRESHOLD}.get(req.kind, OFFICE_THRESHOLD)
        hresult: int
        count = UNCONTACTED
        if host_p is None:
            # No host SKU for this product: this KMS cannot be used [§4 0xC004F042].
            hresult = errors.SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH
            if hosts and hosts[0].kms_host:
                hosts[0].kms_host.fail()
            pid = hosts[0].product_key_id if hosts else None
        else:
            state = host_p.kms_host or KmsHostState()
            host_p.kms_host = state
            pid = host_p.product_key_id
            if not host_p.activated:
                hresult = errors.SL_E_VL_KEY_MANAGEMENT_SERVICE_NOT_ACTIVATED
                state.fail()
            elif not self._covers(host_p, req):
                hresult = errors.SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH
                state.fail()
            else:
                decision = state.handle(req.cmid, req.license_status, required, now)
                hresult, count = decision.hresult, decision.current_count
        self.event("Key Management Service", 12290, client=req.client_name, cmid=req.cmid, sku_id=req.sku_id,
                   hresult=f"0x{hresult:08X}", current_count=-1 if count == UNCONTACTED else count)
        return KmsResponse(hresult=hresult, current_count=count, required=required, host_name=self.fqdn,
                           host_address=self.spec.address, port=port, host_pid=pid,
                           activation_interval=int(self.kms_effective["activation_interval"]),
                           renewal_interval=int(self.kms_effective["renewal_interval"]))

    def _covers(self, host_p: Product, req: KmsRequest) -> bool:
        if not req.kind.startswith("windows"):
            return True  # an Office host SKU serves its own version only (checked by family)
        key = self.world.activation_service.lookup(host_p.key or "")
        if key is None:
            return False
        release, _ = catalog.parse_key_product(key.product)
        max_server, max_client = catalog.CSVLK_COVERAGE.get(release, (0, 0))
        limit = max_server if req.kind == "windows-server" else max_client
        return 0 < req.client_rank <= limit

    # -- KMS client side -------------------------------------------------------------
    def kms_request_for(self, p: Product) -> KmsRequest:
        """The request this host sends for product ``p``."""
        if p.sku.product == "windows":
            kind = "windows-server" if self.os.server else "windows-client"
            rank = self.os.rank
        else:
            kind, rank = f"office-{p.sku.office_version}", 0
        cmid = self.ospp_cmid if (p.store == "ospp" and self.ospp_cmid) else self.cmid
        status, _, _ = p.status(self.now)
        return KmsRequest(cmid=cmid or "", client_name=self.fqdn, client_address=self.spec.address, sku_id=p.id,
                          app_id=p.sku.app_id, kind=kind, client_rank=rank, license_status=status)

    def kms_client_settings(self, p: Product) -> dict[str, t.Any]:
        """Effective client settings for ``p``: per-SKU registry values override the
        service-level ones [MS-REG]; ``lookup_domain`` Win8+ only."""
        root = self._root(p.store)
        sku_key = self._sku_key(p)
        machine = self._reg_str(sku_key, "KeyManagementServiceName")
        port = self._reg_int(sku_key, "KeyManagementServicePort", 0) if machine else 0
        if machine is None:
            machine = self._reg_str(root, "KeyManagementServiceName")
            port = self._reg_int(root, "KeyManagementServicePort", 0)
        elif not port:
            port = self._reg_int(sku_key, "KeyManagementServicePort", 0)
        domain = None
        if self.os.win8plus and p.store == "spp":
            domain = self._reg_str(sku_key, "KeyManagementServiceLookupDomain") or \
                self._reg_str(root, "KeyManagementServiceLookupDomain")
        caching = self._reg_int(root, "DisableKeyManagementServiceHostCaching", 0) == 0
        return {"machine": machine, "port": port, "lookup_domain": domain, "host_caching": caching}

    def kms_targets(self, p: Product) -> list[tuple[str, int]]:
        """Hosts to try in order: the configured KMS machine only when one is set (it
        "disables auto-detection"); else the cached host (host caching on) then the SRV
        records of the lookup domain or the host's own domain in RFC 2782 order (lowest
        priority first, weighted random within a priority, drawn from the world's seeded
        random source) [INFERRED §5 client discovery], [WSD-DNS]. ``WmiError`` with the
        DNS HRESULT when discovery fails (0x8007232B no record, 0x8007232A server failure)."""
        s = self.kms_client_settings(p)
        recs = self._discover(p, s)
        return self._order_targets(p, s, recs)

    def _discover(self, p: Product, s: dict[str, t.Any]) -> list[SrvRecord] | None:
        """The SRV records to order (None when a KMS machine is configured)."""
        if s["machine"]:
            return None
        domain = s["lookup_domain"] or self.domain
        # Sorted first, so the order a DNS server happens to answer in does not leak into
        # the (seeded) random order.
        return sorted(self.world.kms_transport.discover(self, domain),
                      key=lambda r: (r.priority, r.weight, r.port, r.target))

    def _order_targets(self, p: Product, s: dict[str, t.Any], recs: list[SrvRecord] | None) -> list[tuple[str, int]]:
        if recs is None:
            return [(s["machine"], s["port"] or 1688)]
        ordered = order_srv(recs, self.world.rng)
        targets = [(r.target, r.port) for r in ordered]
        if s["host_caching"] and p.discovered_name and (p.discovered_name, p.discovered_port) in targets:
            cached = (p.discovered_name, p.discovered_port)
            targets.remove(cached)
            targets.insert(0, cached)
        return targets

    def _reach_token(self, p: Product, settings: dict[str, t.Any]) -> t.Hashable:
        """Everything that decides whether a KMS attempt for ``p`` reaches a host, short of
        sending it: the advance() span, the transport's own state (faults, DNS server), the
        DNS records, each KMS-capable host's reachability, sppsvc, listening port and
        firewall rules, and this client's KMS settings."""
        w = self.world
        kms = tuple((h.name, h.reachable, h.services["sppsvc"].status, h.kms_effective_port(),
                     tuple((r.name, r.enabled, r.direction, r.action, tuple(r.profiles), r.protocol,
                            tuple(r.local_ports), tuple(r.remote_addresses), r.service)
                           for r in h.firewall.rules.values()))
                    for h in w.kms_candidates())
        return (w.advance_epoch, w.kms_transport.state_token(), tuple(sorted(w.kms_silent)), w.dns.version, kms,
                self.reachable,
                settings["machine"], settings["port"], settings["lookup_domain"], settings["host_caching"],
                p.discovered_name, p.discovered_port)

    def kms_activate(self, p: Product) -> int:
        """One KMS activation attempt for ``p`` (Activate() or the 2 h / 7 d timers).
        Returns the HRESULT (0 on success) and updates ``p``.

        Inside ``World.advance`` an attempt whose previous try reached no KMS host, with
        nothing changed since (``_reach_token``), is replayed: the same targets in a newly
        drawn order (the random source advances exactly as for a real try) with the same
        per-target failures, without querying DNS or connecting again. The outcome is the
        one a real try would have, because nothing that decides it has changed."""
        now = self.now
        hresult = errors.SL_E_VL_BINDING_SERVICE_UNAVAILABLE
        tried: list[str] = []
        response: KmsResponse | None = None
        s = self.kms_client_settings(p)
        token = self._reach_token(p, s) if self.world.in_advance else None
        cached = self._unreachable.get(p.id)
        recs: list[SrvRecord] | None
        reasons: dict[tuple[str, int], str]
        if token is not None and cached is not None and cached[0] == token:
            _, hresult, recs, reasons = cached
            if hresult == errors.SL_E_VL_BINDING_SERVICE_UNAVAILABLE:
                tried = [f"{n}:{port} ({reasons[(n, port)]})" for n, port in self._order_targets(p, s, recs)]
        else:
            recs = None
            reasons = {}
            try:
                recs = self._discover(p, s)
                targets = self._order_targets(p, s, recs)
            except WmiError as e:
                hresult = e.hresult
                targets = []
            for target in targets:
                try:
                    response = self.world.kms_request(self, p, target)  # the transport, or fault kms_no_answer
                    break
                except KmsConnectError as e:
                    reasons[target] = str(e)
                    tried.append(f"{target[0]}:{target[1]} ({e})")
            if response is None and token is not None:
                self._unreachable[p.id] = (token, hresult, recs, reasons)
            else:
                self._unreachable.pop(p.id, None)
        if response is not None:
            hresult = response.hresult
            p.discovered_name = response.host_name
            p.discovered_port = response.port
            p.discovered_ip = response.host_address
            p.kms_pid = response.host_pid
            p.required_client_count = response.required
            # Host values override the client's after the first response [MS-TIMING].
            p.vl_activation_interval = response.activation_interval
            p.vl_renewal_interval = response.renewal_interval
        if hresult == 0:
            p.kms_licensed_until = now + KMS_VALIDITY
            p.next_attempt_at = now + dt.timedelta(minutes=p.vl_renewal_interval)
            p.vl_activation_type = 2  # KMS (VLActivationType 2 = KMS; only 1 = AD is confirmed, §1.2)
        else:
            p.next_attempt_at = now + dt.timedelta(minutes=p.vl_activation_interval)
        p.last_hresult = hresult
        self.event("Application", 12288, **self._attempt_event(p, hresult, response, tried))
        return hresult

    def volume_activate(self, p: Product) -> int:
        """One activation attempt of a KMS client product: Active Directory first, then KMS,
        as the activation type allows [ADBA-CLIENT in models/adds.py]. Returns the HRESULT."""
        hresult = adds.client_attempt(self, p)
        return self.kms_activate(p) if hresult is None else hresult

    @staticmethod
    def _attempt_event(p: Product, hresult: int, response: KmsResponse | None, tried: list[str]) -> dict[str, t.Any]:
        """The data of the client's event 12288 for one attempt [licensing-api §6 Monitoring]."""
        return {"sku_id": p.id, "hresult": f"0x{hresult:08X}",
                "host": (f"{response.host_name}:{response.port}" if response else None),
                "current_count": (None if response is None or response.current_count == UNCONTACTED
                                  else response.current_count),
                "unreachable": tried}

    def replay_timers(self, until: dt.datetime, horizon: dt.datetime | None) -> int:
        """Run, in one step, the KMS retries of this host that can only repeat their last
        failure: every pending attempt at or before ``until`` and strictly before
        ``horizon`` (the next moment DNS may change: a KMS host's SRV refresh), when each
        product with a pending attempt last failed without reaching any host, with
        nothing changed since (``_reach_token``) and without a random draw (no SRV record
        found, DNS failure, or a configured KMS machine). Each skipped attempt is the
        same as a real one: the same event 12288 (only the newest ``EVENT_LOG_SIZE``
        are kept anyway), the same rescheduling. Used by ``World.advance``; returns the
        number of attempts run. Hosts with a KMS host key are left alone (their log
        also receives 12290 entries from clients, interleaved in time)."""
        if not self.world.in_advance or self.kms_host_products():
            return 0
        pending = [p for p in self.products
                   if p.key_kind == "gvlk" and p.next_attempt_at is not None and self._timer_service_running(p)]
        plans: list[tuple[Product, dict[str, t.Any]]] = []
        for p in pending:
            cached = self._unreachable.get(p.id)
            if cached is None or (cached[2] is not None and cached[1] == errors.SL_E_VL_BINDING_SERVICE_UNAVAILABLE):
                return 0
            s = self.kms_client_settings(p)
            if cached[0] != self._reach_token(p, s):
                return 0
            hresult, reasons = cached[1], cached[3]
            tried_targets = self._order_targets(p, s, None) if s["machine"] and reasons else []
            data = self._attempt_event(p, hresult, None, [f"{n}:{port} ({reasons[(n, port)]})"
                                                           for n, port in tried_targets])
            plans.append((p, data))
        attempts: list[tuple[dt.datetime, int]] = []
        for index, (p, _) in enumerate(plans):
            when = p.next_attempt_at
            assert when is not None
            step = dt.timedelta(minutes=p.vl_activation_interval)
            while when <= until and (horizon is None or when < horizon):
                attempts.append((when, index))
                when += step
            p.next_attempt_at = when
        if not attempts:
            return 0
        attempts.sort()
        for when, index in attempts[-EVENT_LOG_SIZE:]:
            p, data = plans[index]
            self.events.append({"time": when.isoformat(), "log": "Application", "id": 12288,
                                **data, "unreachable": list(data["unreachable"])})
        if len(self.events) > EVENT_LOG_SIZE:
            del self.events[: len(self.events) - EVENT_LOG_SIZE]
        for p, data in plans:
            p.last_hresult = int(data["hresult"], 16)
        return len(attempts)

    def _timer_service_running(self, p: Product) -> bool:
        # The SPP products' timers belong to sppsvc, the OSPP products' to osppsvc.
        svc = self.services.get("osppsvc" if p.store == "ospp" else "sppsvc") or self.services["sppsvc"]
        return svc.status == "Running"

    def run_timers(self, until: dt.datetime) -> dt.datetime | None:
        """The earliest pending timer at or before ``until`` (None if none): a KMS client
        attempt of a product whose licensing service runs, or the SRV refresh."""
        due = [p.next_attempt_at for p in self.products
               if p.key_kind == "gvlk" and p.next_attempt_at is not None and p.next_attempt_at <= until
               and self._timer_service_running(p)]
        if self.next_publish_at is not None and self.next_publish_at <= until:
            due.append(self.next_publish_at)
        return min(due) if due else None

    def fire_timers(self) -> None:
        """Run every timer that is due now: the KMS activation/renewal attempts (while the
        product's licensing service runs; a stopped service's timers wait for its start)
        and the 24 h SRV refresh."""
        now = self.now
        for p in self.products:
            if (p.key_kind == "gvlk" and p.next_attempt_at is not None and p.next_attempt_at <= now
                    and self._timer_service_running(p)):
                self.volume_activate(p)
        if self.next_publish_at is not None and self.next_publish_at <= now:
            self.publish_srv()

    # -- licensing operations -------------------------------------------------------
    def _resolve_key(self, store: str, key: str) -> tuple[Product, str, KeySpec | None]:
        """Map a key to the product it installs on, or raise the HRESULT Windows gives."""
        invalid = WmiError(errors.SL_E_INVALID_PRODUCT_KEY)
        if not KEY_RE.match(key):
            raise invalid
        wg = catalog.WINDOWS_GVLKS.get(key)
        if wg is not None:
            if store != "spp" or self.os.id not in wg.os_ids or wg.edition != self.edition.name:
                raise invalid  # wrong release or edition [WSD-ERR 0xC004F050 "wrong edition"]
            return self._sku("windows", "GVLK"), "gvlk", None
        og = catalog.OFFICE_GVLKS.get(key)
        if og is not None:
            version, prod = og
            return self._office_target(store, f"office-{version}/{prod}", "GVLK"), "gvlk", None
        spec = self.world.activation_service.lookup(key)
        if spec is None:
            raise invalid  # not in this image's key configuration
        release, sub = catalog.parse_key_product(spec.product)
        office_version = catalog.office_version_of(release)
        channel = {"csvlk": "CSVLK", "mak": "MAK", "retail": "RETAIL"}[spec.kind]
        if office_version is None:
            if store != "spp" or (not self.edition.volume and channel != "RETAIL"):
                raise invalid
            if channel == "CSVLK":
                if release not in self.os.csvlk_products:
                    raise invalid  # [LAB] Windows CSVLK for another release/class, see module doc
                return self._sku("windows", "CSVLK"), "csvlk", spec
            if not catalog.release_matches(release, self.os.id) or (sub and sub != self.edition.name):
                raise invalid
            return self._sku("windows", channel), spec.kind, spec
        if office_version not in OFFICE_VERSIONS:
            raise invalid
        if channel == "CSVLK":
            if store != "spp" or not catalog.office_host_supported(office_version, self.os):
                # The host license pack does not install here, so its SKU is absent [LAB], §4.
                raise WmiError(errors.SL_E_MISMATCHED_PRODUCT_SKU,
                               f"the Office {office_version} KMS host license pack does not install on {self.os.id}")
            return self._office_host(office_version), "csvlk", spec
        return self._office_target(store, f"office-{office_version}/{sub}", channel), spec.kind, spec

    def _office_target(self, store: str, family: str, channel: str) -> Product:
        for p in self.store_products(store):
            if p.sku.family == family and p.sku.channel == channel:
                return p
        raise WmiError(errors.SL_E_MISMATCHED_PRODUCT_SKU, f"no {family} {channel} SKU in {store.upper()}")

    def _office_host(self, version: str) -> Product:
        sku = catalog.office_host_sku(version)
        existing = self.product(sku.id)
        if existing is not None:
            return existing
        p = Product(sku, "spp", self.installed_at)
        self.products.append(p)
        return p

    def install_product_key(self, store: str, key: str) -> Product:
        """``InstallProductKey``: map the key to its SKU and install it, replacing the key of
        the same family (Windows: one key at a time; Office: one per product)."""
        key = key.strip().upper()
        target, kind, spec = self._resolve_key(store, key)
        self._install_on(target, key, kind, spec)
        return target

    def _install_on(self, target: Product, key: str, kind: str, spec: KeySpec | None) -> None:
        for p in self.store_products(target.store):
            if p.sku.family == target.sku.family and p.key is not None:
                p.clear_key()
        rng = self.world.rng
        target.key = key
        target.key_kind = kind
        target.key_name = spec.name if spec else None
        lcid = LCIDS.get(self.locale, 1033)
        target.product_key_id = (f"{rng.digits(5)}-{rng.digits(5)}-{rng.digits(3)}-{rng.digits(6)}-03-{lcid}-"
                                 f"{self.os.build}.0000-{rng.randint(1, 365):03d}{self.installed_at.year}")
        target.offline_iid = self.world.activation_service.installation_id(spec, key, self.name, target.id)
        if kind == "gvlk":
            # sppsvc schedules an activation attempt after the activation interval [MS-TIMING].
            target.next_attempt_at = self.now + dt.timedelta(minutes=target.vl_activation_interval)
        if kind == "csvlk":
            if target.kms_host is None:
                target.kms_host = KmsHostState(cap=WINDOWS_CAP if target.sku.product == "windows" else OFFICE_CAP)
            self._load_kms_settings()  # the listener starts with the current settings

    def activate(self, p: Product) -> None:
        """``Activate()``: KMS for a GVLK, the activation service otherwise."""
        if p.key is None:
            raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key")
        if p.key_kind == "gvlk":
            hresult = self.volume_activate(p)
            if hresult:
                raise WmiError(hresult)
            return
        spec = self.world.activation_service.lookup(p.key)
        if spec is None:
            raise WmiError(errors.SL_E_INVALID_PRODUCT_KEY, "key unknown to the activation service")
        self.world.activation_service.activate(spec, self.name, p.id)
        p.activated = True
        p.last_hresult = 0
        if p.key_kind == "csvlk":
            self.publish_srv()

    def deposit_confirmation(self, p: Product, iid: str, cid: str) -> None:
        """``DepositOfflineConfirmationId``: phone activation with the IID the product shows."""
        if p.key is None:
            raise WmiError(errors.SL_E_PKEY_NOT_INSTALLED, f"{p.id} has no key")
        given = "".join(ch for ch in iid if ch.isdigit())
        if p.key_kind == "gvlk" or not p.offline_iid or given != p.offline_iid:
            raise WmiError(errors.SL_E_INVALID_IID_OR_CID, "the installation ID is not this product's")
        self.world.activation_service.check_confirmation(p.offline_iid, cid)
        p.activated = True
        p.last_hresult = 0
        if p.key_kind == "csvlk":
            self.publish_srv()

    def rearm_windows(self) -> None:
        """``ReArmWindows``: one rearm used now, the reset at the next restart (see the module
        docstring); 0xC004D307 when no rearm is left."""
        if self.remaining_rearm <= 0:
            raise WmiError(errors.SL_E_REARM_EXCEEDED)
        self.remaining_rearm -= 1
        self.pending_at_boot.add("windows")

    @staticmethod
    def _restart_grace(products: t.Iterable[Product], now: dt.datetime) -> None:
        for p in products:
            if p.sku.channel != "CSVLK":
                p.grace_anchor = now
                p.activated = False
                p.kms_licensed_until = None

    def rearm_app(self, application_id: str) -> None:
        """``ReArmApp(ApplicationId)`` (Windows 8+): Windows' application ID rearms Windows
        (as ReArmWindows), Office's rearms Office at once with a new CMID [ODO-REARM];
        0xC004D307 when none is left, E_INVALIDARG for another application [LAB]."""
        app = application_id.strip().strip("{}").lower()
        if app == catalog.WINDOWS_APP_ID:
            self.rearm_windows()
            return
        if app != catalog.OFFICE15_APP_ID:
            raise WmiError(errors.E_INVALIDARG, f"no application {application_id} to rearm")
        if self.office_rearm_remaining <= 0:
            raise WmiError(errors.SL_E_REARM_EXCEEDED)
        self.office_rearm_remaining -= 1
        self._restart_grace([p for p in self.store_products("spp") if p.sku.product != "windows"], self.now)
        self.cmid = self.world.rng.guid()

    def rearm_sku(self, p: Product) -> None:
        """``ReArmSku`` (Windows 8+): that SKU's grace starts again [LAB]; 0xC004D307 when none is left."""
        if p.remaining_sku_rearm <= 0:
            raise WmiError(errors.SL_E_REARM_EXCEEDED)
        p.remaining_sku_rearm -= 1
        self._restart_grace([p], self.now)

    def ospp_rearm(self) -> int:
        """``OSPPREARM.EXE`` (what ``ospp.vbs /rearm`` runs [OSPP15]): the OSPP products' grace
        starts again and the OSPP CMID is new [ODO-REARM]; returns the exit code, 0xC004D307
        when no rearm is left [LAB: the HRESULT as exit code]."""
        if not self.has_ospp:
            return errors.WBEM_E_NOT_FOUND
        if self.office_rearm_remaining <= 0:
            return errors.SL_E_REARM_EXCEEDED
        self.office_rearm_remaining -= 1
        self._restart_grace(self.store_products("ospp"), self.now)
        self.ospp_cmid = self.world.rng.guid()
        return 0

    def request_restart(self, delay: float) -> None:
        """``shutdown /r /t <delay>``: the control plane's ``World.restart_hook`` takes WinRM down
        and boots the host; without one (models only) the host boots at once."""
        hook = getattr(self.world, "restart_hook", None)
        if hook is None:
            self.boot()
        else:
            hook(self, delay)

    def boot(self) -> None:
        """The host comes back up: LastBootUpTime is now, a pending Windows rearm takes effect
        (grace again, activation gone, new CMID), the licensing services start again."""
        now = self.now
        self.last_boot = now
        if "windows" in self.pending_at_boot:
            self._restart_grace([p for p in self.store_products("spp") if p.sku.product == "windows"], now)
            self.cmid = self.world.rng.guid()
        self.pending_at_boot.clear()
        for name in list(self.services):
            self.restart_service(name)

    # -- services -------------------------------------------------------------------
    def restart_service(self, name: str) -> Service:
        """Stop and start a service; sppsvc re-reads its KMS settings and republishes SRV records."""
        svc = self.services[name.lower()]
        svc.status = "Running"
        if svc.name == "sppsvc":
            self._load_kms_settings()
            self.publish_srv()
        return svc

    def stop_service(self, name: str) -> Service:
        """Stop a service (fault injection / ``net stop``)."""
        svc = self.services[name.lower()]
        svc.status = "Stopped"
        return svc

    # -- state ----------------------------------------------------------------------
    def snapshot(self) -> dict[str, t.Any]:
        """JSON-able state of the host (never a product key)."""
        now = self.now
        return {
            "name": self.name, "fqdn": self.fqdn, "address": self.spec.address, "os": self.os.id,
            "edition": self.edition.name, "locale": self.locale, "reachable": self.reachable,
            "domain_joined": self.domain_joined,
            "cmid": self.cmid, "ospp_cmid": self.ospp_cmid, "remaining_rearm": self.remaining_rearm,
            "office_rearm_remaining": self.office_rearm_remaining, "last_boot": self.last_boot.isoformat(),
            "pending_at_boot": sorted(self.pending_at_boot),
            "products": [p.snapshot(now) for p in self.products],
            "kms_effective": dict(self.kms_effective),
            "registry": self.registry.snapshot(), "firewall": self.firewall.snapshot(),
            "services": {n: s.as_dict() for n, s in self.services.items()},
            "events": list(self.events), "request_log": list(self.request_log),
        }
