"""Where the controller's CPU goes for one module execution: a collection module vs win_ping.

Usage (py-spy from PyPI: ``.venv/bin/pip install py-spy``)::

    .venv/bin/python tools/profile_controller.py [--hosts 40] [--forks 10] [--rate 250]
        [--module license_info|host_licensing|win_ping ...]

Starts a lab fleet (tools/bench.py's generator), then, for each module, samples
``ansible-playbook`` and all its worker processes with ``py-spy record --subprocesses`` while one
task runs that module on every host. Each sample's stack is attributed, from the innermost frame
outwards, to the first category it falls in (:data:`CATEGORIES`), so every sample counts once.
Prints, per module, the CPU per host execution by category, in milliseconds (samples / rate / hosts).
"""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

import bench  # noqa: E402  (the fleet generator and the win_ping stand-in)
from integration.conftest import COLLECTIONS, Ansible, _start  # noqa: E402

#: (category, pattern on a frame's file) -- the innermost matching frame decides.
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    # py-spy names frames by path relative to sys.path: the collection's are plugin_utils/... and
    # action/<module>.py, ansible's own are ansible/...
    ("collection (winops.volume_activation)", re.compile(
        r"^(ansible_collections/winops/|plugin_utils/|action/(license_info|host_licensing|product_key|kms_\w+|activation)\.py)")),
    ("JSON encode/decode", re.compile(r"(^|/)json/|_json\.py|module_utils/common/json|/_json_|jsonify")),
    ("argument spec validation", re.compile(r"module_utils/common/(arg_spec|parameters|validation)\.py")),
    ("templating (Jinja2)", re.compile(r"ansible/template/|ansible/_internal/_templating/|jinja2/")),
    ("module payload (PowerShell exec wrapper, module_utils)",
     re.compile(r"executor/powershell/|executor/module_common\.py|ansible/_internal/_powershell")),
    ("WinRM transport (pywinrm, requests, NTLM)",
     re.compile(r"plugins/connection/winrm\.py|/winrm/|requests/|urllib3/|spnego/|ntlm|cryptography/|xmltodict")),
    ("task/variable machinery (executor, vars, inventory)",
     re.compile(r"ansible/executor/|ansible/vars/|ansible/inventory/|ansible/playbook/|ansible/plugins/strategy/")),
    ("plugin loading", re.compile(r"ansible/plugins/loader\.py|importlib|<frozen")),
    ("action plugin base", re.compile(r"ansible/plugins/action/")),
    ("callbacks and display", re.compile(r"ansible/plugins/callback/|ansible/utils/display\.py")),
    ("fork / IPC (multiprocessing, queues)", re.compile(r"multiprocessing/|queue\.py|threading\.py|selectors\.py")),
]

PLAYS = {
    "win_ping": "ansible.windows.win_ping:",
    "license_info": "winops.volume_activation.license_info:",
    # what role kms_activation sends (its defaults, with the bench inventory's KMS host)
    "host_licensing": ("winops.volume_activation.host_licensing:\n"
                       "        product_keys: [{gvlk: auto, product: all, state: present}]\n"
                       "        kms_client: [{product: windows, state: present, host_caching: true,"
                       " kms_host: kms01.bench.example.test, kms_port: 1688}]\n"
                       "        activation: {product: all}"),
}

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def categorize(stack: str) -> str:
    frames = stack.split(";")
    if len(frames) <= 1:
        return "native code (no Python frame)"
    if not any(k in stack for k in ("WorkerProcess", "StrategyModule", "TaskQueueManager")):
        return "startup (imports, config, inventory, playbook parsing)"
    for frame in reversed(frames[1:]):
        m = _FRAME.match(frame.strip())
        where = m.group("file") if m else frame
        for name, pattern in CATEGORIES:
            if pattern.search(where):
                return name
    return "other"


def profile(module: str, handle: t.Any, inv: pathlib.Path, tmp: pathlib.Path, *, forks: int, rate: int,
            spy: str) -> tuple[collections.Counter[str], int]:
    play = tmp / f"{module}.yml"
    play.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Run\n      {PLAYS[module]}\n",
                    encoding="utf-8")
    ansible = Ansible(tmp)
    env = ansible.env(tmp / f"{module}.jsonl")
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{COLLECTIONS}{os.pathsep}{bench.STANDIN}"
    env["ANSIBLE_FORKS"] = str(forks)
    raw = tmp / f"{module}.raw"
    cmd = [spy, "record", "--subprocesses", "--format", "raw", "-r", str(rate), "-o", str(raw), "--",
           str(pathlib.Path(sys.executable).parent / "ansible-playbook"), str(play), "-i", str(inv)]
    subprocess.run(cmd, env=env, cwd=str(tmp), check=True, capture_output=True)
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _sep, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        # py-spy prefixes each stack with "process <pid>:\"<cmdline>\"" under --subprocesses; idle
        # samples are not recorded (no --idle), so every sample is CPU.
        counts[categorize(stack)] += int(n)
        total += int(n)
    return counts, total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--hosts", type=int, default=40)
    p.add_argument("--forks", type=int, default=10)
    p.add_argument("--rate", type=int, default=250)
    p.add_argument("--module", action="append", choices=sorted(PLAYS))
    args = p.parse_args(argv)
    spy = shutil.which("py-spy", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("py-spy")
    if not spy:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="winops-profile-"))
    spec = bench.fleet(args.hosts, servers_only=True)
    handle = _start(spec, tmp / "lab")
    inv = bench.inventory(handle, spec, tmp / "inventory")
    modules = args.module or ["win_ping", "license_info", "host_licensing"]
    table: dict[str, tuple[collections.Counter[str], int]] = {}
    try:
        for m in modules:
            table[m] = profile(m, handle, inv, tmp, forks=args.forks, rate=args.rate, spy=spy)
    finally:
        handle.lab.stop()
    names = [c for c, _pattern in CATEGORIES] + ["other", "startup (imports, config, inventory, playbook parsing)",
                                                 "native code (no Python frame)"]
    print(f"controller CPU per host execution, ms ({args.hosts} hosts, forks {args.forks}, {args.rate} Hz)")
    print(f"{'category':<58}" + "".join(f"{m:>16}" for m in modules))
    for c in names:
        print(f"{c:<58}" + "".join(f"{1000 * table[m][0][c] / args.rate / args.hosts:>16.1f}" for m in modules))
    print(f"{'total':<58}" + "".join(f"{1000 * table[m][1] / args.rate / args.hosts:>16.1f}" for m in modules))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
