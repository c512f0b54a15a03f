"""WS-Management envelopes and WinRS shell/command semantics, as a Windows WinRM service answers them.

No sockets here: :func:`parse_request` turns one SOAP envelope into a :class:`WSManRequest`,
:class:`WinRSHost` keeps one simulated host's shells and commands and answers a request with a
:class:`Reply` (or a :class:`PendingReceive` the caller waits on), and the ``build_*`` functions
render replies the way Windows renders them.

Sources: [MS-WSMV] (Web Services Management Protocol Extensions for Windows Vista), its Remote
Shell messages (Shell, CommandLine, Send, Receive, Signal and their responses); DMTF DSP0226
(WS-Management) for ``wsman:MaxEnvelopeSize`` and the fault structure; fault texts
and codes as recorded from real Windows hosts by pywinrm's and pypsrp's test suites (the
``OperationTimeout`` fault 2150858793, the ``InvalidSelectors`` fault 2150858843 for an unknown
ShellId or CommandId). See docs/reference/winrm-and-lab.md for what clients need.

What is simulated: the ``.../windows/shell/cmd`` resource (cmd shells, as pywinrm, Ansible's winrm
connection and testinfra use), several shells per host and commands per shell, stdin via Send,
output via Receive split to fit the client's ``MaxEnvelopeSize``, Signal and Delete, shell
ownership per user. Not simulated: PowerShell remoting (PSRP) resources, Enumerate/Get of WMI
resources, quotas (MaxShellsPerUser, MaxConcurrentOperationsPerUser), idle timeouts, partial
output while a command is still running (the runner returns everything at once).
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures
import dataclasses
import inspect
import logging
import re
import threading
import typing as t
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from winlab.types import CommandResult, CommandRunner

log = logging.getLogger(__name__)

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_ADDRESSING = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_TRANSFER = "http://schemas.xmlsoap.org/ws/2004/09/transfer"
NS_WSMAN = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
NS_MS_WSMAN = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd"
NS_SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
NS_WSMANFAULT = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault"

ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = NS_SHELL + "/Command"
ACTION_SEND = NS_SHELL + "/Send"
ACTION_RECEIVE = NS_SHELL + "/Receive"
ACTION_SIGNAL = NS_SHELL + "/Signal"
ACTION_FAULT = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"

_SHELL_ACTIONS = frozenset({ACTION_CREATE, ACTION_DELETE, ACTION_COMMAND, ACTION_SEND, ACTION_RECEIVE, ACTION_SIGNAL})

RESOURCE_CMD = NS_SHELL + "/cmd"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
STATE_RUNNING = NS_SHELL + "/CommandState/Running"
STATE_DONE = NS_SHELL + "/CommandState/Done"
SIGNAL_TERMINATE = NS_SHELL + "/signal/terminate"
SIGNAL_CTRL_C = NS_SHELL + "/signal/ctrl_c"

# Fault codes and texts recorded from Windows (pywinrm and pypsrp test data).
CODE_OPERATION_TIMEOUT = 2150858793  # 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT
CODE_INVALID_SELECTORS = 2150858843  # 0x8033805B, unknown ShellId or CommandId

# pywinrm advertises 153600 (its DEFAULT_MAX_ENV_SIZE); DSP0226 (wsman:MaxEnvelopeSize): a service
# must not send a response bigger than the client's MaxEnvelopeSize.
DEFAULT_MAX_ENVELOPE_SIZE = 153600
# Room kept in a Receive reply for everything but the base64 stream text.
_RECEIVE_OVERHEAD = 4096
DEFAULT_OPERATION_TIMEOUT = 60.0

_SOAP_PREFIXES = (
    f'xmlns:s="{NS_SOAP}" xmlns:a="{NS_ADDRESSING}" xmlns:x="{NS_TRANSFER}" '
    f'xmlns:w="{NS_WSMAN}" xmlns:rsp="{NS_SHELL}" xmlns:p="{NS_MS_WSMAN}"'
)


class WSManFault(Exception):
    """A WS-Management fault, rendered by :func:`build_fault` as HTTP 500 with ``s:Fault``.

    ``code`` is the ``f:WSManFault Code`` (the Windows error number clients key on), ``soap_code``
    and ``subcode`` the SOAP 1.2 fault code and subcode, ``reason`` the ``s:Reason`` text and
    ``message`` the ``f:Message`` text.
    """

    def __init__(
        self,
        *,
        code: int | None,
        soap_code: str,
        subcode: str,
        reason: str,
        message: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message or reason)
        self.code = code
        self.soap_code = soap_code
        self.subcode = subcode
        self.reason = reason
        self.message = message or reason
        self.detail = detail


class EnvelopeError(ValueError):
    """The request body is not a SOAP envelope this service can read (answered with HTTP 400)."""


def operation_timeout_fault() -> WSManFault:
    """The fault a Receive gets when no output is ready within ``OperationTimeout`` (poll again)."""
    text = "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  "
    return WSManFault(code=CODE_OPERATION_TIMEOUT, soap_code="s:Receiver", subcode="w:TimedOut", reason=text)


def shell_not_found_fault(shell_id: str) -> WSManFault:
    """The fault for a ShellId the host does not know (or that belongs to another user)."""
    return WSManFault(
        code=CODE_INVALID_SELECTORS,
        soap_code="s:Sender",
        subcode="w:InvalidSelectors",
        reason="The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
        message=(
            f"The request for the Windows Remote Shell with ShellId {shell_id} failed because the shell was not found "
            "on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on "
            "the server. Provide the correct ShellId or create a new shell and retry the operation. "
        ),
        detail="http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/UnexpectedSelectors",
    )


def command_not_found_fault() -> WSManFault:
    """The fault for a CommandId the shell does not know (pypsrp's recording from Windows)."""
    return WSManFault(
        code=CODE_INVALID_SELECTORS,
        soap_code="s:Sender",
        subcode="w:InvalidSelectors",
        reason="The WS-Management service cannot process the request because the request contained invalid selectors for the resource. ",
        message=(
            "The Windows Remote Shell received a request to perform an operation on a command identifier that does "
            "not exist. Either the command has completed execution or the client specified an invalid command "
            "identifier."
        ),
    )


def unsupported_fault(what: str) -> WSManFault:
    """A request this lab does not implement (another resource URI or action).

    The numeric code Windows uses here was not recorded, so none is sent; the SOAP subcode is the
    standard WS-Addressing one.
    """
    return WSManFault(
        code=None,
        soap_code="s:Sender",
        subcode="a:ActionNotSupported",
        reason=f"The WS-Management service cannot process the request: {what} is not supported by this host.",
    )


@dataclasses.dataclass
class WSManRequest:
    """One parsed WS-Management request: header fields and the first element of ``s:Body``."""

    action: str
    message_id: str
    resource_uri: str
    to: str
    selectors: dict[str, str]
    options: dict[str, str]
    operation_timeout: float | None
    max_envelope_size: int | None
    body: ET.Element | None

    @property
    def shell_id(self) -> str | None:
        return self.selectors.get("ShellId")


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


_DURATION_RE = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """Seconds in an xs:duration such as ``PT20S`` or ``PT60.000S`` (days, hours, minutes, seconds).

    Raises :class:`ValueError` for anything else (years and months have no fixed length).
    """
    match = _DURATION_RE.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"not an xs:duration: {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def parse_request(data: bytes) -> WSManRequest:
    """Parse a SOAP 1.2 WS-Management envelope.

    Raises :class:`EnvelopeError` when the data is not XML or not a SOAP envelope with an
    ``a:Action``; header values that are present but unreadable (a bad ``OperationTimeout``) are
    ignored, as they only tune the reply.
    """
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise EnvelopeError(f"the request is not well-formed XML: {exc}") from exc
    if root.tag != _q(NS_SOAP, "Envelope"):
        raise EnvelopeError(f"the request root is {root.tag}, not a SOAP 1.2 Envelope")
    header = root.find(_q(NS_SOAP, "Header"))
    if header is None:
        raise EnvelopeError("the envelope has no s:Header")

    def text(ns: str, name: str) -> str:
        node = header.find(_q(ns, name))
        return (node.text or "").strip() if node is not None else ""

    action = text(NS_ADDRESSING, "Action")
    if not action:
        raise EnvelopeError("the envelope has no a:Action")
    selectors = {
        node.get("Name", ""): (node.text or "").strip()
        for node in header.iterfind(f"{_q(NS_WSMAN, 'SelectorSet')}/{_q(NS_WSMAN, 'Selector')}")
    }
    options = {
        node.get("Name", ""): (node.text or "").strip()
        for node in header.iterfind(f"{_q(NS_WSMAN, 'OptionSet')}/{_q(NS_WSMAN, 'Option')}")
    }
    timeout: float | None = None
    if raw := text(NS_WSMAN, "OperationTimeout"):
        try:
            timeout = parse_duration(raw)
        except ValueError:
            timeout = None
    max_size: int | None = None
    if raw := text(NS_WSMAN, "MaxEnvelopeSize"):
        try:
            max_size = int(raw)
        except ValueError:
            max_size = None
    body = root.find(_q(NS_SOAP, "Body"))
    first = None if body is None or len(body) == 0 else body[0]
    return WSManRequest(
        action=action,
        message_id=text(NS_ADDRESSING, "MessageID"),
        resource_uri=text(NS_WSMAN, "ResourceURI"),
        to=text(NS_ADDRESSING, "To"),
        selectors=selectors,
        options=options,
        operation_timeout=timeout,
        max_envelope_size=max_size,
        body=first,
    )


def new_message_id() -> str:
    """A fresh ``uuid:`` MessageID, upper case as Windows writes them."""
    return "uuid:" + str(uuid.uuid4()).upper()


def build_envelope(action: str, relates_to: str, body: str) -> bytes:
    """A reply envelope: Action, a fresh MessageID, To=anonymous, RelatesTo=the request's MessageID.

    ``body`` is already-serialized XML for the inside of ``s:Body`` (may be empty). pywinrm asserts
    that ``RelatesTo`` equals its MessageID for Signal and Delete.
    """
    relates = f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>" if relates_to else ""
    text = (
        f'<s:Envelope xml:lang="en-US" {_SOAP_PREFIXES}>'
        f"<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>{new_message_id()}</a:MessageID>"
        f"<a:To>{ANONYMOUS}</a:To>{relates}</s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )
    return text.encode("utf-8")


def build_fault(fault: WSManFault, *, relates_to: str, machine: str) -> bytes:
    """Render a fault the way Windows does (``s:Fault`` with ``f:WSManFault Code=... Machine=...``)."""
    code_attr = f" Code={quoteattr(str(fault.code))}" if fault.code is not None else ""
    detail = f"<w:FaultDetail>{escape(fault.detail)}</w:FaultDetail>" if fault.detail else ""
    body = (
        "<s:Fault>"
        f"<s:Code><s:Value>{escape(fault.soap_code)}</s:Value>"
        f"<s:Subcode><s:Value>{escape(fault.subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason>'
        f"<s:Detail>{detail}"
        f'<f:WSManFault xmlns:f="{NS_WSMANFAULT}"{code_attr} Machine={quoteattr(machine)}>'
        f"<f:Message>{escape(fault.message)}</f:Message></f:WSManFault>"
        "</s:Detail></s:Fault>"
    )
    return build_envelope(ACTION_FAULT, relates_to, body)


@dataclasses.dataclass(frozen=True)
class Reply:
    """An HTTP status and a SOAP body (unsealed; the HTTP layer seals it when needed)."""

    status: int
    body: bytes


@dataclasses.dataclass
class PendingReceive:
    """A Receive that has to wait for the command: wait on ``ready`` for at most ``timeout`` seconds,
    then call ``finish()``; it answers the output when the command has finished and the
    OperationTimeout fault otherwise (Windows holds a Receive until there is output or the
    OperationTimeout passes; clients poll again on that fault)."""

    ready: concurrent.futures.Future[CommandResult]
    timeout: float
    finish: t.Callable[[], Reply]


Submit = t.Callable[[t.Callable[[], None]], object]
"""Runs a job somewhere (a thread pool in the server, inline in unit tests)."""


@dataclasses.dataclass
class CallContext:
    """Who sent a request, and where to: used for shell ownership and the Create reply."""

    user: str
    client_ip: str = ""


@dataclasses.dataclass
class _Command:
    command_id: str
    command_line: str
    stdin: bytearray = dataclasses.field(default_factory=bytearray)
    stdin_chunks: int = 0
    stdin_closed: bool = False
    started: bool = False
    result: concurrent.futures.Future[CommandResult] = dataclasses.field(
        default_factory=concurrent.futures.Future
    )
    out_pos: int = 0
    err_pos: int = 0


@dataclasses.dataclass
class _Shell:
    shell_id: str
    owner: str
    client_ip: str
    codepage: str
    input_streams: str
    output_streams: str
    commands: dict[str, _Command] = dataclasses.field(default_factory=dict)


def shell_codepage(shell: _Shell) -> int:
    """The shell's ``WINRS_CODEPAGE`` as a number; 437 (cmd.exe's OEM default on an en-US
    host, what WinRS uses when the client sends none) when absent or not a number."""
    try:
        return int(shell.codepage)
    except ValueError:
        return 437


def _accepts_codepage(runner: t.Callable[..., t.Any]) -> bool:
    """Whether ``runner`` takes a ``codepage`` keyword (runners older than it take two arguments)."""
    try:
        params = inspect.signature(runner).parameters
    except (TypeError, ValueError):
        return False
    return "codepage" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _join_command_line(body: ET.Element) -> str:
    """``rsp:Command`` and every ``rsp:Arguments`` joined by single spaces (what WinRS hands cmd.exe)."""
    command = body.find(_q(NS_SHELL, "Command"))
    parts = [(command.text or "").strip() if command is not None else ""]
    parts += [(arg.text or "") for arg in body.iterfind(_q(NS_SHELL, "Arguments"))]
    return " ".join(p for p in parts if p)


class WinRSHost:
    """The WinRS shells of one simulated host, answering WS-Management requests.

    ``runner`` executes a command line with its stdin; it is called through ``submit`` exactly once
    per command: when stdin is closed by ``Send End="true"``, or at the first Receive when no stdin
    was sent. ``on_shell_created`` and ``on_command_run`` are counters' hooks. Thread-safe: the
    table of shells is guarded by a lock, and results arrive through futures.
    """

    def __init__(
        self,
        runner: CommandRunner,
        *,
        machine: str,
        submit: Submit,
        on_shell_created: t.Callable[[], None] | None = None,
        on_command_run: t.Callable[[], None] | None = None,
    ) -> None:
        self.runner = runner
        self._runner_takes_codepage = _accepts_codepage(runner)
        self.machine = machine
        self._submit = submit
        self._on_shell_created = on_shell_created
        self._on_command_run = on_command_run
        self._shells: dict[str, _Shell] = {}
        self._lock = threading.Lock()

    @property
    def shell_count(self) -> int:
        with self._lock:
            return len(self._shells)

    def handle(self, request: WSManRequest, context: CallContext) -> Reply | PendingReceive:
        """Answer one request; faults come back as a 500 :class:`Reply`, never as an exception."""
        try:
            if request.resource_uri != RESOURCE_CMD:
                raise unsupported_fault(f"the resource {request.resource_uri or '(none)'}")
            if request.action not in _SHELL_ACTIONS:
                raise unsupported_fault(f"the action {request.action}")
            if request.action == ACTION_CREATE:
                return self._create(request, context)
            shell = self._shell(request, context)
            if request.action == ACTION_COMMAND:
                return self._command(request, shell)
            if request.action == ACTION_SEND:
                return self._send(request, shell)
            if request.action == ACTION_RECEIVE:
                return self._receive(request, shell)
            if request.action == ACTION_SIGNAL:
                return self._signal(request, shell)
            if request.action == ACTION_DELETE:
                with self._lock:
                    self._shells.pop(shell.shell_id, None)
                return self._ok(request, "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse", "")
            raise unsupported_fault(f"the action {request.action}")
        except WSManFault as fault:
            return self.fault_reply(request, fault)

    def fault_reply(self, request: WSManRequest | None, fault: WSManFault) -> Reply:
        """HTTP 500 with the rendered fault, related to ``request`` when there is one."""
        relates = request.message_id if request else ""
        return Reply(500, build_fault(fault, relates_to=relates, machine=self.machine))

    @staticmethod
    def _ok(request: WSManRequest, action: str, body: str) -> Reply:
        return Reply(200, build_envelope(action, request.message_id, body))

    def _shell(self, request: WSManRequest, context: CallContext) -> _Shell:
        shell_id = request.shell_id or ""
        with self._lock:
            shell = self._shells.get(shell_id.upper())
        # Shells belong to the user who created them; another user sees "not found".
        if shell is None or shell.owner.lower() != context.user.lower():
            raise shell_not_found_fault(shell_id)
        return shell

    def _command_of(self, shell: _Shell, command_id: str | None) -> _Command:
        with self._lock:
            command = shell.commands.get((command_id or "").upper())
        if command is None:
            raise command_not_found_fault()
        return command

    def _create(self, request: WSManRequest, context: CallContext) -> Reply:
        body = request.body
        if body is None or body.tag != _q(NS_SHELL, "Shell"):
            raise unsupported_fault("a Create without rsp:Shell")
        inputs = body.findtext(_q(NS_SHELL, "InputStreams"), default="stdin").strip()
        outputs = body.findtext(_q(NS_SHELL, "OutputStreams"), default="stdout stderr").strip()
        shell = _Shell(
            shell_id=str(uuid.uuid4()).upper(),
            owner=context.user,
            client_ip=context.client_ip,
            codepage=request.options.get("WINRS_CODEPAGE", "437"),
            input_streams=inputs,
            output_streams=outputs,
        )
        with self._lock:
            self._shells[shell.shell_id] = shell
        if self._on_shell_created:
            self._on_shell_created()
        # As Windows answers: ResourceCreated with the ShellId selector, then the rsp:Shell.
        address = request.to or "http://localhost/wsman"
        sid = escape(shell.shell_id)
        reply = (
            f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
            f"<w:ResourceURI>{RESOURCE_CMD}</w:ResourceURI>"
            f'<w:SelectorSet><w:Selector Name="ShellId">{sid}</w:Selector></w:SelectorSet>'
            "</a:ReferenceParameters></x:ResourceCreated>"
            f"<rsp:Shell><rsp:ShellId>{sid}</rsp:ShellId><rsp:ResourceUri>{RESOURCE_CMD}</rsp:ResourceUri>"
            f"<rsp:Owner>{escape(shell.owner)}</rsp:Owner><rsp:ClientIP>{escape(shell.client_ip)}</rsp:ClientIP>"
            "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
            f"<rsp:InputStreams>{escape(inputs)}</rsp:InputStreams>"
            f"<rsp:OutputStreams>{escape(outputs)}</rsp:OutputStreams>"
            "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
            "</rsp:Shell>"
        )
        return self._ok(request, "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse", reply)

    def _command(self, request: WSManRequest, shell: _Shell) -> Reply:
        body = request.body
        if body is None or body.tag != _q(NS_SHELL, "CommandLine"):
            raise unsupported_fault("a Command without rsp:CommandLine")
        command = _Command(command_id=str(uuid.uuid4()).upper(), command_line=_join_command_line(body))
        with self._lock:
            shell.commands[command.command_id] = command
        reply = f"<rsp:CommandResponse><rsp:CommandId>{command.command_id}</rsp:CommandId></rsp:CommandResponse>"
        return self._ok(request, NS_SHELL + "/CommandResponse", reply)

    def _send(self, request: WSManRequest, shell: _Shell) -> Reply:
        body = request.body
        if body is None or body.tag != _q(NS_SHELL, "Send"):
            raise unsupported_fault("a Send without rsp:Send")
        to_start: list[_Command] = []
        for stream in body.iterfind(_q(NS_SHELL, "Stream")):
            command = self._command_of(shell, stream.get("CommandId"))
            try:
                data = base64.b64decode((stream.text or "").strip(), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise WSManFault(
                    code=None,
                    soap_code="s:Sender",
                    subcode="w:InvalidParameter",
                    reason=f"The stdin stream is not valid base64: {exc}",
                ) from exc
            with self._lock:
                # Data sent after End="true" has nowhere to go: the pipe is closed.
                if command.stdin_closed:
                    continue
                command.stdin += data
                command.stdin_chunks += 1
                if stream.get("End", "").lower() == "true":
                    command.stdin_closed = True
                    to_start.append(command)
        for command in to_start:
            self._start(command, shell_codepage(shell))
        return self._ok(request, NS_SHELL + "/SendResponse", "<rsp:SendResponse/>")

    def _start(self, command: _Command, codepage: int) -> None:
        with self._lock:
            if command.started:
                return
            command.started = True
            stdin = bytes(command.stdin)

        def job() -> None:
            try:
                if self._runner_takes_codepage:
                    result = self.runner(command.command_line, stdin, codepage=codepage)
                else:
                    result = self.runner(command.command_line, stdin)
                if not isinstance(result, CommandResult):
                    raise TypeError(f"the runner returned {type(result).__name__}, not CommandResult")
            except Exception as exc:  # a lab bug: make it visible to the client, not a hang
                log.exception("runner failed on %s for %r", self.machine, command.command_line[:200])
                result = CommandResult(rc=1, stderr=f"winlab runner error: {exc!r}".encode())
            command.result.set_result(result)

        if self._on_command_run:
            self._on_command_run()
        self._submit(job)

    def _receive(self, request: WSManRequest, shell: _Shell) -> Reply | PendingReceive:
        body = request.body
        desired = body.find(_q(NS_SHELL, "DesiredStream")) if body is not None else None
        if desired is None:
            raise unsupported_fault("a Receive without rsp:DesiredStream")
        command = self._command_of(shell, desired.get("CommandId"))
        with self._lock:
            # No stdin at all: the process runs without input, its output is what Receive waits for.
            start_now = not command.started and command.stdin_chunks == 0
        if start_now:
            self._start(command, shell_codepage(shell))
        limit = request.max_envelope_size or DEFAULT_MAX_ENVELOPE_SIZE

        def finish() -> Reply:
            if not command.result.done():
                return self.fault_reply(request, operation_timeout_fault())
            return self._ok(
                request, NS_SHELL + "/ReceiveResponse", self._output(command, command.result.result(), limit)
            )

        if command.result.done():
            return finish()
        timeout = request.operation_timeout if request.operation_timeout is not None else DEFAULT_OPERATION_TIMEOUT
        return PendingReceive(ready=command.result, timeout=timeout, finish=finish)

    def _output(self, command: _Command, result: CommandResult, limit: int) -> str:
        """The next piece of output; ``Done`` with the exit code only once everything is delivered.

        DSP0226: the reply must fit the client's MaxEnvelopeSize, so big outputs span several
        Receives, each ``Running`` but the last (as Windows does for long output).
        """
        budget = max(1024, (limit - _RECEIVE_OVERHEAD) * 3 // 4)
        cid = command.command_id
        with self._lock:
            out = result.stdout[command.out_pos : command.out_pos + budget]
            command.out_pos += len(out)
            err = result.stderr[command.err_pos : command.err_pos + max(0, budget - len(out))]
            command.err_pos += len(err)
            finished = command.out_pos >= len(result.stdout) and command.err_pos >= len(result.stderr)
        parts = []
        if out:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}">{base64.b64encode(out).decode()}</rsp:Stream>')
        if err:
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}">{base64.b64encode(err).decode()}</rsp:Stream>')
        if finished:
            parts.append(f'<rsp:Stream Name="stdout" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(f'<rsp:Stream Name="stderr" CommandId="{cid}" End="true"></rsp:Stream>')
            parts.append(
                f'<rsp:CommandState CommandId="{cid}" State="{STATE_DONE}">'
                f"<rsp:ExitCode>{int(result.rc)}</rsp:ExitCode></rsp:CommandState>"
            )
        else:
            parts.append(f'<rsp:CommandState CommandId="{cid}" State="{STATE_RUNNING}"/>')
        return "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"

    def _signal(self, request: WSManRequest, shell: _Shell) -> Reply:
        body = request.body
        if body is None or body.tag != _q(NS_SHELL, "Signal"):
            raise unsupported_fault("a Signal without rsp:Signal")
        command_id = (body.get("CommandId") or "").upper()
        with self._lock:
            # terminate and ctrl_c both end the process and forget the command; clients send
            # terminate after the last Receive too, which is when a finished command is released.
            known = shell.commands.pop(command_id, None) is not None
        if not known:
            raise command_not_found_fault()
        return self._ok(request, NS_SHELL + "/SignalResponse", "<rsp:SignalResponse/>")
