"""What a simulated host's cmd.exe answers to one WinRS command line.

WinRS hands a command line to ``cmd.exe /c``; this module routes it:

* Ansible's module bootstrap (``PowerShell ... -EncodedCommand ...`` with the
  exec wrapper on stdin) -> :func:`winlab.surfaces.modules.run_module`;
* ``cscript [//nologo] [path\\]slmgr.vbs <switch>`` -> :func:`winlab.surfaces.slmgr.render_slmgr`
  (bare ``slmgr.vbs`` is found through ``PATH`` in ``C:\\Windows\\System32``);
* ``cscript [//nologo] "C:\\Program Files[ (x86)]\\Microsoft Office\\Office14|15|16\\OSPP.VBS" <cmd>``
  -> :func:`winlab.surfaces.ospp.render_ospp`, when that Office is installed on the host;
* ``hostname``, ``echo``;
* anything else -> cmd.exe's "is not recognized" message, exit code 9009 — which is
  what testinfra's ``python3 -c ...`` / ``python -c ...`` encoding probe must get
  from a Windows host (docs/reference/winrm-and-lab.md).

Output is CRLF text encoded in the shell's code page (65001 UTF-8, 437, 932...).
Every command is appended to ``host.request_log`` with any product key masked.

Sources and choices:

* cscript's banner and its ``Input Error: Can not find script file "<full path>".``
  (printed on stdout, exit code 1) follow Windows Script Host as reimplemented
  by Wine/ReactOS ``wscript`` (``IDS_FILE_NOT_FOUND``, written to the standard
  output handle); the exit code 1 and the banner version (5.8 on 6.1/6.2,
  5.812 on 6.3+) are UNCONFIRMED from Microsoft.
* A relative script path resolves against the WinRS working directory, the
  user's profile ``C:\\Users\\<user>``; cscript also searches ``PATH``, which is
  how bare ``slmgr.vbs`` works.
* Environment variables cmd.exe expands here: ``%windir%``, ``%SystemRoot%``,
  ``%SystemDrive%``, ``%ProgramFiles%``, ``%ProgramFiles(x86)%``,
  ``%COMPUTERNAME%``, ``%USERPROFILE%``. cmd.exe operators (``&``, ``|``,
  ``>``) are not interpreted.
* Not simulated, answered with exit code 1 and a ``winlab:`` message on
  stderr: slmgr/ospp switches that change state (the collection changes state
  through the licensing API, not through scripts), remote slmgr/ospp use, and
  PowerShell command lines other than Ansible's bootstrap.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t

from winlab.surfaces import ospp as ospp_surface
from winlab.surfaces import slmgr as slmgr_surface
from winlab.surfaces.cim import CimSurface
from winlab.types import CommandResult, CommandRunner

NOT_RECOGNIZED_RC = 9009  # cmd.exe: ERROR_COMMAND_NOT_FOUND as an exit code
SYSTEM32 = "c:\\windows\\system32"
_OFFICE_DIRS = {"office14": ("2010",), "office15": ("2013",), "office16": ("2016", "2019", "2021", "2024")}
_PROGRAM_FILES = ("c:\\program files\\microsoft office", "c:\\program files (x86)\\microsoft office")
# Any 25-character product key (five groups of five) is masked before it reaches a log.
_KEY_RE = re.compile(r"\b[A-Za-z0-9]{5}-[A-Za-z0-9]{5}-[A-Za-z0-9]{5}-[A-Za-z0-9]{5}-([A-Za-z0-9]{5})\b")
_ENV_RE = re.compile(r"%([^%\s]+)%")


def mask_keys(text: str) -> str:
    """Replace every product key in ``text`` by ``XXXXX-XXXXX-XXXXX-XXXXX-<last five>``."""
    return _KEY_RE.sub(lambda m: "XXXXX-XXXXX-XXXXX-XXXXX-" + m.group(1).upper(), text)


def encode_output(text: str, codepage: int) -> bytes:
    """Encode console text as the shell's code page would (65001 = UTF-8); unmappable -> '?'."""
    codec = "utf-8" if codepage == 65001 else f"cp{codepage}"
    try:
        return text.encode(codec, errors="replace")
    except LookupError:
        return text.encode("utf-8", errors="replace")


def split_command_line(line: str) -> list[tuple[str, str]]:
    """Split like cmd.exe/CommandLineToArgvW for the simple cases: ``(raw token, unquoted)`` pairs.

    Double quotes group (and are dropped from the unquoted form); whitespace separates.
    """
    tokens: list[tuple[str, str]] = []
    raw: list[str] = []
    plain: list[str] = []
    quoted = False
    started = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
            raw.append(ch)
            started = True
        elif ch in " \t" and not quoted:
            if started:
                tokens.append(("".join(raw), "".join(plain)))
                raw, plain, started = [], [], False
        else:
            raw.append(ch)
            plain.append(ch)
            started = True
    if started:
        tokens.append(("".join(raw), "".join(plain)))
    return tokens


def _not_recognized(name: str) -> CommandResult:
    return CommandResult(
        rc=NOT_RECOGNIZED_RC,
        stderr=f"'{name}' is not recognized as an internal or external command,\r\n"
               "operable program or batch file.\r\n".encode("ascii", errors="replace"),
    )


def _lab_refusal(what: str, codepage: int) -> CommandResult:
    msg = (f"winlab: {what} is not simulated; the lab answers slmgr.vbs /dli /dlv /xpr and "
           "ospp.vbs /dstatus /dstatusall /dcmid. Change licensing state through the licensing API.\r\n")
    return CommandResult(rc=1, stderr=encode_output(msg, codepage))


class _Host(t.Protocol):
    """What this module needs from a host model (see winlab.models)."""

    locale: str
    os_version: str
    request_log: list[dict[str, t.Any]]
    spec: t.Any


class _CimReader(t.Protocol):
    """What this module reads through CIM (a :class:`~winlab.surfaces.cim.CimSurface`)."""

    def cim_instances(self, class_name: str, namespace: str = "root/cimv2") -> list[dict[str, t.Any]]: ...


def _host_now(world: t.Any) -> dt.datetime:
    """The lab clock's current time for this world."""
    clock = getattr(world, "clock", None)
    if clock is not None:
        now = clock.now() if callable(getattr(clock, "now", None)) else clock.now
        return t.cast(dt.datetime, now)
    now_attr = world.now
    return t.cast(dt.datetime, now_attr() if callable(now_attr) else now_attr)


def _user(host: _Host) -> str:
    return str(getattr(host.spec, "username", "Administrator") or "Administrator")


def _expand_env(line: str, host: _Host) -> str:
    name = str(getattr(host.spec, "name", "localhost"))
    env = {
        "windir": "C:\\Windows", "systemroot": "C:\\Windows", "systemdrive": "C:",
        "programfiles": "C:\\Program Files", "programfiles(x86)": "C:\\Program Files (x86)",
        "computername": name.upper(), "userprofile": f"C:\\Users\\{_user(host)}",
    }
    return _ENV_RE.sub(lambda m: env.get(m.group(1).lower(), m.group(0)), line)


def _cscript_banner(os_version: str) -> str:
    version = "5.812" if slmgr_surface.version_tuple(os_version) >= (6, 3) else "5.8"
    return (f"Microsoft (R) Windows Script Host Version {version}\r\n"
            "Copyright (C) Microsoft Corporation. All rights reserved.\r\n\r\n")


def _full_path(script: str, host: _Host) -> str:
    if re.match(r"^[A-Za-z]:\\", script):
        return script
    if script.startswith("\\"):
        return "C:" + script
    return f"C:\\Users\\{_user(host)}\\{script}"


def _installed_office(host: _Host, folder: str) -> str | None:
    """The installed Office version that owns ``Office14|15|16``, or None."""
    versions = _OFFICE_DIRS.get(folder, ())
    for office in getattr(host.spec, "office", None) or []:
        if str(office.version) in versions:
            return str(office.version)
    return None


def _first(instances: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    return instances[0] if instances else {}


def _run_cscript(world: t.Any, host: _Host, cim: _CimReader, tokens: list[tuple[str, str]],
                 codepage: int) -> CommandResult:
    logo = True
    rest = tokens[1:]
    while rest and rest[0][1].startswith("//"):
        if rest[0][1].lower() == "//nologo":
            logo = False
        elif rest[0][1].lower() == "//logo":
            logo = True
        rest = rest[1:]
    banner = _cscript_banner(host.os_version) if logo else ""
    if not rest:
        text = banner + "Input Error: There is no script file specified.\r\n"
        return CommandResult(rc=1, stdout=encode_output(text, codepage))
    script = rest[0][1]
    args = [a for _, a in rest[1:]]
    path = _full_path(script, host)
    folder, _, base = path.lower().rpartition("\\")
    now = _host_now(world)

    if base == "slmgr.vbs" and ("\\" not in script or folder in (SYSTEM32, "c:\\windows\\sysnative")):
        try:
            rc, text = slmgr_surface.render_slmgr(
                args, _first(cim.cim_instances("SoftwareLicensingService")),
                cim.cim_instances("SoftwareLicensingProduct"),
                _first(cim.cim_instances("Win32_OperatingSystem")), host.locale, now)
        except slmgr_surface.NotSimulated as exc:
            return _lab_refusal(str(exc), codepage)
        return CommandResult(rc=rc, stdout=encode_output(banner + text, codepage))

    parent, _, office_dir = folder.rpartition("\\")
    office = _installed_office(host, office_dir) if parent in _PROGRAM_FILES else None
    if base == "ospp.vbs" and office is not None:
        service_class, product_class = ospp_surface.ospp_classes(office, host.os_version)
        try:
            rc, text = ospp_surface.render_ospp(
                args, _first(cim.cim_instances(service_class)), cim.cim_instances(product_class),
                host.os_version, now, office_version=office, locale=host.locale)
        except slmgr_surface.NotSimulated as exc:
            return _lab_refusal(str(exc), codepage)
        return CommandResult(rc=rc, stdout=encode_output(banner + text, codepage))

    text = banner + f'Input Error: Can not find script file "{path}".\r\n'
    return CommandResult(rc=1, stdout=encode_output(text, codepage))


class _ModuleResult(CommandResult):
    """A module execution's result: logged by the module layer, not again as a command line."""


def _run_module(world: t.Any, host: _Host, stdin: bytes, codepage: int) -> CommandResult:
    # Imported here: the payload decoder and the module surface are separate layers that
    # depend on the host model; the script surfaces above work without them.
    from winlab.protocols.ansible_payload import PayloadError, decode_module_call

    try:
        call = decode_module_call(stdin)
    except PayloadError as exc:
        # What the bootstrap wrapper leaves when its input is not an exec wrapper payload.
        msg = f"winlab: the Ansible module payload could not be decoded: {exc}\r\n"
        return CommandResult(rc=1, stderr=encode_output(mask_keys(msg), codepage))
    from winlab.surfaces.modules import run_module

    # The structural _Host above is what this module reads; run_module takes the model's WindowsHost.
    result = run_module(world, t.cast(t.Any, host), call)
    return _ModuleResult(rc=result.rc, stdout=result.stdout, stderr=result.stderr)


# How ansible-core hands a raw command to PowerShell: the winrm plugin encodes the bare line
# (_encode_script with strict_mode and preserve_rc off); other paths add the strict-mode head and
# the exit-code tail. Either way the native command is the one line left.
_RAW_HEAD = "Set-StrictMode -Version Latest"
_NATIVE_PROGRAMS = ("cscript", "hostname", "echo")
_RAW_TAIL = ("If (-not $?) { If (Get-Variable LASTEXITCODE -ErrorAction SilentlyContinue) "
             "{ exit $LASTEXITCODE } Else { exit 1 } }")


def _ansible_raw_command(command_line: str) -> str | None:
    """The native command inside Ansible's ``raw`` wrapper script, or None for any other script."""
    from winlab.protocols.ansible_payload import decode_encoded_command

    script = decode_encoded_command(command_line)
    if script is None:
        return None
    lines = [x.strip() for x in script.splitlines() if x.strip()]
    if len(lines) == 3 and lines[0] == _RAW_HEAD and lines[2] == _RAW_TAIL:
        lines = lines[1:2]
    if len(lines) == 1:
        inner = lines[0]
        # Only plain native command lines: anything PowerShell-specific stays refused.
        # PowerShell would run a cmdlet here; the lab only knows the native programs it
        # simulates, so anything else is refused rather than answered "not recognized".
        first = inner.split(None, 1)[0].strip('"').lower().rpartition("\\")[2].removesuffix(".exe")
        if not re.search(r"[$;|&<>`{}]", inner) and first in _NATIVE_PROGRAMS:
            return inner
    return None


def _dispatch(world: t.Any, host: _Host, cim: _CimReader, command_line: str, stdin: bytes, *,
              codepage: int) -> CommandResult:
    line = _expand_env(command_line.strip(), host)
    tokens = split_command_line(line)
    if not tokens:
        return CommandResult(rc=0)
    raw_name, name = tokens[0]
    program = name.lower().rpartition("\\")[2]
    program = program.removesuffix(".exe")

    if program == "powershell":
        from winlab.protocols.ansible_payload import is_ansible_bootstrap

        if is_ansible_bootstrap(command_line):
            return _run_module(world, host, stdin, codepage)
        inner = _ansible_raw_command(command_line)
        if inner is not None:
            # PowerShell runs a native command line as cmd.exe would; the wrapper's last line
            # turns a failure into the command's exit code, which is what we return anyway.
            return _dispatch(world, host, cim, inner, stdin, codepage=codepage)
        return _lab_refusal("a PowerShell command line other than Ansible's module bootstrap", codepage)
    if program == "cscript":
        return _run_cscript(world, host, cim, tokens, codepage)
    if program == "hostname":
        return CommandResult(rc=0, stdout=encode_output(f"{getattr(host.spec, 'name', '')}\r\n", codepage))
    if program == "echo" and len(tokens) == 1:
        return CommandResult(rc=0, stdout=encode_output("ECHO is on.\r\n", codepage))
    if program == "echo":
        # cmd.exe prints everything after "echo " verbatim, quotes included.
        text = line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""
        return CommandResult(rc=0, stdout=encode_output(text + "\r\n", codepage))
    if program.startswith("echo.") or program == "echo.":
        return CommandResult(rc=0, stdout=encode_output(line[5:].lstrip() + "\r\n", codepage))
    return _not_recognized(raw_name)


def run_command(world: t.Any, host: _Host, command_line: str, stdin: bytes,
                codepage: int = 65001, *, cim: _CimReader | None = None) -> CommandResult:
    """Run one WinRS command line on ``host`` and return what cmd.exe would give back.

    The caller holds ``world.lock`` (see :func:`make_runner`). ``codepage`` is the
    WinRS shell's code page (``WINRS_CODEPAGE``; 437 for testinfra and pywinrm,
    65001 for Ansible's winrm plugin).

    Appends ``{"kind": "command", "time": <lab clock, ISO 8601>, "command_line": <masked>,
    "rc": rc}`` to ``host.request_log``, except for a module execution that reached
    ``run_module`` (the module layer logs the decoded call, so one round trip stays one
    entry). A bootstrap line is logged with its ``-EncodedCommand`` value elided.
    """
    reader = cim if cim is not None else CimSurface(t.cast(t.Any, host))
    result = _dispatch(world, host, reader, command_line, stdin, codepage=codepage)
    if isinstance(result, _ModuleResult):
        return CommandResult(rc=result.rc, stdout=result.stdout, stderr=result.stderr)
    logged = re.sub(r"(?i)(-EncodedCommand\s+)\S+", r"\1<elided>", command_line.strip())
    host.request_log.append({"kind": "command", "time": _host_now(world).isoformat(),
                             "command_line": mask_keys(logged), "rc": result.rc})
    return result


def make_runner(world: t.Any, host: _Host, codepage: int = 65001) -> CommandRunner:
    """A :class:`~winlab.types.CommandRunner` for ``host``: runs each command under ``world.lock``.

    ``codepage`` is the default; the WinRM layer passes each shell's own code page.
    """
    default_codepage = codepage

    def runner(command_line: str, stdin: bytes, codepage: int = default_codepage) -> CommandResult:
        with world.lock:
            return run_command(world, host, command_line, stdin, codepage)

    return runner
