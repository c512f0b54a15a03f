"""WS-Management framing, WinRS semantics and HTTP authentication, without sockets."""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import pathlib
import types
import typing as t
import uuid
import xml.etree.ElementTree as ET

import pytest
import spnego
import xmltodict
from requests_ntlm.requests_ntlm import ShimSessionSecurity
from winrm.encryption import Encryption
from winrm.protocol import Protocol

from winlab.protocols import ntlm_http, wsman
from winlab.types import CommandResult

NS = {"s": wsman.NS_SOAP, "a": wsman.NS_ADDRESSING, "w": wsman.NS_WSMAN, "rsp": wsman.NS_SHELL, "f": wsman.NS_WSMANFAULT}
USER = "Administrator"


def _inline(job: t.Callable[[], None]) -> None:
    job()


def _envelope(action: str, body: dict[str, t.Any] | None = None, shell_id: str | None = None, **header: t.Any) -> bytes:
    """A request exactly as pywinrm builds it (its own header builder)."""
    protocol = Protocol("http://windows-host:5985/wsman", username="u", password="p")
    env = protocol.build_wsman_header(action=action, resource_uri=wsman.RESOURCE_CMD, shell_id=shell_id)
    env["env:Header"].update(header)
    env["env:Body"] = body or {}
    return xmltodict.unparse({"env:Envelope": env}).encode()


class Calls:
    def __init__(self, result: CommandResult) -> None:
        self.result = result
        self.seen: list[tuple[str, bytes]] = []

    def __call__(self, command_line: str, stdin: bytes) -> CommandResult:
        self.seen.append((command_line, stdin))
        return self.result


def _host(result: CommandResult | None = None, submit: wsman.Submit = _inline) -> tuple[wsman.WinRSHost, Calls]:
    calls = Calls(result or CommandResult(0, b"out", b"err"))
    return wsman.WinRSHost(calls, machine="ws01", submit=submit), calls


def _reply(outcome: wsman.Reply | wsman.PendingReceive) -> wsman.Reply:
    assert isinstance(outcome, wsman.Reply)
    return outcome


def _create(host: wsman.WinRSHost, user: str = USER) -> str:
    body = {"rsp:Shell": {"@xmlns:rsp": wsman.NS_SHELL, "rsp:InputStreams": "stdin", "rsp:OutputStreams": "stdout stderr"}}
    reply = _reply(host.handle(wsman.parse_request(_envelope(wsman.ACTION_CREATE, body)), wsman.CallContext(user, "127.0.0.1")))
    assert reply.status == 200
    root = ET.fromstring(reply.body)
    return t.cast(str, root.find(".//w:Selector[@Name='ShellId']", NS).text)  # type: ignore[union-attr]


def _command(host: wsman.WinRSHost, shell: str, command: str, arguments: list[str] | None = None) -> str:
    line: dict[str, t.Any] = {"@xmlns:rsp": wsman.NS_SHELL, "rsp:Command": command}
    if arguments is not None:
        line["rsp:Arguments"] = arguments
    request = wsman.parse_request(_envelope(wsman.ACTION_COMMAND, {"rsp:CommandLine": line}, shell))
    root = ET.fromstring(_reply(host.handle(request, wsman.CallContext(USER))).body)
    return t.cast(str, root.find(".//rsp:CommandId", NS).text)  # type: ignore[union-attr]


def _send(host: wsman.WinRSHost, shell: str, command: str, data: bytes, end: bool) -> wsman.Reply:
    attributes = {"@Name": "stdin", "@CommandId": command, "#text": base64.b64encode(data).decode()}
    if end:
        attributes["@End"] = "true"
    stream = {"@xmlns:rsp": wsman.NS_SHELL, "rsp:Stream": attributes}
    return _reply(host.handle(wsman.parse_request(_envelope(wsman.ACTION_SEND, {"rsp:Send": stream}, shell)), wsman.CallContext(USER)))


def _receive(host: wsman.WinRSHost, shell: str, command: str, **header: t.Any) -> wsman.Reply | wsman.PendingReceive:
    body = {"rsp:Receive": {"@xmlns:rsp": wsman.NS_SHELL, "rsp:DesiredStream": {"@CommandId": command, "#text": "stdout stderr"}}}
    return host.handle(wsman.parse_request(_envelope(wsman.ACTION_RECEIVE, body, shell, **header)), wsman.CallContext(USER))


def _streams(reply: wsman.Reply) -> tuple[bytes, bytes, str, str | None]:
    root = ET.fromstring(reply.body)
    out = b"".join(base64.b64decode(n.text) for n in root.iterfind(".//rsp:Stream[@Name='stdout']", NS) if n.text)
    err = b"".join(base64.b64decode(n.text) for n in root.iterfind(".//rsp:Stream[@Name='stderr']", NS) if n.text)
    state = root.find(".//rsp:CommandState", NS)
    assert state is not None
    code = state.find("rsp:ExitCode", NS)
    return out, err, state.get("State", ""), code.text if code is not None else None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT20S", 20.0), ("PT60.000S", 60.0), ("PT1M30S", 90.0), ("P1DT2H", 93600.0), ("PT0.5S", 0.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert wsman.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["20", "PT", "P", "P1Y", "PTS", "-PT5S"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not an xs:duration"):
        wsman.parse_duration(text)


def test_parse_request_reads_pywinrm_header() -> None:
    request = wsman.parse_request(_envelope(wsman.ACTION_RECEIVE, shell_id="ABC"))
    assert request.action == wsman.ACTION_RECEIVE
    assert request.resource_uri == wsman.RESOURCE_CMD
    assert request.shell_id == "ABC"
    assert request.message_id.startswith("uuid:")
    assert request.operation_timeout == 20.0
    assert request.max_envelope_size == 153600
    assert request.to == "http://windows-host:5985/wsman"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not xml", "not well-formed XML"),
        (b"<a/>", "not a SOAP 1.2 Envelope"),
        (f'<s:Envelope xmlns:s="{wsman.NS_SOAP}"><s:Body/></s:Envelope>'.encode(), "no s:Header"),
        (f'<s:Envelope xmlns:s="{wsman.NS_SOAP}"><s:Header/><s:Body/></s:Envelope>'.encode(), "no a:Action"),
    ],
)
def test_parse_request_rejects(data: bytes, message: str) -> None:
    with pytest.raises(wsman.EnvelopeError, match=message):
        wsman.parse_request(data)


@pytest.mark.parametrize(
    ("command", "arguments", "line"),
    [
        pytest.param("cmd /c cscript //nologo slmgr.vbs /dlv", None, "cmd /c cscript //nologo slmgr.vbs /dlv", id="testinfra-one-string"),
        pytest.param("PowerShell", ["-NoProfile", "-EncodedCommand", "SQBmAA=="], "PowerShell -NoProfile -EncodedCommand SQBmAA==", id="ansible-arguments"),
        pytest.param("PowerShell", ["-NoProfile -NonInteractive"], "PowerShell -NoProfile -NonInteractive", id="pywinrm-joined"),
    ],
)
def test_command_line_is_command_and_arguments_joined(command: str, arguments: list[str] | None, line: str) -> None:
    host, calls = _host()
    shell = _create(host)
    command_id = _command(host, shell, command, arguments)
    _reply(_receive(host, shell, command_id))
    assert calls.seen == [(line, b"")]


def test_command_runs_once_stdin_is_closed() -> None:
    host, calls = _host(CommandResult(3, b"hello", b"oops"))
    shell = _create(host)
    command_id = _command(host, shell, "PowerShell", ["-"])
    assert _send(host, shell, command_id, b"first ", end=False).status == 200
    assert calls.seen == []
    assert _send(host, shell, command_id, b"second", end=True).status == 200
    assert calls.seen == [("PowerShell -", b"first second")]
    out, err, state, code = _streams(_reply(_receive(host, shell, command_id)))
    assert (out, err, state, code) == (b"hello", b"oops", wsman.STATE_DONE, "3")
    assert _send(host, shell, command_id, b"late", end=True).status == 200  # pipe closed: ignored
    assert calls.seen == [("PowerShell -", b"first second")]


def test_receive_waits_while_stdin_is_open_and_answers_operation_timeout() -> None:
    host, calls = _host()
    shell = _create(host)
    command_id = _command(host, shell, "PowerShell", ["-"])
    _send(host, shell, command_id, b"partial", end=False)
    pending = _receive(host, shell, command_id)
    assert isinstance(pending, wsman.PendingReceive)
    assert pending.timeout == 20.0  # the client's OperationTimeout
    fault = pending.finish()
    assert fault.status == 500
    root = ET.fromstring(fault.body)
    assert root.find(".//f:WSManFault", NS).get("Code") == "2150858793"  # type: ignore[union-attr]
    assert root.find(".//s:Subcode/s:Value", NS).text == "w:TimedOut"  # type: ignore[union-attr]
    assert calls.seen == []


def test_receive_pending_on_a_pool_completes() -> None:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        host, _ = _host(submit=pool.submit)
        shell = _create(host)
        command_id = _command(host, shell, "hostname")
        outcome = _receive(host, shell, command_id)
        if isinstance(outcome, wsman.PendingReceive):
            outcome.ready.result(5)
            outcome = outcome.finish()
        assert _streams(outcome)[:2] == (b"out", b"err")


def test_output_is_split_to_fit_max_envelope_size() -> None:
    stdout = b"x" * 10000
    host, _ = _host(CommandResult(0, stdout, b"y" * 3000))
    shell = _create(host)
    command_id = _command(host, shell, "type", ["big"])
    size = f"{wsman._RECEIVE_OVERHEAD + 4000}"
    pieces = []
    for _ in range(10):
        reply = _reply(_receive(host, shell, command_id, **{"w:MaxEnvelopeSize": {"@mustUnderstand": "true", "#text": size}}))
        assert len(reply.body) <= int(size)
        pieces.append(_streams(reply))
        if pieces[-1][2] == wsman.STATE_DONE:
            break
    assert [p[2] for p in pieces] == [wsman.STATE_RUNNING] * 4 + [wsman.STATE_DONE]
    assert b"".join(p[0] for p in pieces) == stdout
    assert b"".join(p[1] for p in pieces) == b"y" * 3000
    assert pieces[-1][3] == "0"


def _fault_of(reply: wsman.Reply) -> tuple[str | None, str]:
    root = ET.fromstring(reply.body)
    fault = root.find(".//f:WSManFault", NS)
    assert fault is not None
    return fault.get("Code"), fault.findtext("f:Message", "", NS)


def test_unknown_shell_and_other_users_shell() -> None:
    host, _ = _host()
    shell = _create(host, user="CORP\\ops")
    request = wsman.parse_request(_envelope(wsman.ACTION_DELETE, shell_id=shell))
    reply = _reply(host.handle(request, wsman.CallContext(USER)))
    assert reply.status == 500
    code, message = _fault_of(reply)
    assert code == "2150858843"
    assert message.startswith(f"The request for the Windows Remote Shell with ShellId {shell} failed")
    assert ET.fromstring(reply.body).find(".//a:RelatesTo", NS).text == request.message_id  # type: ignore[union-attr]
    assert host.shell_count == 1
    assert _reply(host.handle(request, wsman.CallContext("corp\\OPS"))).status == 200
    assert host.shell_count == 0


def test_signal_and_delete_relate_to_the_request() -> None:
    host, _ = _host()
    shell = _create(host)
    command_id = _command(host, shell, "hostname")
    _reply(_receive(host, shell, command_id))
    body = {"rsp:Signal": {"@xmlns:rsp": wsman.NS_SHELL, "@CommandId": command_id, "rsp:Code": wsman.SIGNAL_TERMINATE}}
    request = wsman.parse_request(_envelope(wsman.ACTION_SIGNAL, body, shell))
    reply = _reply(host.handle(request, wsman.CallContext(USER)))
    assert reply.status == 200
    assert ET.fromstring(reply.body).find(".//a:RelatesTo", NS).text == request.message_id  # type: ignore[union-attr]
    again = _reply(host.handle(wsman.parse_request(_envelope(wsman.ACTION_SIGNAL, body, shell)), wsman.CallContext(USER)))
    assert _fault_of(again) == ("2150858843", wsman.command_not_found_fault().message)


@pytest.mark.parametrize(
    ("action", "resource"),
    [("http://schemas.xmlsoap.org/ws/2004/09/transfer/Get", wsman.RESOURCE_CMD), (wsman.ACTION_CREATE, "http://schemas.microsoft.com/powershell/Microsoft.PowerShell")],
)
def test_unsupported_requests_are_faults(action: str, resource: str) -> None:
    host, _ = _host()
    data = _envelope(action).replace(wsman.RESOURCE_CMD.encode(), resource.encode())
    reply = _reply(host.handle(wsman.parse_request(data), wsman.CallContext(USER)))
    assert reply.status == 500
    assert ET.fromstring(reply.body).find(".//s:Subcode/s:Value", NS).text == "a:ActionNotSupported"  # type: ignore[union-attr]


def test_runner_exception_becomes_a_failed_command() -> None:
    def broken(command_line: str, stdin: bytes) -> CommandResult:
        raise RuntimeError("model exploded")

    host = wsman.WinRSHost(broken, machine="ws01", submit=_inline)
    shell = _create(host)
    command_id = _command(host, shell, "hostname")
    out, err, _state, code = _streams(_reply(_receive(host, shell, command_id)))
    assert (out, code) == (b"", "1")
    assert b"model exploded" in err


# ------------------------------------------------------------------ HTTP and authentication


@pytest.mark.parametrize(
    "head",
    [b"GARBAGE", b"POST /wsman HTTP/2\r\nHost: x", b"POST /wsman HTTP/1.1\r\nNoColonHere", b"POST /wsman HTTP/1.1\r\n Lead: x"],
)
def test_parse_request_head_rejects(head: bytes) -> None:
    with pytest.raises(ntlm_http.HttpError) as caught:
        ntlm_http.parse_request_head(head)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("headers", "outcome"),
    [
        ([], 0),
        ([("Content-Length", "12")], 12),
        ([("Content-Length", "-1")], 400),
        ([("Content-Length", "x")], 400),
        ([("Transfer-Encoding", "chunked")], 411),
        ([("Content-Length", str(ntlm_http.MAX_BODY_SIZE + 1))], 413),
    ],
)
def test_content_length(headers: list[tuple[str, str]], outcome: int) -> None:
    request = ntlm_http.HttpRequest("POST", "/wsman", "HTTP/1.1", headers)
    if outcome in (400, 411, 413):
        with pytest.raises(ntlm_http.HttpError) as caught:
            ntlm_http.content_length(request)
        assert caught.value.status == outcome
    else:
        assert ntlm_http.content_length(request) == outcome


@pytest.mark.parametrize(
    ("presented", "found"),
    [
        ("Administrator", "Administrator"),
        ("ADMINISTRATOR", "Administrator"),
        (".\\administrator", "Administrator"),
        ("WS01\\Administrator", "Administrator"),
        ("OTHER\\Administrator", None),
        ("corp\\OPS", "CORP\\ops"),
        ("ops@corp", "CORP\\ops"),
        ("ops", None),
        ("svc@corp.example.test", "svc@corp.example.test"),
    ],
)
def test_user_book_matches_like_windows(presented: str, found: str | None) -> None:
    book = ntlm_http.UserBook({"Administrator": "a", "CORP\\ops": "b", "svc@corp.example.test": "c"}, "ws01.corp.example.test")
    assert book.find(presented) == found


def test_user_file_holds_hashes_not_passwords(tmp_path: pathlib.Path) -> None:
    book = ntlm_http.UserBook({"Administrator": "Pass:word"}, "ws01")
    path = book.write_ntlm_user_file(tmp_path / "u")
    text = path.read_text()
    assert "Pass:word" not in text
    assert (path.stat().st_mode & 0o777) == 0o600
    assert [line.split(":")[0] for line in text.splitlines()] == ["Administrator", ".\\Administrator", "WS01\\Administrator"]


def _policy(tmp_path: pathlib.Path, **kwargs: t.Any) -> ntlm_http.AuthPolicy:
    book = ntlm_http.UserBook({"Administrator": "Pass:word", "CORP\\ops": "0ps"}, "ws01")
    return ntlm_http.AuthPolicy(users=book, ntlm_user_file=book.write_ntlm_user_file(tmp_path / "users"), **kwargs)


def _post(authorization: str | None = None, body: bytes = b"", content_type: str | None = None) -> ntlm_http.HttpRequest:
    headers = [("Authorization", authorization)] if authorization else []
    if content_type:
        headers.append(("Content-Type", content_type))
    return ntlm_http.HttpRequest("POST", "/wsman", "HTTP/1.1", headers, body)


def _ntlm_handshake(auth: ntlm_http.ConnectionAuth, user: str, password: str, **client: t.Any) -> tuple[t.Any, ntlm_http.Respond | ntlm_http.Accept]:
    ctx = spnego.client(user, password, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm, **client)
    first = auth.process(_post("Negotiate " + base64.b64encode(ctx.step() or b"").decode()))
    assert isinstance(first, ntlm_http.Respond) and first.status == 401
    challenge = base64.b64decode(dict(first.headers)["WWW-Authenticate"].split(" ", 1)[1])
    final = auth.process(_post("Negotiate " + base64.b64encode(ctx.step(challenge) or b"").decode()))
    return ctx, final


@pytest.mark.parametrize(
    ("user", "password", "expected"),
    [
        ("Administrator", "Pass:word", "Administrator"),
        ("WS01\\administrator", "Pass:word", "Administrator"),
        ("CORP\\ops", "0ps", "CORP\\ops"),
        ("Administrator", "wrong", None),
        ("CORP\\nobody", "0ps", None),
    ],
)
def test_ntlm_handshake(tmp_path: pathlib.Path, user: str, password: str, expected: str | None) -> None:
    auth = ntlm_http.ConnectionAuth(_policy(tmp_path, https=False))
    _ctx, final = _ntlm_handshake(auth, user, password)
    if expected is None:
        assert isinstance(final, ntlm_http.Respond)
        assert (final.status, final.auth_failure) == (401, True)
        assert auth.acceptor is None
    else:
        assert final == ntlm_http.Accept(user=expected, payload=b"", sealed=False)


def test_sealing_round_trip_and_tampering(tmp_path: pathlib.Path) -> None:
    auth = ntlm_http.ConnectionAuth(_policy(tmp_path, https=False))
    ctx, _ = _ntlm_handshake(auth, "Administrator", "Pass:word")
    soap = b"<s:Envelope>" + b"x" * 5000 + b"</s:Envelope>"
    # The client side is pywinrm's own framing over requests-ntlm's session security.
    session = t.cast(t.Any, types.SimpleNamespace(auth=types.SimpleNamespace(session_security=ShimSessionSecurity(ctx))))
    body = Encryption(session, "ntlm")._encrypt_message(soap, "h") + b"--Encrypted Boundary--\r\n"
    accepted = auth.process(_post(body=body, content_type=ntlm_http.ENCRYPTED_CONTENT_TYPE))
    assert accepted == ntlm_http.Accept(user="Administrator", payload=soap, sealed=True)

    acceptor = auth.acceptor
    assert acceptor is not None
    content_type, sealed = ntlm_http.seal(acceptor, b"<reply/>")
    assert content_type == ntlm_http.ENCRYPTED_CONTENT_TYPE
    response = t.cast(t.Any, types.SimpleNamespace(content=sealed, headers={"Content-Type": content_type}))
    assert Encryption(session, "ntlm")._decrypt_response(response, "h") == b"<reply/>"

    tampered = bytearray(Encryption(session, "ntlm")._encrypt_message(soap, "h"))
    tampered[-10] ^= 0x01
    refused = auth.process(_post(body=bytes(tampered), content_type=ntlm_http.ENCRYPTED_CONTENT_TYPE))
    assert isinstance(refused, ntlm_http.Respond) and refused.status == 400
    assert b"does not unseal" in refused.body


@pytest.mark.parametrize(
    ("https", "allow_unencrypted", "status"),
    [(True, False, 200), (False, True, 200), (False, False, 401)],
)
def test_basic_depends_on_transport(tmp_path: pathlib.Path, https: bool, allow_unencrypted: bool, status: int) -> None:
    auth = ntlm_http.ConnectionAuth(_policy(tmp_path, https=https, allow_unencrypted=allow_unencrypted))
    outcome = auth.process(_post("Basic " + base64.b64encode(b"Administrator:Pass:word").decode(), b"<x/>"))
    if status == 200:
        assert outcome == ntlm_http.Accept(user="Administrator", payload=b"<x/>", sealed=False)
    else:
        assert isinstance(outcome, ntlm_http.Respond) and outcome.status == 401 and outcome.auth_failure
        assert ("WWW-Authenticate", 'Basic realm="WSMAN"') not in outcome.headers


@pytest.mark.parametrize(("send_bindings", "present"), [(True, True), (False, False)])
def test_channel_bindings_are_read_from_the_authenticate_message(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, send_bindings: bool, present: bool
) -> None:
    bindings = ntlm_http.tls_server_end_point(b"certificate bytes")
    ctx = spnego.client("u", "p", protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm, channel_bindings=bindings if send_bindings else None)
    # The CHALLENGE comes from a real pyspnego acceptor (public API only; it needs a user file).
    users = tmp_path / "users"
    users.write_text("WORKGROUP:u:p\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))
    acceptor = spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
    challenge = acceptor.step(ctx.step())
    assert challenge is not None and ntlm_http.ntlm_message_type(challenge) == 2
    token = ctx.step(challenge)
    assert token is not None and ntlm_http.ntlm_message_type(token) == 3
    sent = ntlm_http.ntlm_channel_bindings(token)
    if present:
        assert sent == hashlib.md5(bindings.pack()).digest()
    else:
        assert sent is None


def test_message_id_is_fresh_and_uppercase() -> None:
    first, second = wsman.new_message_id(), wsman.new_message_id()
    assert first != second
    assert first.startswith("uuid:") and first[5:] == first[5:].upper()
    uuid.UUID(first[5:])
