"""tools/sysdeps.sh: installs exactly the missing Debian packages, as root or with sudo -n, or stops.

The script runs for real (bash), on a PATH that holds only stand-ins: the commands that are
"installed" (named, dig, ...), ``id`` (who we are), ``sudo`` and ``apt-get`` (which record their
arguments and "install" a package by creating its command), and ``python3``. Nothing on the
machine is installed or removed, so this shows the set-up logic on a machine without BIND.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "tools" / "sysdeps.sh"
BASH = shutil.which("bash") or "/bin/bash"

# package -> the command that shows it is installed (as in the script's PACKAGES)
COMMANDS = {
    "bind9": "named",
    "bind9-utils": "tsig-keygen",
    "bind9-dnsutils": "dig",
    "shellcheck": "shellcheck",
    "chromium": "chromium",
}


def _stub(path: pathlib.Path, body: str) -> None:
    path.write_text("#!" + BASH + "\n" + body)
    path.chmod(0o755)


def _machine(
    tmp_path: pathlib.Path,
    present: set[str],
    *,
    uid: int = 0,
    sudo_ok: bool = False,
    apt_installs: bool = True,
    venv_ok: bool = True,
) -> tuple[pathlib.Path, dict[str, str]]:
    """A fake machine: returns the stand-in bin directory and the environment to run the script in."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "calls.log"
    for package in present:
        _stub(bindir / COMMANDS[package], "exit 0\n")
    os.symlink(shutil.which("env") or "/usr/bin/env", bindir / "env")
    _stub(bindir / "id", f'[ "$1" = -u ] && echo {uid}\n')
    _stub(bindir / "python3", "exit 0\n" if venv_ok else "exit 1\n")
    if uid != 0:
        _stub(bindir / "sudo", f'echo "sudo $*" >> {log}\n' + ('[ "$1" = -n ] && shift\n[ "$1" = true ] && exit 0\nexec "$@"\n' if sudo_ok else "exit 1\n"))
    chmod = shutil.which("chmod") or "/bin/chmod"
    create = "".join(
        f'    {package}) : > {bindir}/{command}; {chmod} +x {bindir}/{command};;\n' for package, command in COMMANDS.items()
    )
    _stub(
        bindir / "apt-get",
        f'echo "apt-get $* (uid $(id -u), DEBIAN_FRONTEND=$DEBIAN_FRONTEND)" >> {log}\n'
        + (f'for p in "$@"; do\n  case $p in\n{create}  esac\ndone\n' if apt_installs else "")
        + "exit 0\n",
    )
    env = {"PATH": str(bindir), "SYSDEPS_SBIN": str(tmp_path / "sbin"), "HOME": str(tmp_path)}
    (tmp_path / "sbin").mkdir()
    return bindir, env


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BASH, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)


def _calls(tmp_path: pathlib.Path) -> list[str]:
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_everything_present_installs_nothing(tmp_path: pathlib.Path) -> None:
    _bindir, env = _machine(tmp_path, set(COMMANDS))
    result = _run(env)
    assert result.returncode == 0, result.stderr
    assert "present" in result.stdout
    assert _calls(tmp_path) == []


def test_a_non_executable_file_does_not_count(tmp_path: pathlib.Path) -> None:
    # a hidden or broken binary (here: not executable) is missing, as /dev/null bound over it is
    bindir, env = _machine(tmp_path, set(COMMANDS))
    (bindir / "dig").chmod(0o644)
    result = _run(env)
    assert "missing Debian packages: bind9-dnsutils" in result.stdout


def test_named_in_sbin_counts_as_present(tmp_path: pathlib.Path) -> None:
    # Debian puts named in /usr/sbin, which a normal user's PATH may not hold; the lab looks there too.
    _bindir, env = _machine(tmp_path, set(COMMANDS) - {"bind9"})
    _stub(tmp_path / "sbin" / "named", "exit 0\n")
    assert _run(env).returncode == 0
    assert _calls(tmp_path) == []


@pytest.mark.parametrize(
    ("missing", "uid", "sudo_ok", "prefix"),
    [
        pytest.param({"bind9", "bind9-dnsutils"}, 0, False, "apt-get", id="root-without-bind"),
        pytest.param(set(COMMANDS), 0, False, "apt-get", id="root-bare-machine"),
        pytest.param({"chromium"}, 1000, True, "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get", id="user-with-sudo"),
    ],
)
def test_installs_exactly_the_missing_packages(
    tmp_path: pathlib.Path, missing: set[str], uid: int, sudo_ok: bool, prefix: str
) -> None:
    _bindir, env = _machine(tmp_path, set(COMMANDS) - missing, uid=uid, sudo_ok=sudo_ok)
    result = _run(env)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [c for c in _calls(tmp_path) if not c.startswith("sudo -n true")]
    wanted = [p for p in COMMANDS if p in missing]  # in the script's install order
    if uid == 0:
        assert calls == [
            "apt-get update -qq (uid 0, DEBIAN_FRONTEND=noninteractive)",
            f"apt-get install -y -qq --no-install-recommends {' '.join(wanted)} (uid 0, DEBIAN_FRONTEND=noninteractive)",
        ]
    else:
        assert f"{prefix} install -y -qq --no-install-recommends {' '.join(wanted)}" in calls
        assert f"{prefix} update -qq" in calls
    assert f"installed {' '.join(wanted)}" in result.stdout


def test_user_without_sudo_gets_the_exact_command_and_nothing_runs(tmp_path: pathlib.Path) -> None:
    _bindir, env = _machine(tmp_path, {"shellcheck", "chromium"}, uid=1000, sudo_ok=False)
    result = _run(env)
    assert result.returncode == 1
    assert "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends bind9 bind9-utils bind9-dnsutils'" in result.stderr
    assert not [c for c in _calls(tmp_path) if c.startswith("apt-get")]


def test_python_without_venv_support_adds_python3_venv(tmp_path: pathlib.Path) -> None:
    _bindir, env = _machine(tmp_path, set(COMMANDS), venv_ok=False)
    result = _run(env)
    # apt-get (a stand-in) cannot fix the stand-in python3, but the package was asked for
    assert "apt-get install -y -qq --no-install-recommends python3-venv (uid 0, DEBIAN_FRONTEND=noninteractive)" in _calls(tmp_path)
    assert "missing Debian packages: python3-venv" in result.stdout
    assert result.returncode == 1
    assert "still not found: python3-venv" in result.stderr


def test_an_install_that_does_not_bring_the_command_fails(tmp_path: pathlib.Path) -> None:
    _bindir, env = _machine(tmp_path, set(COMMANDS) - {"bind9"}, apt_installs=False)
    result = _run(env)
    assert result.returncode == 1
    assert "still not found: bind9 (named)" in result.stderr
