"""Small value types shared by the lab's layers (protocols, surfaces, servers, control).

They are the seams between the layers: ``servers`` turns sockets into
``Endpoint.runner(command_line, stdin)`` calls, ``surfaces`` turns a command line
into a ``CommandResult`` by acting on a host model, ``protocols`` decodes what
Ansible sends into a ``ModuleCall``.
"""

from __future__ import annotations

import dataclasses
import typing as t


@dataclasses.dataclass(frozen=True)
class CommandResult:
    """What a cmd.exe/PowerShell process gave back: exit code, raw stdout and stderr bytes."""

    rc: int
    stdout: bytes = b""
    stderr: bytes = b""


@dataclasses.dataclass
class ModuleCall:
    """One Ansible module execution decoded from the bootstrap wrapper and exec manifest.

    ``name`` is the dotted module name without the ``ansible_collections.`` prefix
    and ``.plugins.modules.`` infix, e.g. ``winops.volume_activation.licensing_batch``
    or ``ansible.windows.win_ping``; ``script_name`` is the manifest's name for it
    (``ansible_collections.winops.volume_activation.plugins.modules.licensing_batch.ps1``).
    ``args`` holds the module arguments with the internal ``_ansible_*`` keys removed;
    those are in ``internal``. ``script`` is the module's source as shipped in the exec
    manifest ("" when not known): PowerShell on the host resolves the commands it names.
    """

    name: str
    script_name: str
    args: dict[str, t.Any]
    internal: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    actions: list[str] = dataclasses.field(default_factory=list)
    script: str = dataclasses.field(default="", repr=False)

    @property
    def check_mode(self) -> bool:
        return bool(self.internal.get("_ansible_check_mode", False))

    @property
    def diff(self) -> bool:
        return bool(self.internal.get("_ansible_diff", False))


class CommandRunner(t.Protocol):
    """Runs one command line (as WinRS hands it to cmd.exe) with its stdin on a host.

    ``codepage`` is the WinRS shell's code page (``WINRS_CODEPAGE``: 437 from pywinrm and
    testinfra, 65001 from Ansible's winrm plugin), the encoding of the output. Callers
    pass it by keyword; a runner written before it existed (two parameters) is still
    called positionally without it by ``winlab.protocols.wsman.WinRSHost``.
    """

    def __call__(self, command_line: str, stdin: bytes, codepage: int = 65001) -> CommandResult: ...


@dataclasses.dataclass
class Endpoint:
    """What the WinRM listener needs to know about one simulated host.

    ``users`` maps a user name to its password. Names compare case-insensitively
    and may be given as ``user``, ``DOMAIN\\user`` or ``user@domain``.
    ``allow_unencrypted`` mirrors WinRM's ``AllowUnencrypted``: Basic over plain
    HTTP is refused unless it is set (as on Windows).
    """

    name: str
    address: str
    users: dict[str, str]
    runner: CommandRunner
    http_port: int = 5985
    https_port: int = 5986
    allow_unencrypted: bool = False
