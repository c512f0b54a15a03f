"""The WinRM listeners over real sockets, driven by real pywinrm (requests-ntlm, pyspnego)."""

from __future__ import annotations

import base64
import errno
import socket
import threading
import time
import typing as t

import pytest
import requests
import winrm
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMOperationTimeoutError,
    WSManFaultError,
)

from winlab.protocols import wsman
from winlab.servers.winrm import WinRMServer
from winlab.types import CommandResult

pytest.register_assert_rewrite("conftest_winrm")
from conftest_winrm import PASSWORD, USER, EchoRunner, ServerFactory, url  # noqa: E402

pytest_plugins = ["conftest_winrm"]


def _protocol(address: str, transport: str = "ntlm", user: str = USER, password: str = PASSWORD, **kwargs: t.Any) -> winrm.Protocol:
    kwargs.setdefault("server_cert_validation", "ignore")
    return winrm.Protocol(address, transport=transport, username=user, password=password, **kwargs)  # type: ignore[arg-type]


def _capture_content_types(protocol: winrm.Protocol) -> list[str]:
    """Record the Content-Type of every final HTTP response pywinrm's transport receives."""
    seen: list[str] = []
    send = protocol.transport._send_message_request

    def recording(session: requests.Session, prepared: requests.PreparedRequest) -> requests.Response:
        response = send(session, prepared)
        seen.append(response.headers.get("Content-Type", ""))
        return response

    protocol.transport._send_message_request = recording  # type: ignore[method-assign,assignment]
    return seen


def _refused(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((address, port)) == errno.ECONNREFUSED


def test_ntlm_over_http_seals_every_message(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep))
    content_types = _capture_content_types(protocol)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cscript", ["//nologo", "slmgr.vbs", "/dli"])
    out, err, rc = protocol.get_command_output(shell, command)
    protocol.cleanup_command(shell, command)
    protocol.close_shell(shell)

    assert (out, err, rc) == (b"ran: cscript //nologo slmgr.vbs /dli", b"warning", 0)
    assert ep.runner.calls == [("cscript //nologo slmgr.vbs /dli", b"")]  # type: ignore[attr-defined]
    # The empty POST that sets the NTLM context up (200, no body), then Create, Command,
    # Receive, Signal and Delete, each answered sealed.
    assert content_types[0] == ""
    soap_replies = content_types[1:]
    assert len(soap_replies) == 5
    assert all("multipart/encrypted" in c and "HTTP-SPNEGO-session-encrypted" in c for c in soap_replies)
    stats = server.stats(ep.name)
    assert stats["shells_created"] == 1
    assert stats["commands_run"] == 1
    assert stats["auth_failures"] == 0
    assert stats["connections"] == 1  # keep-alive: the NTLM context lived on one TCP connection


@pytest.mark.parametrize(
    ("transport", "user"),
    [
        pytest.param("basic", USER, id="basic"),
        pytest.param("ntlm", USER, id="ntlm-with-channel-bindings"),
        pytest.param("ntlm", f"HOST0\\{USER.lower()}", id="ntlm-machine-prefixed-name"),
        pytest.param("ntlm", "CORP\\ops", id="ntlm-domain-account"),
    ],
)
def test_https_with_self_signed_certificate(winrm_server: ServerFactory, transport: str, user: str) -> None:
    server, (ep,) = winrm_server()
    password = "0ps-Secret" if user.startswith("CORP") else PASSWORD
    session = winrm.Session(
        url(server, ep, "https"), auth=(user, password), transport=transport, server_cert_validation="ignore"
    )
    result = session.run_cmd("hostname")
    assert (result.status_code, result.std_out, result.std_err) == (0, b"ran: hostname", b"warning")


def test_https_certificate_validates_against_the_lab_ca(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    session = winrm.Session(
        url(server, ep, "https"),
        auth=(USER, PASSWORD),
        transport="basic",
        server_cert_validation="validate",
        ca_trust_path=str(server.ca_path),
    )
    assert session.run_cmd("hostname").std_out == b"ran: hostname"


@pytest.mark.parametrize(
    ("hardening", "send_cbt", "accepted"),
    [
        ("relaxed", True, True),
        ("relaxed", False, True),  # Windows' default lets clients without bindings in
        ("strict", True, True),
        ("strict", False, False),
    ],
)
def test_ntlm_channel_binding_hardening(
    winrm_server: ServerFactory, hardening: str, send_cbt: bool, accepted: bool
) -> None:
    server, (ep,) = winrm_server(cbt_hardening=hardening)
    protocol = _protocol(url(server, ep, "https"), send_cbt=send_cbt)
    if accepted:
        shell = protocol.open_shell()
        protocol.close_shell(shell)
        assert server.stats(ep.name)["auth_failures"] == 0
    else:
        with pytest.raises(InvalidCredentialsError):
            protocol.open_shell()
        assert server.stats(ep.name)["auth_failures"] == 1


@pytest.mark.parametrize(
    ("scheme", "transport", "user", "password"),
    [
        ("http", "ntlm", USER, "wrong"),
        ("http", "ntlm", "nobody", PASSWORD),
        ("https", "ntlm", USER, "wrong"),
        ("https", "basic", USER, "wrong"),
        ("https", "basic", "OTHERDOMAIN\\Administrator", PASSWORD),
    ],
)
def test_rejected_credentials(
    winrm_server: ServerFactory, scheme: str, transport: str, user: str, password: str
) -> None:
    server, (ep,) = winrm_server()
    with pytest.raises(InvalidCredentialsError):
        _protocol(url(server, ep, scheme), transport, user, password).open_shell()
    assert server.stats(ep.name)["auth_failures"] == 1
    assert server.stats(ep.name)["shells_created"] == 0


@pytest.mark.parametrize("allow_unencrypted", [False, True])
def test_basic_over_http_only_with_allow_unencrypted(winrm_server: ServerFactory, allow_unencrypted: bool) -> None:
    server, (ep,) = winrm_server(allow_unencrypted=allow_unencrypted)
    session = winrm.Session(url(server, ep), auth=(USER, PASSWORD), transport="basic")
    if allow_unencrypted:
        assert session.run_cmd("whoami").std_out == b"ran: whoami"
    else:
        with pytest.raises(InvalidCredentialsError):
            session.run_cmd("whoami")
        assert ep.runner.calls == []  # type: ignore[attr-defined]


def test_first_anonymous_reply_offers_negotiate_and_basic_where_usable(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    http = requests.post(url(server, ep), data=b"", timeout=5)
    https = requests.post(url(server, ep, "https"), data=b"", timeout=5, verify=False)
    assert http.status_code == https.status_code == 401
    assert http.headers["WWW-Authenticate"] == "Negotiate"
    assert https.headers["WWW-Authenticate"] == 'Negotiate, Basic realm="WSMAN"'
    assert server.stats(ep.name)["auth_failures"] == 0


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/wsman", 405), ("POST", "/other", 404)])
def test_other_methods_and_paths(winrm_server: ServerFactory, method: str, path: str, status: int) -> None:
    server, (ep,) = winrm_server()
    http_port, _ = server.ports(ep.name)
    response = requests.request(method, f"http://{ep.address}:{http_port}{path}", timeout=5)
    assert response.status_code == status


def test_unsealed_soap_over_http_is_refused(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep), message_encryption="never")
    with pytest.raises(InvalidCredentialsError):
        protocol.open_shell()
    assert server.stats(ep.name)["shells_created"] == 0
    assert server.stats(ep.name)["auth_failures"] == 0  # the credentials were right


def test_unsealed_soap_over_http_with_allow_unencrypted(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server(allow_unencrypted=True)
    session = winrm.Session(url(server, ep), auth=(USER, PASSWORD), transport="ntlm", message_encryption="never")
    assert session.run_cmd("hostname").std_out == b"ran: hostname"


def test_message_that_does_not_unseal_gets_400_and_keeps_the_connection(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep))
    shell = protocol.open_shell()
    transport = protocol.transport
    assert transport.encryption is not None and transport.session is not None
    prepared = transport.encryption.prepare_encrypted_request(transport.session, transport.endpoint, b"<x/>" * 10)
    body = bytearray(t.cast(bytes, prepared.body))
    signature_at = body.index(b"application/octet-stream\r\n") + len(b"application/octet-stream\r\n") + 4
    body[signature_at + 5] ^= 0xFF  # corrupt the NTLM signature's checksum
    prepared.body = bytes(body)
    response = transport.session.send(prepared, timeout=10)
    assert response.status_code == 400
    assert response.headers.get("Connection") != "close"
    # The connection and its NTLM context survive: the next sealed request on it is answered.
    protocol.close_shell(shell)
    assert server.stats(ep.name)["connections"] == 1


def test_unknown_shell_id_is_the_windows_fault(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep))
    bogus = "11111111-2222-3333-4444-555555555555"
    with pytest.raises(WSManFaultError) as caught:
        protocol.run_command(bogus, "hostname")
    assert caught.value.code == 500
    assert caught.value.wsman_fault_code == wsman.CODE_INVALID_SELECTORS == 2150858843
    assert caught.value.fault_subcode == "w:InvalidSelectors"
    assert f"ShellId {bogus} failed because the shell was not found" in caught.value.response


def test_shell_of_another_user_is_not_found(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    owner = _protocol(url(server, ep))
    shell = owner.open_shell()
    other = _protocol(url(server, ep), user="CORP\\ops", password="0ps-Secret")
    with pytest.raises(WSManFaultError) as caught:
        other.run_command(shell, "hostname")
    assert caught.value.wsman_fault_code == 2150858843
    owner.close_shell(shell)


def test_unknown_command_id_is_the_windows_fault(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep))
    shell = protocol.open_shell()
    with pytest.raises(WSManFaultError) as caught:
        protocol.get_command_output_raw(shell, "87E77BEB-6761-4C48-9D70-A00266B8459A")
    assert caught.value.wsman_fault_code == 2150858843
    assert "operation on a command identifier that does not exist" in caught.value.response
    protocol.close_shell(shell)


def test_stdin_chunks_bigger_than_max_envelope_size(winrm_server: ServerFactory) -> None:
    """Ansible sends 200000-byte stdin chunks: about 270 KB envelopes against 153600 advertised."""
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep))
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "PowerShell", ["-NoProfile", "-EncodedCommand", "AA=="], console_mode_stdin=False)
    payload = bytes(range(256)) * 1200  # 307200 bytes, every byte value
    protocol.send_command_input(shell, command, payload[:200000])
    assert ep.runner.calls == []  # type: ignore[attr-defined]  # not before stdin is closed
    protocol.send_command_input(shell, command, payload[200000:], end=True)
    out, _err, rc = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert rc == 0
    assert ep.runner.calls == [("PowerShell -NoProfile -EncodedCommand AA==", payload)]  # type: ignore[attr-defined]
    assert out == b"ran: PowerShell -NoProfile -EncodedCommand AA==\nstdin: " + payload


def test_large_output_spans_several_receives(winrm_server: ServerFactory) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB: needs about nine Receives within 153600-byte envelopes
    server, (ep,) = winrm_server(runner=lambda cmd, stdin: CommandResult(rc=4, stdout=big, stderr=b"e" * 70000))
    protocol = _protocol(url(server, ep))
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "type", ["big.bin"])
    out, err, rc = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (out, err, rc) == (big, b"e" * 70000, 4)
    assert server.stats(ep.name)["http_requests"] >= 3 + 2 + 9 + 1


def test_receive_times_out_until_the_command_finishes(winrm_server: ServerFactory) -> None:
    runner = EchoRunner()
    runner.block = threading.Event()
    server, (ep,) = winrm_server(runner=runner)
    protocol = _protocol(url(server, ep), operation_timeout_sec=1, read_timeout_sec=5)
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "cmd", ["/c", "exit", "7"])
    started = time.monotonic()
    with pytest.raises(WinRMOperationTimeoutError):
        protocol.get_command_output_raw(shell, command)
    assert 0.9 <= time.monotonic() - started < 4
    runner.block.set()
    out, _err, rc = protocol.get_command_output(shell, command)
    protocol.close_shell(shell)
    assert (out, rc) == (b"ran: cmd /c exit 7", 7)


def test_two_concurrent_shells_on_one_host(winrm_server: ServerFactory) -> None:
    """Shell A's command waits until shell B's has run: only possible if both run at once."""
    b_ran = threading.Event()

    def runner(command_line: str, stdin: bytes) -> CommandResult:
        if command_line == "wait-for-b":
            assert b_ran.wait(20)
            return CommandResult(0, b"a done")
        b_ran.set()
        return CommandResult(0, b"b done")

    server, (ep,) = winrm_server(runner=runner)
    results: dict[str, bytes] = {}
    errors: list[BaseException] = []

    def run(name: str, command_line: str) -> None:
        try:
            results[name] = winrm.Session(url(server, ep), auth=(USER, PASSWORD), transport="ntlm").run_cmd(command_line).std_out
        except BaseException as exc:  # reported below
            errors.append(exc)

    a = threading.Thread(target=run, args=("a", "wait-for-b"))
    a.start()
    time.sleep(0.3)
    b = threading.Thread(target=run, args=("b", "go"))
    b.start()
    a.join(30)
    b.join(30)
    assert errors == []
    assert results == {"a": b"a done", "b": b"b done"}
    assert server.stats(ep.name)["shells_created"] == 2


def test_drop_connection_fault_then_next_session_works(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    server.set_fault(ep.name, "drop_connection")
    session = winrm.Session(url(server, ep), auth=(USER, PASSWORD), transport="ntlm")
    with pytest.raises(requests.exceptions.ConnectionError):
        session.run_cmd("hostname")
    assert ep.runner.calls == []  # type: ignore[attr-defined]  # dropped at Command, before running
    again = winrm.Session(url(server, ep), auth=(USER, PASSWORD), transport="ntlm")
    assert again.run_cmd("hostname").std_out == b"ran: hostname"


def test_drop_connection_on_receive_until_cleared(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    protocol = _protocol(url(server, ep))
    shell = protocol.open_shell()
    command = protocol.run_command(shell, "hostname")
    server.set_fault(ep.name, "drop_connection", times=None)
    for _ in range(2):
        with pytest.raises(requests.exceptions.ConnectionError):
            _protocol(url(server, ep)).run_command(shell, "again")
    server.clear_fault(ep.name, "drop_connection")
    fresh = _protocol(url(server, ep))
    out, _err, rc = fresh.get_command_output(shell, command)
    fresh.close_shell(shell)
    assert (out, rc) == (b"ran: hostname", 0)


def test_down_fault_refuses_connections_until_cleared(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    http_port, https_port = server.ports(ep.name)
    server.set_fault(ep.name, "down")
    assert _refused(ep.address, http_port)
    assert _refused(ep.address, https_port)
    with pytest.raises(requests.exceptions.ConnectionError):
        winrm.Session(url(server, ep), auth=(USER, PASSWORD), transport="ntlm").run_cmd("hostname")
    server.clear_fault(ep.name)
    assert server.ports(ep.name) == (http_port, https_port)
    session = winrm.Session(url(server, ep, "https"), auth=(USER, PASSWORD), transport="basic", server_cert_validation="ignore")
    assert session.run_cmd("hostname").std_out == b"ran: hostname"


def test_slow_fault_delays_every_reply(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    session = winrm.Session(url(server, ep, "https"), auth=(USER, PASSWORD), transport="basic", server_cert_validation="ignore")
    started = time.monotonic()
    session.run_cmd("hostname")
    fast = time.monotonic() - started
    server.set_fault(ep.name, "slow", delay=0.2)
    before = server.stats(ep.name)["http_requests"]
    started = time.monotonic()
    session.run_cmd("hostname")
    slow = time.monotonic() - started
    replies = server.stats(ep.name)["http_requests"] - before
    assert replies == 5  # Create, Command, Receive, Signal, Delete
    assert slow >= fast + replies * 0.2 * 0.9


def test_unknown_fault_and_endpoint_are_errors(winrm_server: ServerFactory) -> None:
    server, (ep,) = winrm_server()
    with pytest.raises(ValueError, match="known faults are down, drop_connection, slow"):
        server.set_fault(ep.name, "melt")
    with pytest.raises(KeyError, match="no WinRM endpoint named 'nope'"):
        server.stats("nope")


def test_non_loopback_address_is_refused(tmp_path: t.Any) -> None:
    from winlab.types import Endpoint

    endpoint = Endpoint("bad", "10.0.0.1", {USER: PASSWORD}, EchoRunner())
    with pytest.raises(ValueError, match=r"10\.0\.0\.1 is not in 127\.0\.0\.0/8"):
        WinRMServer([endpoint], tmp_path)


@pytest.mark.parametrize("count", [60, 200])
def test_many_endpoints_start_fast_and_stop_clean(winrm_server: ServerFactory, count: int) -> None:
    threads_before = set(threading.enumerate())
    started = time.monotonic()
    server, endpoints = winrm_server(count=count)
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"{count} endpoints took {elapsed:.2f}s to start"
    # One loop thread for every listener (the runner pool starts threads only when used).
    assert len(set(threading.enumerate()) - threads_before) == 1
    ports = [(ep.address, port) for ep in endpoints for port in server.ports(ep.name)]
    assert len(set(ports)) == 2 * count
    last = endpoints[-1]
    session = winrm.Session(url(server, last, "https"), auth=(USER, PASSWORD), transport="basic", server_cert_validation="ignore")
    assert session.run_cmd("hostname").std_out == b"ran: hostname"
    server.stop()
    assert all(_refused(address, port) for address, port in ports)
    deadline = time.monotonic() + 5
    while set(threading.enumerate()) - threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(threading.enumerate()) - threads_before == set()


def test_start_is_atomic_when_a_port_is_taken(tmp_path: t.Any) -> None:
    from winlab.types import Endpoint

    with socket.socket() as taken:
        taken.bind(("127.0.77.254", 0))
        taken.listen()
        port = taken.getsockname()[1]
        free = Endpoint("free", "127.0.77.253", {USER: PASSWORD}, EchoRunner(), http_port=0, https_port=0)
        clash = Endpoint("clash", "127.0.77.254", {USER: PASSWORD}, EchoRunner(), http_port=port, https_port=0)
        server = WinRMServer([free, clash], tmp_path)
        threads_before = set(threading.enumerate())
        with pytest.raises(OSError, match="Failed to start WinRM listener 'clash'"):
            server.start()
        assert set(threading.enumerate()) - threads_before == set()
        with pytest.raises(RuntimeError, match="not been started"):
            server.set_fault("free", "down")


def test_basic_credentials_are_checked_per_request(winrm_server: ServerFactory) -> None:
    """Basic is stateless: a later request with a wrong password on the same connection fails."""
    server, (ep,) = winrm_server()
    good = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    bad = "Basic " + base64.b64encode(f"{USER}:nope".encode()).decode()
    with requests.Session() as http:
        target = url(server, ep, "https")
        assert http.post(target, data=b"", headers={"Authorization": good}, timeout=5, verify=False).status_code == 200
        assert http.post(target, data=b"", headers={"Authorization": bad}, timeout=5, verify=False).status_code == 401
    assert server.stats(ep.name)["connections"] == 1
