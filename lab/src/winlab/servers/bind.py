"""The lab's DNS server: a real BIND 9 ``named`` process on a loopback address.

``BindServer`` writes a self-contained configuration under one state directory
(``named.conf``, the zone file and its journal, the TSIG key for dynamic updates,
an rndc key and ``rndc.conf``), starts ``named -g`` (foreground, log to stderr,
which goes to ``named.log``) and returns once named answers the zone's SOA.

What it serves:

- one primary zone for the fleet's domain with SOA, NS (``ns1.<zone>``) and A
  records for the hosts given to :meth:`BindServer.add_host`;
- RFC 2136 dynamic updates signed with TSIG (``allow-update { key "<name>"; }``),
  which is how a Windows KMS host publishes its ``_vlmcs._tcp`` SRV record
  [WSD-DNS], [ODO-DNS];
- nothing else: ``recursion no``, so a query outside the zone is answered REFUSED
  and an update for another zone NOTAUTH, both by BIND itself.

Faults: :meth:`BindServer.refuse_updates` rewrites the ``allow-update`` clause and
runs ``rndc reconfig``, so updates get a real REFUSED from BIND (a DNS server whose
ACL does not let the KMS host write the record [WSD-DNS]); :meth:`BindServer.stop`
followed later by :meth:`BindServer.start` is "DNS down" (the zone file and journal
stay, so records survive the restart, as on a real server).

Not simulated: Active Directory-integrated zones and their Kerberos (GSS-TSIG)
secure updates, record ACLs per owner, scavenging. The lab uses one shared TSIG key.
Loopback only: named listens on the given 127/8 address and nowhere else.
"""

from __future__ import annotations

import ipaddress
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import types
import typing as t

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update

#: Algorithm of the dynamic-update key, as ``tsig-keygen -a`` names it and dnspython accepts it.
TSIG_ALGORITHM = "hmac-sha256"

#: TTL for the records the lab writes into the zone file (one hour, BIND's usual example value).
DEFAULT_TTL = 3600

_KEY_RE = re.compile(
    r'key\s+"(?P<name>[^"]+)"\s*\{\s*algorithm\s+(?P<alg>[\w-]+);\s*secret\s+"(?P<secret>[^"]+)";'
)
_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


class BindError(RuntimeError):
    """named could not be configured, started, reconfigured or stopped; the message carries the log tail."""


def named_binary() -> str | None:
    """Path of ``named`` on this machine, or ``None`` when BIND 9 is not installed."""
    return shutil.which("named") or next(
        (p for p in ("/usr/sbin/named", "/usr/local/sbin/named") if os.access(p, os.X_OK)), None
    )


def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise BindError(f"Failed to find '{name}': install the Debian package bind9 (bind9-utils)")
    return found


def _check_name(name: str, what: str) -> str:
    name = name.rstrip(".").lower()
    if not name or not all(_LABEL_RE.match(label) for label in name.split(".")):
        raise ValueError(f"Failed to use {what} '{name}': not a valid DNS name")
    return name


def _check_loopback(address: str) -> str:
    ip = ipaddress.ip_address(address)
    if ip.version != 4 or not ip.is_loopback:
        raise ValueError(f"Failed to use address '{address}': the lab binds 127.0.0.0/8 addresses only")
    return str(ip)


def free_port(address: str, *, udp_too: bool = True) -> int:
    """Return a port that is free on ``address`` for TCP (and UDP when ``udp_too``) right now.

    The port is released before returning, so another process may take it first;
    callers that start a server on it retry on "address in use".
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((address, 0))
            port = int(tcp.getsockname()[1])
            if not udp_too:
                return port
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((address, port))
                except OSError:
                    continue
                return port
    raise BindError(f"Failed to find a free port on {address}")


def _read_key(path: pathlib.Path) -> tuple[str, str, str]:
    match = _KEY_RE.search(path.read_text())
    if match is None:
        raise BindError(f"Failed to read TSIG key file '{path}': unexpected format")
    return match["name"], match["alg"], match["secret"]


class BindServer:
    """A real ``named`` serving one primary zone on ``address``:``port`` (UDP and TCP).

    ``port=0`` picks a free port at the first :meth:`start`; later starts reuse it,
    so clients configured with the server keep working after a "DNS down" fault.
    Everything named writes stays under ``state_dir`` (created if missing).
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, zone: str, state_dir: pathlib.Path, address: str = "127.0.0.1", port: int = 0) -> None:
        self.zone = _check_name(zone, "zone")
        self.state_dir = pathlib.Path(state_dir)
        self.address = _check_loopback(address)
        self._port = int(port)
        self._rndc_port = 0
        self._hosts: dict[str, str] = {}
        #: Static SRV records of the fleet file: (owner relative to the zone, TTL, RDATA text).
        self._srv: list[tuple[str, int, str]] = []
        self._refuse_updates = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: t.IO[bytes] | None = None
        self._lock = threading.RLock()
        self._key: tuple[str, str, str] | None = None
        #: Seconds the last :meth:`start` took from spawning named to its first SOA answer.
        self.last_start_seconds: float | None = None

    # ----------------------------------------------------------------- properties
    @property
    def port(self) -> int:
        """The DNS port (UDP and TCP); 0 until the first :meth:`start` when created with ``port=0``."""
        return self._port

    @property
    def key_name(self) -> str:
        """Name of the TSIG key allowed to update the zone (created on first use)."""
        return self._ensure_keys()[0]

    @property
    def key_algorithm(self) -> str:
        """TSIG algorithm of :attr:`key_name` (``hmac-sha256``)."""
        return self._ensure_keys()[1]

    @property
    def key_secret(self) -> str:
        """Base64 secret of :attr:`key_name`. A secret: never log or print it unmasked."""
        return self._ensure_keys()[2]

    @property
    def log_path(self) -> pathlib.Path:
        """named's log (its stderr under ``-g``); appended to across restarts."""
        return self.state_dir / "named.log"

    @property
    def conf_path(self) -> pathlib.Path:
        """The generated ``named.conf``."""
        return self.state_dir / "named.conf"

    @property
    def zone_path(self) -> pathlib.Path:
        """The zone file (named keeps dynamic updates in ``<zone_path>.jnl`` beside it)."""
        return self.state_dir / f"{self.zone}.zone"

    @property
    def running(self) -> bool:
        """Whether the named process this object started is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of named while running."""
        return self._proc.pid if self.running and self._proc is not None else None

    # ------------------------------------------------------------------- records
    def add_host(self, name: str, address: str) -> None:
        """Give host ``name`` (relative to the zone, or an FQDN inside it) the A record ``address``.

        Before :meth:`start` the record goes into the zone file; while running it is
        added by a TSIG-signed dynamic update (replacing any A record the name had).
        Raises :class:`BindError` when named rejects the update (e.g. while
        :meth:`refuse_updates` is on).
        """
        relative = self._relative(name)
        address = _check_loopback(address)
        with self._lock:
            self._hosts[relative] = address
            if not self.running:
                return
            update = self._signed_update()
            update.replace(relative, DEFAULT_TTL, "A", address)
            response = dns.query.tcp(update, self.address, port=self._port, timeout=5)
            if response.rcode() != dns.rcode.NOERROR:
                raise BindError(
                    f"Failed to add host '{relative}.{self.zone}': named answered {dns.rcode.to_text(response.rcode())}"
                )

    def add_srv(self, name: str, target: str, port: int, *, priority: int = 0, weight: int = 0,
                ttl: int = DEFAULT_TTL) -> None:
        """Add the SRV record ``priority weight port target`` at ``name`` (relative to the zone).

        ``target`` is fully qualified (the trailing dot is optional). Before :meth:`start` it
        goes into the zone file (and so into every fresh zone); while running it is added by
        a TSIG-signed dynamic update (RFC 2136 add: the other records at the name stay, as
        when a Windows KMS host publishes itself). Records at one name share one TTL
        (RFC 2181 §5.2): named keeps the first one of the zone file, and an update's TTL
        applies to the whole set.
        """
        relative = _check_name(name, "SRV owner name") if name != "@" else name
        rdata = f"{int(priority)} {int(weight)} {int(port)} {_check_name(target.rstrip('.'), 'SRV target')}."
        with self._lock:
            self._srv.append((relative, int(ttl), rdata))
            if not self.running:
                return
            update = self._signed_update()
            update.add(relative, int(ttl), "SRV", rdata)
            response = dns.query.tcp(update, self.address, port=self._port, timeout=5)
            if response.rcode() != dns.rcode.NOERROR:
                raise BindError(
                    f"Failed to add SRV record '{rdata}' at '{relative}.{self.zone}': named answered "
                    f"{dns.rcode.to_text(response.rcode())}"
                )

    def srv_rrset(self, owner: str) -> list[tuple[int, int, int, int, str]]:
        """The SRV records at ``owner`` (an FQDN inside the zone) as named serves them:
        ``(ttl, priority, weight, port, target)`` with the target as an FQDN without dot;
        empty when the name or the RRset does not exist. Raises :class:`BindError` when
        named does not answer."""
        query = dns.message.make_query(owner.rstrip(".") + ".", dns.rdatatype.SRV)
        try:
            response = dns.query.tcp(query, self.address, port=self._port, timeout=5)
        except (OSError, dns.exception.DNSException) as e:
            raise BindError(f"Failed to read SRV '{owner}': {type(e).__name__}") from e
        out: list[tuple[int, int, int, int, str]] = []
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.SRV:
                out += [(int(rrset.ttl), int(r.priority), int(r.weight), int(r.port),
                         r.target.to_text(omit_final_dot=True).lower()) for r in rrset]
        return out

    def update_srv(self, owner: str, *, add: t.Sequence[tuple[int, str]] = (), delete: t.Sequence[str] = ()) -> None:
        """One TSIG-signed update at ``owner`` (an FQDN inside the zone): delete each exact
        RDATA of ``delete`` (``"prio weight port target."``), then add each ``(ttl, rdata)``
        of ``add`` (RFC 2136: all or nothing). For a DNS server's own management interface
        (the lab's root/MicrosoftDNS); the records are not part of the fleet file."""
        relative = self._relative(owner)
        with self._lock:
            update = self._signed_update()
            for rdata in delete:
                update.delete(relative, "SRV", rdata)
            for ttl, rdata in add:
                update.add(relative, int(ttl), "SRV", rdata)
            try:
                response = dns.query.tcp(update, self.address, port=self._port, timeout=5)
            except (OSError, dns.exception.DNSException) as e:
                raise BindError(f"Failed to update SRV '{owner}': {type(e).__name__}") from e
            if response.rcode() != dns.rcode.NOERROR:
                raise BindError(f"Failed to update SRV '{owner}': named answered {dns.rcode.to_text(response.rcode())}")

    def _signed_update(self) -> dns.update.UpdateMessage:
        """An empty RFC 2136 update of the zone, signed with the zone's TSIG key."""
        return dns.update.UpdateMessage(
            self.zone + ".",
            keyring=dns.tsigkeyring.from_text({self.key_name: self.key_secret}),
            keyname=dns.name.from_text(self.key_name),
            keyalgorithm=self.key_algorithm,
        )

    def _relative(self, name: str) -> str:
        name = _check_name(name, "host name")
        if name == self.zone:
            raise ValueError(f"Failed to use host name '{name}': it is the zone apex")
        if name.endswith("." + self.zone):
            name = name[: -len(self.zone) - 1]
        return name

    # ------------------------------------------------------------------- lifecycle
    def start(self, timeout: float = 15.0) -> None:
        """Write the configuration (first time) and run named until it answers the zone's SOA.

        Returns only when an SOA query over UDP gets an authoritative answer.
        Raises :class:`BindError` with the tail of :attr:`log_path` when named exits or
        does not answer within ``timeout`` seconds. Starting a running server is a no-op.
        """
        with self._lock:
            if self.running:
                return
            named = named_binary()
            if named is None:
                raise BindError("Failed to start named: BIND 9 is not installed (Debian package bind9)")
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self._ensure_keys()
            fixed_port = self._port != 0
            attempts = 1 if fixed_port else 3
            for attempt in range(attempts):
                if not fixed_port:
                    self._port = free_port(self.address)
                if not self._rndc_port:
                    self._rndc_port = free_port(self.address, udp_too=False)
                self._write_config()
                if not self.zone_path.exists():
                    self._write_zone()
                try:
                    self._spawn(named, timeout)
                    return
                except BindError as exc:
                    # A port taken since free_port() chose it: named exits "unable to listen".
                    text = str(exc).lower()
                    in_use = "address in use" in text or "unable to listen" in text
                    if not in_use or attempt == attempts - 1:
                        raise
                    self._rndc_port = 0  # both may have been taken; pick again

    def _spawn(self, named: str, timeout: float) -> None:
        # Use the log's size before this start, so an error shows this start's lines only.
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        began = time.monotonic()
        # -g: foreground, all logging to stderr; -4: IPv4 only (the lab is 127/8);
        # -n 2: two worker threads are plenty for a lab and start faster than one per CPU.
        self._proc = subprocess.Popen(
            [named, "-g", "-4", "-n", "2", "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.state_dir,
            start_new_session=True,
        )
        deadline = began + timeout
        query = dns.message.make_query(self.zone + ".", dns.rdatatype.SOA)
        while True:
            if self._proc.poll() is not None:
                rc = self._proc.returncode
                self._reap()
                raise BindError(
                    f"Failed to start named for zone '{self.zone}': exited with {rc}; log: {self._tail(offset)}"
                )
            # named keeps running when it cannot listen ("address in use"); fail fast instead.
            if "address in use" in self._tail(offset, lines=200).lower():
                self._terminate()
                raise BindError(
                    f"Failed to start named for zone '{self.zone}': address in use on "
                    f"{self.address}:{self._port} or rndc port {self._rndc_port}; log: {self._tail(offset)}"
                )
            try:
                response = dns.query.udp(query, self.address, port=self._port, timeout=0.2)
            except (OSError, dns.exception.Timeout):
                response = None
            if response is not None and response.rcode() == dns.rcode.NOERROR and response.answer:
                self.last_start_seconds = time.monotonic() - began
                return
            if time.monotonic() > deadline:
                self._terminate()
                raise BindError(
                    f"Failed to start named for zone '{self.zone}': no SOA answer on "
                    f"{self.address}:{self._port} after {timeout:.0f} s; log: {self._tail(offset)}"
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate named (SIGTERM, then SIGKILL after ``timeout``) and wait until its port is free.

        Leaves no process and no listening socket. Stopping a stopped server is a no-op.
        """
        with self._lock:
            self._terminate(timeout)

    def _terminate(self, timeout: float = 10.0) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._reap()
        # The kernel frees the sockets with the process; wait until a bind succeeds to be sure.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    udp.bind((self.address, self._port))
                break
            except OSError:
                time.sleep(0.02)

    def _reap(self) -> None:
        self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> BindServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    # --------------------------------------------------------------------- faults
    def refuse_updates(self, refuse: bool) -> None:
        """Switch the "DNS refuses updates" fault on or off.

        On: ``allow-update`` names no one, so named answers every dynamic update
        REFUSED (a zone whose ACL does not let the KMS host write [WSD-DNS]). Records
        added earlier stay (the journal is kept); switching off restores the key's rights.
        Applied with ``rndc reconfig`` when named runs, else at the next start.
        """
        with self._lock:
            self._refuse_updates = bool(refuse)
            if self.conf_path.exists() or self.running:
                self._write_config()
            if self.running:
                self.rndc("reconfig")

    @property
    def updates_refused(self) -> bool:
        """Whether :meth:`refuse_updates` is on."""
        return self._refuse_updates

    def rndc(self, *command: str, timeout: float = 10.0) -> str:
        """Run ``rndc <command>`` against this named (its own key and control port); return stdout.

        Raises :class:`BindError` with rndc's output when it fails.
        """
        result = subprocess.run(
            [_tool("rndc"), "-c", str(self.state_dir / "rndc.conf"), *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise BindError(
                f"Failed to run 'rndc {' '.join(command)}': {(result.stderr or result.stdout).strip()}"
            )
        return result.stdout

    # ------------------------------------------------------------------ internals
    def _ensure_keys(self) -> tuple[str, str, str]:
        if self._key is not None:
            return self._key
        self.state_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.state_dir / "tsig.key"
        if not key_file.exists():
            key_name = f"winlab-ddns.{self.zone}"
            self._keygen(key_name, key_file)
        rndc_key = self.state_dir / "rndc.key"
        if not rndc_key.exists():
            self._keygen("winlab-rndc", rndc_key)
        self._key = _read_key(key_file)
        return self._key

    @staticmethod
    def _keygen(name: str, path: pathlib.Path) -> None:
        result = subprocess.run(
            [_tool("tsig-keygen"), "-a", TSIG_ALGORITHM, name], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BindError(f"Failed to create TSIG key '{name}': {result.stderr.strip()}")
        # Secrets: readable by the owner only, like /etc/bind/rndc.key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(result.stdout)

    def _write_config(self) -> None:
        state = self.state_dir
        key_name = self.key_name
        rndc_name = _read_key(state / "rndc.key")[0]
        # "none": BIND answers every update REFUSED (and reports the zone as not dynamic);
        # the journal stays, so switching back to the key restores all earlier updates.
        allow_update = "none;" if self._refuse_updates else f'key "{key_name}";'
        conf = f"""// Generated by winlab.servers.bind; rewritten by refuse_updates().
options {{
    directory "{state}";
    pid-file "{state}/named.pid";
    lock-file "{state}/named.lock";
    session-keyfile "{state}/session.key";
    managed-keys-directory "{state}";
    dump-file "{state}/named_dump.db";
    statistics-file "{state}/named.stats";
    listen-on port {self._port} {{ {self.address}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
    allow-transfer {{ none; }};
}};

include "{state}/tsig.key";
include "{state}/rndc.key";

controls {{
    inet {self.address} port {self._rndc_port} allow {{ {self.address}; }} keys {{ "{rndc_name}"; }};
}};

zone "{self.zone}" {{
    type primary;
    file "{self.zone_path}";
    allow-update {{ {allow_update} }};
}};
"""
        self.conf_path.write_text(conf)
        rndc_conf = f"""include "{state}/rndc.key";
options {{
    default-key "{rndc_name}";
    default-server {self.address};
    default-port {self._rndc_port};
}};
"""
        (state / "rndc.conf").write_text(rndc_conf)

    def _write_zone(self) -> None:
        origin = self.zone + "."
        lines = [
            f"$ORIGIN {origin}",
            f"$TTL {DEFAULT_TTL}",
            # Serial 1; refresh/retry/expire/minimum as in BIND's db.local example.
            f"@ IN SOA ns1.{origin} hostmaster.{origin} 1 604800 86400 2419200 {DEFAULT_TTL}",
            f"@ IN NS ns1.{origin}",
            f"ns1 IN A {self.address}",
        ]
        lines += [f"{name} IN A {address}" for name, address in sorted(self._hosts.items()) if name != "ns1"]
        lines += [f"{name} {ttl} IN SRV {rdata}" for name, ttl, rdata in self._srv]
        self.zone_path.write_text("\n".join(lines) + "\n")

    def _tail(self, offset: int, lines: int = 20) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(offset)
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-lines:]) or "(empty log)"

    def __repr__(self) -> str:
        return f"BindServer(zone={self.zone!r}, address={self.address!r}, port={self._port}, running={self.running})"
