"""Decode what ansible-core (2.19) sends a Windows host to run a PowerShell module.

Facts from the installed ansible-core (``ansible/executor/powershell/module_manifest.py``,
``bootstrap_wrapper.ps1``, ``plugins/shell/powershell.py``, ``plugins/connection/winrm.py``):

- The command line is ``PowerShell -NoProfile -NonInteractive -ExecutionPolicy Unrestricted
  -EncodedCommand <base64 of UTF-16LE>`` whose script is ``bootstrap_wrapper.ps1`` with its lines
  stripped and blank lines dropped (``ShellModule._encode_script``). The winrm connection sends
  ``PowerShell`` as the WinRS command and the rest as arguments.
- stdin is ``<bootstrap JSON>\\n\\0\\0\\0\\0\\n<exec manifest JSON>``, optionally followed by
  ``\\n\\0\\0\\0\\0\\n<input data>`` (put_file and fetch_file). The bootstrap JSON is
  ``{"name": "exec_wrapper", "script": <exec_wrapper.ps1>, "params": {MinOSVersion,
  MinPSVersion, TempPath}}``; the bootstrap wrapper reads ``$input`` line by line up to the line
  of four NULs (``_get_bootstrap_input``).
- The manifest is ``{"scripts": {name: {"script": base64, "path": ...}}, "actions": [{"name",
  "params", "secure_params"}], "signed_hashlist": [...]}``. For a module the last action is
  ``module_wrapper.ps1`` with ``params.Script`` = ``<fqn>.ps1`` and ``params.Variables`` =
  ``[{"Name": "complex_args", "Value": {...module args and _ansible_* keys...}, "Scope":
  "Global"}]``; become, async and coverage wrappers come before it
  (``_create_powershell_wrapper``). The fqn is ``ansible_collections.<ns>.<coll>.plugins.modules.
  <name>`` for collection modules, ``ansible.modules.<name>`` for core ones and
  ``ansible.legacy.<name>`` for modules found elsewhere (``module_common._find_module_utils``).
- Ansible's other remote helpers (``powershell_mkdtemp.ps1``, ``winrm_put_file.ps1``, ...) use
  the same bootstrap with a one-action manifest: :func:`decode_exec_payload` reads those too.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import re
import typing as t

from winlab.types import ModuleCall

_SEPARATOR = re.compile(rb"\r?\n\x00\x00\x00\x00\r?\n")
_POWERSHELL_EXES = ("powershell", "powershell.exe", "pwsh", "pwsh.exe")
_MODULE_WRAPPER = "module_wrapper.ps1"
_SCRIPT_EXTENSIONS = (".ps1", ".psm1", ".cs")
_COLLECTION_PREFIX = "ansible_collections."
_MODULES_INFIX = ".plugins.modules."


class PayloadError(ValueError):
    """The command line or stdin is not a well-formed ansible-core payload; the message says what is wrong."""


def _tokens(command_line: str) -> list[str]:
    return command_line.split()


def _is_powershell(token: str) -> bool:
    exe = token.strip("\"'").replace("/", "\\").rsplit("\\", 1)[-1].lower()
    return exe in _POWERSHELL_EXES


def _switch(token: str) -> str | None:
    """The parameter name of ``-Name``/``/Name`` (lower case), or None for a value."""
    if len(token) > 1 and token[0] in "-/":
        return token.lstrip("-/").lower()
    return None


def _is_encoded_command_switch(name: str) -> bool:
    # powershell.exe accepts -EncodedCommand, its aliases -e and -ec, and unambiguous prefixes
    # from -enc on (about_PowerShell_exe).
    return name in ("e", "ec") or (len(name) >= 3 and "encodedcommand".startswith(name))


def decode_encoded_command(command_line: str) -> str | None:
    """The script passed to PowerShell with ``-EncodedCommand`` in ``command_line``.

    Returns None when the command line does not run powershell.exe/pwsh with ``-EncodedCommand``
    (for example ``cscript //nologo slmgr.vbs /dli``, or ``powershell -Command ...``). Raises
    :class:`PayloadError` when it does but the value is missing or is not base64 of UTF-16LE
    text (PowerShell refuses such a value too).
    """
    tokens = _tokens(command_line)
    start = next((i for i, tok in enumerate(tokens) if _is_powershell(tok)), None)
    if start is None:
        return None
    for index in range(start + 1, len(tokens)):
        name = _switch(tokens[index])
        if name is None:
            continue
        if name in ("c", "command", "f", "file"):
            return None  # everything after -Command/-File is the command, not parameters
        if not _is_encoded_command_switch(name):
            continue
        if index + 1 >= len(tokens):
            raise PayloadError("-EncodedCommand is the last argument: the encoded script is missing")
        value = tokens[index + 1]
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PayloadError(f"the -EncodedCommand value is not base64: {exc}") from exc
        if len(raw) % 2:
            raise PayloadError(f"the -EncodedCommand value decodes to {len(raw)} bytes, not UTF-16LE text")
        try:
            return raw.decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"the -EncodedCommand value is not UTF-16LE text: {exc}") from exc
    return None


def _normalize(script: str) -> str:
    return re.sub(r"\s+", "", script).lower()


def is_ansible_bootstrap(command_line: str) -> bool:
    """Whether ``command_line`` runs ansible-core's PowerShell bootstrap wrapper.

    Identified by what the wrapper does, not by byte equality with one ansible-core version:
    the encoded script reads the pipeline input (``$input``) and splits it at the line of four
    NULs (the PowerShell literal ``"`0`0`0`0"``). ansible-core 2.19's bootstrap_wrapper.ps1 and the
    older split-based wrappers both do. Whitespace and case are ignored. A malformed
    ``-EncodedCommand`` value is simply not the bootstrap (False).
    """
    try:
        script = decode_encoded_command(command_line)
    except PayloadError:
        return False
    if script is None:
        return False
    normalized = _normalize(script)
    return "$input" in normalized and "`0`0`0`0" in normalized


@dataclasses.dataclass(frozen=True)
class ManifestAction:
    """One action of the exec manifest; ``secure_params`` (become passwords) stay out of repr."""

    name: str
    params: dict[str, t.Any]
    secure_params: dict[str, t.Any] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass(frozen=True)
class ExecPayload:
    """The whole bootstrap input: wrapper parameters, the manifest, and any trailing input data."""

    wrapper_name: str
    wrapper_params: dict[str, t.Any]
    actions: list[ManifestAction]
    scripts: dict[str, dict[str, str]] = dataclasses.field(repr=False)
    signed_hashlist: list[str]
    input_data: bytes | None = dataclasses.field(default=None, repr=False)

    @property
    def action_names(self) -> list[str]:
        return [a.name for a in self.actions]

    def script_text(self, name: str) -> str:
        """The source of one shipped script (module, module util, wrapper), decoded as UTF-8.

        Raises :class:`PayloadError` when the manifest has no such script or its base64 is bad.
        """
        entry = self.scripts.get(name)
        if entry is None:
            raise PayloadError(f"the exec manifest ships no script named {name!r}")
        try:
            return base64.b64decode(entry.get("script", ""), validate=True).decode("utf-8-sig")
        except (binascii.Error, ValueError) as exc:
            raise PayloadError(f"the script {name!r} in the exec manifest is not base64 UTF-8: {exc}") from exc


def _load_json_object(data: bytes, what: str) -> dict[str, t.Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"the {what} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise PayloadError(f"the {what} is a JSON {type(value).__name__}, not an object")
    return value


def _expect(value: object, kind: type, what: str) -> t.Any:
    if not isinstance(value, kind):
        raise PayloadError(f"{what} is {type(value).__name__}, expected {kind.__name__}")
    return value


def decode_exec_payload(stdin: bytes) -> ExecPayload:
    """Split and parse the stdin that accompanies the bootstrap wrapper.

    Raises :class:`PayloadError` naming the first thing that is missing or malformed (no
    separator line, JSON that does not parse, a manifest without ``actions``...).
    """
    if not stdin:
        raise PayloadError("stdin is empty: the bootstrap wrapper expects the exec wrapper JSON")
    parts = _SEPARATOR.split(bytes(stdin), maxsplit=2)
    if len(parts) < 2:
        raise PayloadError("stdin has no line of four NUL bytes separating the bootstrap JSON from the exec manifest")
    head, manifest_raw = parts[0], parts[1]
    if not head.lstrip().startswith(b"{"):
        raise PayloadError(
            "stdin does not start with the bootstrap JSON object; this looks like the exec wrapper of an "
            "ansible-core older than 2.19, which the lab does not decode"
        )
    bootstrap = _load_json_object(head, "bootstrap JSON (first stdin line)")
    wrapper_name = _expect(bootstrap.get("name"), str, "bootstrap 'name'")
    _expect(bootstrap.get("script"), str, "bootstrap 'script'")
    wrapper_params = _expect(bootstrap.get("params", {}), dict, "bootstrap 'params'")

    manifest = _load_json_object(manifest_raw, "exec manifest")
    raw_actions = _expect(manifest.get("actions"), list, "manifest 'actions'")
    if not raw_actions:
        raise PayloadError("the exec manifest has no actions")
    actions = []
    for index, raw in enumerate(raw_actions):
        item = _expect(raw, dict, f"manifest action [{index}]")
        actions.append(
            ManifestAction(
                name=_expect(item.get("name"), str, f"manifest action [{index}] 'name'"),
                params=_expect(item.get("params", {}), dict, f"manifest action [{index}] 'params'"),
                secure_params=_expect(item.get("secure_params", {}), dict, f"manifest action [{index}] 'secure_params'"),
            )
        )
    scripts = _expect(manifest.get("scripts", {}), dict, "manifest 'scripts'")
    for name, entry in scripts.items():
        _expect(entry, dict, f"manifest script {name!r}")
        _expect(entry.get("script"), str, f"manifest script {name!r} 'script'")
    hashlist = _expect(manifest.get("signed_hashlist", []), list, "manifest 'signed_hashlist'")
    return ExecPayload(
        wrapper_name=wrapper_name,
        wrapper_params=wrapper_params,
        actions=actions,
        scripts=scripts,
        signed_hashlist=[str(h) for h in hashlist],
        input_data=parts[2] if len(parts) > 2 else None,
    )


def module_name_from_script(script_name: str) -> str:
    """The module's dotted name for the manifest's script name.

    ``ansible_collections.ns.coll.plugins.modules.name.ps1`` -> ``ns.coll.name`` (a module in a
    subdirectory keeps it: ``ns.coll.sub.name``); ``ansible.modules.name.ps1`` (a core module) ->
    ``ansible.builtin.name``, the name users write; ``ansible.legacy.name.ps1`` (a module found
    in a library or role path) stays ``ansible.legacy.name``.
    """
    base = script_name
    for ext in _SCRIPT_EXTENSIONS:
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
            break
    if base.startswith(_COLLECTION_PREFIX):
        collection_part, sep, module = base[len(_COLLECTION_PREFIX) :].partition(_MODULES_INFIX)
        if not sep or not module or collection_part.count(".") != 1:
            raise PayloadError(f"the module script {script_name!r} is not under <namespace>.<collection>.plugins.modules")
        return f"{collection_part}.{module}"
    if base.startswith("ansible.modules."):
        return "ansible.builtin." + base[len("ansible.modules.") :]
    return base


def module_call_from_payload(payload: ExecPayload) -> ModuleCall:
    """The :class:`ModuleCall` of a decoded payload; raises :class:`PayloadError` when it is not
    a module execution (the last action is not ``module_wrapper.ps1``)."""
    last = payload.actions[-1]
    if last.name != _MODULE_WRAPPER:
        raise PayloadError(f"the exec manifest runs {last.name!r}, not a module (its last action is not {_MODULE_WRAPPER})")
    script_name = _expect(last.params.get("Script"), str, "module_wrapper 'Script'")
    if script_name not in payload.scripts:
        raise PayloadError(f"the exec manifest does not ship the module script {script_name!r}")
    variables = _expect(last.params.get("Variables", []), list, "module_wrapper 'Variables'")
    complex_args: dict[str, t.Any] = {}
    for variable in variables:
        item = _expect(variable, dict, "module_wrapper variable")
        if item.get("Name") == "complex_args":
            complex_args = _expect(item.get("Value"), dict, "complex_args")
    args = {k: v for k, v in complex_args.items() if not k.startswith("_ansible_")}
    internal = {k: v for k, v in complex_args.items() if k.startswith("_ansible_")}
    return ModuleCall(
        name=module_name_from_script(script_name),
        script_name=script_name,
        args=args,
        internal=internal,
        actions=payload.action_names,
        script=payload.script_text(script_name),
    )


def decode_module_call(stdin: bytes) -> ModuleCall:
    """Decode the stdin of a module execution into a :class:`ModuleCall`.

    Raises :class:`PayloadError` with a message naming what is malformed, or saying that the
    payload runs one of ansible-core's helpers rather than a module.
    """
    return module_call_from_payload(decode_exec_payload(stdin))
