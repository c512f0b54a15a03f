"""The lab's DNS against a real BIND 9: zone, TSIG dynamic updates, faults, Win32 code mapping, SRV order."""

from __future__ import annotations

import collections
import os
import pathlib
import random
import socket
import subprocess
import typing as t

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from winlab.models.srv import SrvRecord, order_srv
from winlab.servers import bind as bind_mod
from winlab.servers.bind import BindError, BindServer
from winlab.servers.dns_client import (
    DnsLookupError,
    DnsResolver,
    DnsUpdateError,
    DnsUpdateRefused,
    SrvPublisher,
)

pytestmark = pytest.mark.skipif(
    bind_mod.named_binary() is None or bind_mod.shutil.which("dig") is None,
    reason="BIND 9 is not installed: apt-get install bind9 bind9-utils bind9-dnsutils (.ci/run does this)",
)

ZONE = "contoso.lab"
WRONG_SECRET = "c2VjcmV0LXRoYXQtaXMtbm90LXRoZS16b25lcy1rZXk="  # base64 of a string, not the zone's key


@pytest.fixture
def named(tmp_path: pathlib.Path) -> t.Iterator[BindServer]:
    server = BindServer(ZONE, tmp_path / "dns")
    server.add_host("kms1", "127.0.10.1")
    server.add_host("kms2.contoso.lab", "127.0.10.2")
    with server:
        yield server
    assert not server.running


def publisher(server: BindServer, secret: str | None = None, key_name: str | None = None) -> SrvPublisher:
    return SrvPublisher(
        server.address,
        server.port,
        ZONE,
        key_name or server.key_name,
        secret or server.key_secret,
        server.key_algorithm,
        source="127.0.10.1",
    )


def resolver(server: BindServer, timeout: float = 2.0) -> DnsResolver:
    return DnsResolver(server.address, server.port, timeout=timeout, source="127.0.10.50")


def dig(server: BindServer, name: str, rdtype: str) -> str:
    result = subprocess.run(
        ["dig", f"@{server.address}", "-p", str(server.port), name, rdtype, "+short", "+tries=1", "+time=2"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def named_processes_for(conf: pathlib.Path) -> list[int]:
    """PIDs of processes whose command line names ``conf`` (independent of BindServer's bookkeeping)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(conf).encode() in cmdline:
            found.append(int(entry.name))
    return found


# ---------------------------------------------------------------------------- the zone


def test_zone_answers_soa_and_ns_authoritatively(named: BindServer) -> None:
    response = dns.query.udp(
        dns.message.make_query(ZONE + ".", "SOA"), named.address, port=named.port, timeout=2
    )
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    soa = response.answer[0][0]
    assert soa.mname.to_text() == "ns1.contoso.lab."
    assert soa.serial >= 1
    assert dig(named, ZONE, "NS") == "ns1.contoso.lab.\n"
    assert dig(named, "ns1." + ZONE, "A") == "127.0.0.1\n"
    # Start time is measured from spawn to the first SOA answer.
    assert named.last_start_seconds is not None
    assert 0 < named.last_start_seconds < 15


def test_hosts_added_before_and_after_start_resolve(named: BindServer) -> None:
    named.add_host("client01", "127.0.10.11")
    assert resolver(named).lookup_a("kms1.contoso.lab") == ["127.0.10.1"]
    assert resolver(named).lookup_a("KMS2.Contoso.Lab.") == ["127.0.10.2"]
    assert resolver(named).lookup_a("client01.contoso.lab") == ["127.0.10.11"]
    assert dig(named, "client01.contoso.lab", "A") == "127.0.10.11\n"


def test_query_outside_the_zone_is_refused(named: BindServer) -> None:
    response = dns.query.udp(
        dns.message.make_query("example.com.", "A"), named.address, port=named.port, timeout=2
    )
    assert response.rcode() == dns.rcode.REFUSED
    with pytest.raises(DnsLookupError) as info:
        resolver(named).lookup_a("example.com")
    assert (info.value.win32_code, info.value.hresult) == (9005, 0x8007232D)


def test_state_stays_under_state_dir(named: BindServer) -> None:
    names = {p.name for p in named.state_dir.iterdir()}
    assert {"named.conf", "tsig.key", "rndc.key", "rndc.conf", "named.log", "contoso.lab.zone"} <= names
    assert oct(os.stat(named.state_dir / "tsig.key").st_mode & 0o777) == "0o600"
    assert "hmac-sha256" in (named.state_dir / "tsig.key").read_text()
    assert f'allow-update {{ key "{named.key_name}"; }};' in named.conf_path.read_text()
    assert named.key_secret not in repr(named)


# ------------------------------------------------------------------- dynamic updates


def test_tsig_update_adds_srv_seen_by_dig_and_dnspython(named: BindServer) -> None:
    record = publisher(named).publish("kms1.contoso.lab")
    assert record == SrvRecord(ZONE, "kms1.contoso.lab", 1688, 0, 0)
    assert dig(named, "_vlmcs._tcp.contoso.lab", "SRV") == "0 0 1688 kms1.contoso.lab.\n"
    assert resolver(named).lookup_srv(ZONE) == [SrvRecord(ZONE, "kms1.contoso.lab", 1688, 0, 0)]
    assert publisher(named).key_name in repr(publisher(named))
    assert named.key_secret not in repr(publisher(named))


def test_publish_adds_without_removing_other_hosts_and_withdraw_is_per_host(named: BindServer) -> None:
    pub = publisher(named)
    pub.publish("kms1.contoso.lab")
    pub.publish("kms2.contoso.lab", 1700, priority=10, weight=5)
    pub.publish("kms1.contoso.lab")  # re-publishing the same record is a no-op (RFC 2136 §3.4.2.2)
    assert sorted(resolver(named).lookup_srv(ZONE)) == [
        SrvRecord(ZONE, "kms1.contoso.lab", 1688, 0, 0),
        SrvRecord(ZONE, "kms2.contoso.lab", 1700, 10, 5),
    ]
    assert pub.withdraw("kms1.contoso.lab") == 1
    assert pub.withdraw("kms1.contoso.lab") == 0
    assert resolver(named).lookup_srv(ZONE) == [SrvRecord(ZONE, "kms2.contoso.lab", 1700, 10, 5)]
    assert pub.withdraw("kms2.contoso.lab") == 1
    assert dig(named, "_vlmcs._tcp.contoso.lab", "SRV") == ""


@pytest.mark.parametrize(
    ("key_name", "tsig_error", "code", "hresult"),
    [
        pytest.param(None, "BADSIG", 9016, 0x80072338, id="wrong-secret"),
        pytest.param("not-a-key.contoso.lab", "BADKEY", 9017, 0x80072339, id="unknown-key"),
    ],
)
def test_update_with_bad_tsig_is_rejected(
    named: BindServer, key_name: str | None, tsig_error: str, code: int, hresult: int
) -> None:
    pub = publisher(named, secret=WRONG_SECRET, key_name=key_name)
    with pytest.raises(DnsUpdateRefused) as info:
        pub.publish("rogue.contoso.lab")
    err = info.value
    assert (err.rcode, err.tsig_error, err.win32_code, err.hresult) == ("NOTAUTH", tsig_error, code, hresult)
    assert str(err) == (
        f"0x{hresult:08X} (DNS_ERROR_RCODE_{tsig_error}): Failed to publish SRV '_vlmcs._tcp' -> "
        f"rogue.contoso.lab:1688: DNS server rejected TSIG key '{pub.key_name}' ({tsig_error})"
    )
    assert WRONG_SECRET not in str(err)
    assert dig(named, "_vlmcs._tcp.contoso.lab", "SRV") == ""
    # named's own account of the rejection, independent of the client's reading.
    assert f"request has invalid signature: TSIG {pub.key_name}: tsig verify failure ({tsig_error})" in (
        named.log_path.read_text()
    )


def test_update_for_another_zone_is_notauth(named: BindServer) -> None:
    pub = SrvPublisher(named.address, named.port, "fabrikam.lab", named.key_name, named.key_secret)
    with pytest.raises(DnsUpdateRefused) as info:
        pub.publish("kms1.fabrikam.lab")
    assert (info.value.rcode, info.value.tsig_error, info.value.win32_code) == ("NOTAUTH", None, 9009)


def test_refuse_updates_gets_a_real_refused_and_can_be_switched_off(named: BindServer) -> None:
    pub = publisher(named)
    pub.publish("kms1.contoso.lab")
    named.refuse_updates(True)
    assert named.updates_refused
    with pytest.raises(DnsUpdateRefused) as info:
        pub.publish("kms2.contoso.lab")
    assert str(info.value) == (
        "0x8007232D (DNS_ERROR_RCODE_REFUSED): Failed to publish SRV '_vlmcs._tcp' -> "
        "kms2.contoso.lab:1688: DNS server answered REFUSED"
    )
    assert (info.value.rcode, info.value.win32_code) == ("REFUSED", 9005)
    with pytest.raises(BindError, match="named answered REFUSED"):
        named.add_host("late", "127.0.10.99")
    # BIND logged the refusal itself; earlier records still resolve.
    assert "update 'contoso.lab/IN' denied" in named.log_path.read_text()
    assert resolver(named).lookup_srv(ZONE) == [SrvRecord(ZONE, "kms1.contoso.lab", 1688, 0, 0)]
    # The fault survives a restart, and so do the records added by updates before it.
    named.stop()
    named.start()
    with pytest.raises(DnsUpdateRefused, match="answered REFUSED"):
        pub.publish("kms2.contoso.lab")
    assert resolver(named).lookup_srv(ZONE) == [SrvRecord(ZONE, "kms1.contoso.lab", 1688, 0, 0)]
    named.refuse_updates(False)
    pub.publish("kms2.contoso.lab")
    assert len(resolver(named).lookup_srv(ZONE)) == 2


# ---------------------------------------------------------------- Win32 code mapping


def test_nxdomain_maps_to_9003(named: BindServer) -> None:
    with pytest.raises(DnsLookupError) as info:
        resolver(named).lookup_srv(ZONE)  # no KMS host has published yet
    assert (info.value.win32_code, info.value.hresult, info.value.symbol) == (
        9003,
        0x8007232B,
        "DNS_ERROR_RCODE_NAME_ERROR",
    )
    assert str(info.value) == (
        "0x8007232B (DNS_ERROR_RCODE_NAME_ERROR): Failed to query SRV '_vlmcs._tcp.contoso.lab': "
        "DNS server answered NXDOMAIN"
    )


def test_name_without_records_of_the_type_maps_to_9501(named: BindServer) -> None:
    with pytest.raises(DnsLookupError) as info:
        resolver(named).lookup_srv_name("kms1.contoso.lab")  # exists (A) but has no SRV
    assert (info.value.win32_code, info.value.hresult, info.value.symbol) == (
        9501,
        0x8007251D,
        "DNS_INFO_NO_RECORDS",
    )


def test_server_down_maps_to_9002_and_restart_keeps_records_and_port(named: BindServer) -> None:
    publisher(named).publish("kms1.contoso.lab")
    port = named.port
    named.stop()
    with pytest.raises(DnsLookupError) as info:
        resolver(named, timeout=0.3).lookup_srv(ZONE)
    assert (info.value.win32_code, info.value.hresult) == (9002, 0x8007232A)
    assert "did not answer" in str(info.value)
    with pytest.raises(DnsUpdateError) as upd:
        publisher(named).publish("kms2.contoso.lab")
    assert not isinstance(upd.value, DnsUpdateRefused)
    assert upd.value.win32_code == 9002
    named.start()
    assert named.port == port
    assert resolver(named).lookup_srv(ZONE) == [SrvRecord(ZONE, "kms1.contoso.lab", 1688, 0, 0)]


# ------------------------------------------------------------------------ lifecycle


def test_stop_leaves_no_process_and_no_socket(tmp_path: pathlib.Path) -> None:
    server = BindServer(ZONE, tmp_path / "dns")
    server.start()
    pid = server.pid
    assert pid is not None
    assert named_processes_for(server.conf_path) == [pid]
    server.stop()
    assert not server.running
    assert named_processes_for(server.conf_path) == []
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        assert tcp.connect_ex((server.address, server.port)) != 0  # nothing listens on TCP
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind((server.address, server.port))  # and the UDP port is free
    server.stop()  # idempotent


def test_start_fails_fast_with_log_tail_when_port_is_taken(tmp_path: pathlib.Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        port = squatter.getsockname()[1]
        server = BindServer(ZONE, tmp_path / "dns", port=port)
        with pytest.raises(BindError, match=r"^Failed to start named for zone 'contoso.lab': ") as info:
            server.start(timeout=10)
        # named 9.18 exits on its own; its log tail in the error says why.
        assert "exited with 1; log: " in str(info.value)
        assert "unable to listen on any configured interfaces" in str(info.value)
        assert not server.running
        assert named_processes_for(server.conf_path) == []


@pytest.mark.parametrize(
    ("zone", "address", "message"),
    [
        ("contoso.lab", "192.0.2.1", "127.0.0.0/8 addresses only"),
        ("bad zone!", "127.0.0.1", "not a valid DNS name"),
    ],
)
def test_constructor_rejects_non_loopback_and_bad_names(
    tmp_path: pathlib.Path, zone: str, address: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BindServer(zone, tmp_path, address=address)


def test_clients_refuse_non_loopback_servers() -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8 only"):
        DnsResolver("192.0.2.53", 53)
    with pytest.raises(ValueError, match=r"127\.0\.0\.0/8 only"):
        SrvPublisher("192.0.2.53", 53, ZONE, "k", WRONG_SECRET)


# ------------------------------------------------------------------ RFC 2782 ordering

RECORDS = [
    SrvRecord(ZONE, "backup.contoso.lab", 1688, 10, 0),
    SrvRecord(ZONE, "big.contoso.lab", 1688, 0, 90),
    SrvRecord(ZONE, "small.contoso.lab", 1688, 0, 10),
    SrvRecord(ZONE, "zero.contoso.lab", 1688, 0, 0),
    SrvRecord(ZONE, "last.contoso.lab", 1688, 20, 0),
]


class RandintOnly:
    """A source offering only ``randint`` (the shape of winlab.rng.LabRandom)."""

    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def randint(self, a: int, b: int) -> int:
        return self._r.randint(a, b)


@pytest.mark.parametrize("seed", [0, 1, 42, 1234])
def test_order_srv_is_by_priority_and_reproducible(seed: int) -> None:
    first = order_srv(RECORDS, random.Random(seed))
    assert first == order_srv(RECORDS, random.Random(seed))
    assert [r.priority for r in first] == [0, 0, 0, 10, 20]
    assert sorted(first) == sorted(RECORDS)
    assert order_srv(RECORDS, RandintOnly(seed)) == order_srv(RECORDS, RandintOnly(seed))


def test_order_srv_weights_choose_proportionally() -> None:
    rng = random.Random(2782)
    group = [SrvRecord(ZONE, "big", 1688, 0, 90), SrvRecord(ZONE, "small", 1688, 0, 10)]
    firsts = collections.Counter(order_srv(group, rng)[0].target for _ in range(4000))
    # RFC 2782 picks uniformly in [0, 100]: "big" first with probability ~ 181/202 = 0.896.
    assert 0.87 < firsts["big"] / 4000 < 0.92


def test_order_srv_equal_zero_weights_are_tried_in_random_order() -> None:
    rng = random.Random(5)
    group = [SrvRecord(ZONE, f"h{i}", 1688, 0, 0) for i in range(3)]
    firsts = collections.Counter(order_srv(group, rng)[0].target for _ in range(3000))
    # Windows clients pick among equal hosts at random [WSD-DNS]: each host leads about a third of the time.
    assert set(firsts) == {"h0", "h1", "h2"}
    assert all(900 < n < 1100 for n in firsts.values())


def test_order_srv_zero_weight_record_rarely_beats_a_weighted_one() -> None:
    rng = random.Random(9)
    group = [SrvRecord(ZONE, "zero", 1688, 0, 0), SrvRecord(ZONE, "weighted", 1688, 0, 50)]
    firsts = collections.Counter(order_srv(group, rng)[0].target for _ in range(5100))
    # RFC 2782: zero-weight records go first in the arrangement, so "zero" wins only a draw of 0 (1 in 51).
    assert 40 < firsts["zero"] < 170
