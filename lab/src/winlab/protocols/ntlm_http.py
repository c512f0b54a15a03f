"""HTTP framing and authentication for the WinRM listener: Basic, NTLM, and MS-WSMV message sealing.

No sockets here. :func:`parse_request_head` and :func:`build_response` frame HTTP/1.1;
:class:`ConnectionAuth` is the authentication state of one TCP connection (the NTLM security
context lives on the connection, as with http.sys) and decides, per request, whether to challenge
(401), refuse (400/401) or hand the plaintext SOAP body on; :func:`seal` and :func:`unseal`
implement [MS-WSMV] 2.2.9.1.1 (``multipart/encrypted`` with
``application/HTTP-SPNEGO-session-encrypted``).

Windows behaviours imitated (see docs/reference/winrm-and-lab.md):

- the first reply to an anonymous request is 401 with ``WWW-Authenticate: Negotiate``, plus
  ``Basic realm="WSMAN"`` where Basic is allowed;
- Basic is accepted over HTTPS, and over plain HTTP only when the listener allows unencrypted
  traffic (WinRM's ``AllowUnencrypted``); otherwise the credentials are rejected with 401;
- NTLM (raw NTLMSSP tokens under the ``Negotiate`` or ``NTLM`` scheme, as requests-ntlm sends
  them) through a pyspnego acceptor; a wrong password is 401;
- over plain HTTP, NTLM-authenticated messages are sealed; a body that does not unseal is
  answered 400 and the connection stays open; an unsealed one is answered 401 unless the
  listener allows unencrypted traffic;
- over HTTPS, NTLM channel binding tokens (``tls-server-end-point``, RFC 5929) are checked with
  Windows' default ``CbtHardeningLevel`` of Relaxed: a client that sends bindings must send the
  right ones, a client that sends none is let in (``strict`` rejects those too).

Not implemented: Kerberos, CredSSP, SPNEGO-wrapped tokens (Windows clients), client certificates.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import pathlib
import re
import struct
import threading
import typing as t

import spnego
import spnego.exceptions
from spnego.channel_bindings import GssChannelBindings

from winlab.protocols.md4 import nt_hash

# --------------------------------------------------------------------------------------------
# HTTP/1.1 framing
# --------------------------------------------------------------------------------------------

MAX_HEAD_SIZE = 65536
# WinRM's service-side MaxEnvelopeSizekb defaults to 500 KB on current Windows, which is why the
# 200000-byte stdin chunks of Ansible (about 270 KB of envelope) pass. The lab's own ceiling on a
# request body is far above that: a safety limit, not Windows behaviour.
MAX_BODY_SIZE = 16 * 1024 * 1024

SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"
ENCRYPTED_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{ENCRYPTED_PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}


class HttpError(Exception):
    """A request that cannot be framed; ``status`` is the reply to send before closing."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclasses.dataclass
class HttpRequest:
    """One HTTP request: method, target, version, headers in order, body."""

    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The header's value (several occurrences joined with ``, ``), or None."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    @property
    def keep_alive(self) -> bool:
        connection = (self.header("Connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


def parse_request_head(head: bytes) -> HttpRequest:
    """Parse the request line and headers (everything before the blank line).

    Raises :class:`HttpError` (400) on a malformed head. The body is read by the caller using
    :func:`content_length`.
    """
    try:
        text = head.decode("iso-8859-1")
    except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable request head") from exc
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"malformed request line {lines[0][:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise HttpError(400, f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip()))
    return HttpRequest(method=parts[0], target=parts[1], version=parts[2], headers=headers)


def content_length(request: HttpRequest) -> int:
    """The body length announced by ``Content-Length`` (0 when absent).

    Raises :class:`HttpError`: 411 for chunked bodies (no WinRM client sends them), 400 for a bad
    value, 413 above :data:`MAX_BODY_SIZE`.
    """
    if (request.header("Transfer-Encoding") or "").lower() not in ("", "identity"):
        raise HttpError(411, "chunked request bodies are not supported")
    raw = request.header("Content-Length")
    if raw is None:
        return 0
    try:
        length = int(raw)
    except ValueError as exc:
        raise HttpError(400, f"bad Content-Length {raw!r}") from exc
    if length < 0:
        raise HttpError(400, f"bad Content-Length {raw!r}")
    if length > MAX_BODY_SIZE:
        raise HttpError(413, f"request body of {length} bytes exceeds the lab's limit")
    return length


def build_response(
    status: int, headers: t.Sequence[tuple[str, str]] = (), body: bytes = b"", *, close: bool = False
) -> bytes:
    """Serialize an HTTP/1.1 response, with ``Server`` as http.sys writes it and ``Content-Length``."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}", "Server: Microsoft-HTTPAPI/2.0"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("iso-8859-1") + body


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------


def _split(name: str) -> tuple[str, str]:
    """(domain, user) for ``DOMAIN\\user``, ``user@domain`` or ``user``; the domain may be ''."""
    if "\\" in name:
        domain, user = name.split("\\", 1)
        return domain, user
    if "@" in name:
        user, domain = name.rsplit("@", 1)
        return domain, user
    return "", name


class UserBook:
    """The accounts of one simulated host, matched the way a standalone Windows host matches them.

    ``users`` maps a name (``user``, ``DOMAIN\\user`` or ``user@domain``) to its password. Names
    compare case-insensitively. A local account (no domain) also answers to ``.\\user`` and
    ``MACHINE\\user``, where MACHINE is the host's NetBIOS name (the first label of ``machine``).
    """

    def __init__(self, users: t.Mapping[str, str], machine: str) -> None:
        self.users = dict(users)
        self.netbios = machine.split(".", 1)[0].upper()

    def _local_domains(self) -> tuple[str, ...]:
        return ("", ".", self.netbios)

    def find(self, presented: str) -> str | None:
        """The configured name that ``presented`` designates, or None."""
        p_domain, p_user = _split(presented)
        for name in self.users:
            domain, user = _split(name)
            if user.lower() != p_user.lower():
                continue
            if not domain and p_domain.upper() in self._local_domains():
                return name
            if domain and p_domain.lower() == domain.lower():
                return name
        return None

    def check_password(self, presented: str, password: str) -> str | None:
        """The configured name when ``presented``/``password`` are valid credentials, else None."""
        name = self.find(presented)
        if name is None:
            return None
        # Constant-time comparison: the lab imitates a service, and this costs nothing.
        expected = self.users[name].encode("utf-8")
        return name if hashlib.sha256(expected).digest() == hashlib.sha256(password.encode("utf-8")).digest() else None

    def ntlm_user_file_text(self) -> str:
        """The NTLM_USER_FILE content for pyspnego's acceptor, in the smbpasswd form.

        smbpasswd lines (``DOMAIN\\USER:UID:LM_HASH:NT_HASH:FLAGS:LCT``) carry the NT hash, not
        the password: passwords with ``:`` work and the state directory holds no clear text.
        pyspnego compares the domain of the AUTHENTICATE message exactly, so a local account gets
        one line per accepted domain spelling ('', '.', the NetBIOS name).
        """
        lines = []
        for uid, (name, password) in enumerate(self.users.items(), start=1000):
            domain, user = _split(name)
            nt_hex = nt_hash(password).hex().upper()
            if "@" in name:
                spellings = [name]  # UPN: pyspnego keeps it whole as the user, with no domain
            elif domain:
                spellings = [f"{domain}\\{user}"]
            else:
                spellings = [user] + [f"{d}\\{user}" for d in self._local_domains() if d]
            for spelling in spellings:
                lines.append(f"{spelling}:{uid}:{'0' * 32}:{nt_hex}:[U          ]:LCT-00000000")
        return "\n".join(lines) + "\n"

    def write_ntlm_user_file(self, path: pathlib.Path) -> pathlib.Path:
        """Write :meth:`ntlm_user_file_text` to ``path`` (mode 0600) and return the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.ntlm_user_file_text())
        return path


# --------------------------------------------------------------------------------------------
# NTLM acceptor
# --------------------------------------------------------------------------------------------

# pyspnego reads NTLM_USER_FILE from the environment when the acceptor is created and again when
# it checks the AUTHENTICATE message. Endpoints have different users, hence different files:
# every acceptor call runs with the variable set to its own file, under this lock.
_NTLM_ENV_LOCK = threading.Lock()
_T = t.TypeVar("_T")


class AuthenticationFailed(Exception):
    """The client's credentials (or channel bindings) were rejected."""


_NTLM_SIGNATURE = b"NTLMSSP\x00"
_MSV_AV_EOL = 0x0000
_MSV_AV_CHANNEL_BINDINGS = 0x000A


def ntlm_message_type(token: bytes) -> int | None:
    """1 (NEGOTIATE), 2 (CHALLENGE) or 3 (AUTHENTICATE) for a raw NTLMSSP token, else None ([MS-NLMP] 2.2.1)."""
    if len(token) < 12 or not token.startswith(_NTLM_SIGNATURE):
        return None
    return int(struct.unpack_from("<I", token, 8)[0])


def ntlm_channel_bindings(token: bytes) -> bytes | None:
    """The MsvAvChannelBindings value (an MD5 of the bindings) in an NTLMv2 AUTHENTICATE message.

    None when the message has no NTLMv2 response or no such AV pair. Layout from [MS-NLMP]
    2.2.1.3 (NtChallengeResponseFields at offset 20), 2.2.2.8 (NTProofStr, 16 bytes) and 2.2.2.7
    (NTLMv2_CLIENT_CHALLENGE: 28 bytes before the AV pairs), 2.2.2.1 (AV_PAIR).
    """
    if ntlm_message_type(token) != 3 or len(token) < 28:
        return None
    length, _max, offset = struct.unpack_from("<HHI", token, 20)
    response = token[offset : offset + length]
    if len(response) <= 24:
        return None  # NTLMv1
    pos = 16 + 28
    while pos + 4 <= len(response):
        av_id, av_len = struct.unpack_from("<HH", response, pos)
        if av_id == _MSV_AV_EOL:
            break
        if av_id == _MSV_AV_CHANNEL_BINDINGS:
            return response[pos + 4 : pos + 4 + av_len]
        pos += 4 + av_len
    return None


def tls_server_end_point(certificate_der: bytes, hash_name: str = "sha256") -> GssChannelBindings:
    """The ``tls-server-end-point`` channel bindings for a server certificate (RFC 5929 4.1).

    ``hash_name`` is the certificate's signature hash, with MD5 and SHA-1 replaced by SHA-256.
    """
    if hash_name.lower() in ("md5", "sha1"):
        hash_name = "sha256"
    digest = hashlib.new(hash_name, certificate_der).digest()
    return GssChannelBindings(application_data=b"tls-server-end-point:" + digest)


class NtlmAcceptor:
    """One NTLM server context (pyspnego, pure-Python NTLM), bound to one host's user file."""

    def __init__(
        self,
        user_file: pathlib.Path,
        *,
        channel_bindings: GssChannelBindings | None = None,
        cbt_hardening: t.Literal["none", "relaxed", "strict"] = "relaxed",
    ) -> None:
        self.user_file = user_file
        self.channel_bindings = channel_bindings
        self.cbt_hardening = cbt_hardening
        self._ctx = self._call(
            lambda: spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
        )

    def _call(self, func: t.Callable[[], _T]) -> _T:
        with _NTLM_ENV_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = str(self.user_file)
            try:
                return func()
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous

    @property
    def complete(self) -> bool:
        return bool(self._ctx.complete)

    @property
    def client_principal(self) -> str:
        return str(self._ctx.client_principal or "")

    def step(self, token: bytes) -> bytes | None:
        """Feed a client token; return the CHALLENGE to send back (None once complete).

        Raises :class:`AuthenticationFailed` on a wrong password, an unknown user, missing or
        mismatched channel bindings (per ``cbt_hardening``) or a malformed token.
        """
        bindings = None
        if self.channel_bindings is not None and ntlm_message_type(token) == 3 and self.cbt_hardening != "none":
            sent = ntlm_channel_bindings(token)
            # Relaxed: no bindings (or the all-zero "unspecified" value) from the client is allowed.
            if self.cbt_hardening == "strict" or (sent and sent != b"\x00" * 16):
                bindings = self.channel_bindings
        try:
            return self._call(lambda: self._ctx.step(token, channel_bindings=bindings))
        except (spnego.exceptions.SpnegoError, ValueError, struct.error) as exc:
            raise AuthenticationFailed(str(exc)) from exc

    def wrap(self, data: bytes) -> bytes:
        """Seal ``data``: 16-byte signature followed by the sealed bytes (pyspnego wrap, encrypt=True)."""
        return bytes(self._ctx.wrap(data, encrypt=True).data)

    def unwrap(self, data: bytes) -> bytes:
        """Unseal signature + sealed bytes; raises ``spnego`` errors when the signature does not match."""
        return bytes(self._ctx.unwrap(data).data)


# --------------------------------------------------------------------------------------------
# MS-WSMV 2.2.9.1.1 sealing
# --------------------------------------------------------------------------------------------


class SealError(ValueError):
    """A ``multipart/encrypted`` body that is malformed or does not unseal (answered 400)."""


def seal(acceptor: NtlmAcceptor, payload: bytes) -> tuple[str, bytes]:
    """Encrypt a SOAP payload for the client: (Content-Type, body) per [MS-WSMV] 2.2.9.1.1.

    Body: boundary, the protocol part with ``OriginalContent: ...;Length=N``, boundary, an
    octet-stream part holding ``<int32 LE signature length><signature><sealed payload>``, closing
    boundary. NTLM sealing is RC4, so the sealed payload has exactly N bytes.
    """
    wrapped = acceptor.wrap(payload)
    signature, sealed = wrapped[:16], wrapped[16:]
    body = (
        _BOUNDARY + b"\r\n"
        b"\tContent-Type: " + ENCRYPTED_PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=" + SOAP_CONTENT_TYPE.encode() + b";Length=" + str(len(payload)).encode() + b"\r\n"
        + _BOUNDARY + b"\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<i", len(signature)) + signature + sealed
        + _BOUNDARY + b"--\r\n"
    )
    return ENCRYPTED_CONTENT_TYPE, body


_LENGTH_RE = re.compile(rb"OriginalContent:\s*type=[^\r\n]*?;\s*Length=(\d+)", re.IGNORECASE)
_OCTET_HEADER = b"Content-Type: application/octet-stream\r\n"


def is_sealed(content_type: str | None) -> bool:
    """Whether a Content-Type announces an SPNEGO-session-encrypted body."""
    return bool(content_type) and ENCRYPTED_PROTOCOL.lower() in (content_type or "").lower()


def unseal(acceptor: NtlmAcceptor, body: bytes) -> bytes:
    """Decrypt a ``multipart/encrypted`` request body; raises :class:`SealError`.

    Each encrypted part is located by its ``Length=N`` and the 4-byte signature length, never by
    searching for the boundary inside encrypted bytes.
    """
    out = bytearray()
    pos = 0
    while True:
        match = _LENGTH_RE.search(body, pos)
        if match is None:
            break
        length = int(match.group(1))
        header_at = body.find(_OCTET_HEADER, match.end())
        if header_at < 0:
            raise SealError("encrypted part without an application/octet-stream section")
        start = header_at + len(_OCTET_HEADER)
        if start + 4 > len(body):
            raise SealError("encrypted part truncated before its signature length")
        (sig_len,) = struct.unpack_from("<i", body, start)
        end = start + 4 + sig_len + length
        if sig_len <= 0 or end > len(body):
            raise SealError("encrypted part shorter than its announced length")
        try:
            plain = acceptor.unwrap(body[start + 4 : end])
        except (spnego.exceptions.SpnegoError, ValueError) as exc:
            raise SealError(f"the message does not unseal with this connection's NTLM context: {exc}") from exc
        if len(plain) != length:
            raise SealError(f"unsealed {len(plain)} bytes where the part announced {length}")
        out += plain
        pos = end
    if not out and pos == 0:
        raise SealError("no encrypted part found in the multipart/encrypted body")
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Per-connection authentication
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class AuthPolicy:
    """How one listener authenticates: the host's users, its transport and its WinRM settings."""

    users: UserBook
    ntlm_user_file: pathlib.Path
    https: bool
    allow_unencrypted: bool = False
    allow_basic: bool = True
    channel_bindings: GssChannelBindings | None = None
    cbt_hardening: t.Literal["none", "relaxed", "strict"] = "relaxed"

    @property
    def basic_usable(self) -> bool:
        """Basic travels in clear text: only over TLS or with AllowUnencrypted."""
        return self.allow_basic and (self.https or self.allow_unencrypted)

    def challenge_headers(self) -> list[tuple[str, str]]:
        headers = [("WWW-Authenticate", "Negotiate")]
        if self.basic_usable:
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return headers


@dataclasses.dataclass
class Respond:
    """Answer the request with this, without going to WS-Management.

    ``auth_failure`` marks rejected credentials (for the host's counters).
    """

    status: int
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    body: bytes = b""
    auth_failure: bool = False


@dataclasses.dataclass
class Accept:
    """An authenticated request: ``user`` as configured, the plaintext ``payload``, and whether
    the reply must be sealed (it was sealed on the way in)."""

    user: str
    payload: bytes
    sealed: bool


class ConnectionAuth:
    """The authentication state of one TCP connection.

    Basic authenticates each request; NTLM authenticates the connection once (three legs on the
    same socket) and then every later request on it, sealed over HTTP.
    """

    def __init__(self, policy: AuthPolicy) -> None:
        self.policy = policy
        self._acceptor: NtlmAcceptor | None = None
        self._ntlm_user: str | None = None

    @property
    def acceptor(self) -> NtlmAcceptor | None:
        """The established NTLM context, if the connection is NTLM-authenticated."""
        return self._acceptor if self._ntlm_user else None

    def _unauthorized(self, *, failure: bool) -> Respond:
        return Respond(401, self.policy.challenge_headers(), auth_failure=failure)

    def process(self, request: HttpRequest) -> Respond | Accept:
        """Decide what to do with one request (headers and full body already read)."""
        authorization = request.header("Authorization")
        if authorization:
            scheme, _, value = authorization.strip().partition(" ")
            scheme = scheme.lower()
            if scheme == "basic":
                return self._basic(value.strip(), request)
            if scheme in ("negotiate", "ntlm"):
                return self._ntlm(scheme, value.strip(), request)
            return self._unauthorized(failure=True)
        if self._ntlm_user and self._acceptor:
            return self._payload(self._ntlm_user, request)
        return self._unauthorized(failure=False)

    def _basic(self, value: str, request: HttpRequest) -> Respond | Accept:
        if not self.policy.basic_usable:
            # As on Windows with AllowUnencrypted=false: Basic over HTTP is rejected with 401.
            return self._unauthorized(failure=True)
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return self._unauthorized(failure=True)
        user, sep, password = decoded.partition(":")
        name = self.policy.users.check_password(user, password) if sep else None
        if name is None:
            return self._unauthorized(failure=True)
        self._acceptor = None
        self._ntlm_user = None
        return Accept(user=name, payload=request.body, sealed=False)

    def _ntlm(self, scheme: str, value: str, request: HttpRequest) -> Respond | Accept:
        try:
            token = base64.b64decode(value, validate=True)
        except binascii.Error:
            return Respond(400)
        kind = ntlm_message_type(token)
        if kind == 1:
            # A NEGOTIATE starts a new context, whatever the connection had before.
            self._ntlm_user = None
            self._acceptor = NtlmAcceptor(
                self.policy.ntlm_user_file,
                channel_bindings=self.policy.channel_bindings if self.policy.https else None,
                cbt_hardening=self.policy.cbt_hardening,
            )
            try:
                challenge = self._acceptor.step(token)
            except AuthenticationFailed:
                self._acceptor = None
                return self._unauthorized(failure=True)
            header = "NTLM" if scheme == "ntlm" else "Negotiate"
            return Respond(401, [("WWW-Authenticate", f"{header} {base64.b64encode(challenge or b'').decode()}")])
        if kind == 3 and self._acceptor is not None and not self._acceptor.complete:
            try:
                self._acceptor.step(token)
            except AuthenticationFailed:
                self._acceptor = None
                return self._unauthorized(failure=True)
            name = self.policy.users.find(self._acceptor.client_principal)
            if name is None:  # cannot happen: the user file is made from the same book
                self._acceptor = None
                return self._unauthorized(failure=True)
            self._ntlm_user = name
            return self._payload(name, request)
        # SPNEGO-wrapped tokens, or an AUTHENTICATE without a NEGOTIATE on this connection.
        self._acceptor = None
        self._ntlm_user = None
        return self._unauthorized(failure=True)

    def _payload(self, user: str, request: HttpRequest) -> Respond | Accept:
        if is_sealed(request.header("Content-Type")):
            assert self._acceptor is not None
            try:
                plain = unseal(self._acceptor, request.body)
            except SealError as exc:
                return Respond(400, [("Content-Type", "text/plain")], str(exc).encode())
            return Accept(user=user, payload=plain, sealed=True)
        if request.body and not self.policy.https and not self.policy.allow_unencrypted:
            # Unsealed SOAP over HTTP with AllowUnencrypted=false: Windows keeps answering 401
            # (Jordan Borean's capture in hashicorp/packer#6205). The credentials were fine, so
            # this is not counted as an authentication failure.
            return self._unauthorized(failure=False)
        return Accept(user=user, payload=request.body, sealed=False)
