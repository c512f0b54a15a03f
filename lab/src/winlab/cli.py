"""``winlab``: start, inspect and stop a simulated Windows fleet.

    winlab up --fleet lab/fleets/demo.yml --inventory inventory.yml
    winlab status
    winlab advance 31d
    winlab fault kms01 winrm_down ; winlab clear
    winlab phone <installation id> | winlab phone --file installation_ids.json
    winlab reimage <host>
    winlab log kms01
    winlab down

Every command takes ``--state-dir DIR`` (default ``$WINLAB_STATE_DIR`` or
``.winlab/`` in the current directory): one running lab per state directory.
Errors are one line on stderr, exit status 1 (2 for usage errors). Passwords and
product keys are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import typing as t

from winlab.control import (
    CONTROL_FILE,
    ERROR_FILE,
    FAULTS,
    LOG_FILE,
    ControlClient,
    LabError,
    StatusRow,
    daemon_pid,
    daemon_running,
    json_default,
    process_gone,
    read_control,
    state_dir_path,
)
from winlab.inventory import TRANSPORTS, render_inventory, write_inventory
from winlab.network import stop_stale_named
from winlab.spec import SpecError, load_fleet

# A product key anywhere in printed text is masked to its last group, as the
# collection does: XXXXX-XXXXX-XXXXX-XXXXX-3V66T.
_KEY_RE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5}-([0-9A-Z]{5})\b", re.IGNORECASE)


class CliError(Exception):
    """A one-line error for stderr."""


def mask_keys(text: str) -> str:
    """``text`` with every product-key-shaped string masked to its last five characters."""
    return _KEY_RE.sub(lambda m: "XXXXX-XXXXX-XXXXX-XXXXX-" + m.group(1), text)


def _say(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- up / down


def _log_tail(state_dir: pathlib.Path, lines: int = 12) -> str:
    try:
        text = (state_dir / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no daemon log)"
    return "\n".join(mask_keys(text).splitlines()[-lines:])


def _start_failure(state_dir: pathlib.Path, what: str) -> CliError:
    try:
        line = (state_dir / ERROR_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        line = ""
    if line:
        return CliError(mask_keys(line))
    return CliError(f"{what}; last lines of {state_dir / LOG_FILE}:\n{_log_tail(state_dir)}")


def _stop_pid(pid: int, timeout: float) -> str:
    """SIGTERM the daemon, wait, then SIGKILL its process group; returns how it ended."""
    try:
        group_leader = os.getpgid(pid) == pid
    except ProcessLookupError:
        return "already gone"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "already gone"
    deadline = time.monotonic() + timeout
    how = "stopped"
    while not process_gone(pid):
        if time.monotonic() > deadline:
            how = f"killed (did not stop within {timeout:.0f} s of SIGTERM)"
            _kill_group_or_pid(pid, group_leader)
            deadline = time.monotonic() + 5
            while not process_gone(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            break
        time.sleep(0.05)
    if group_leader:
        # Anything the daemon started (it runs in its own session) goes with it.
        try:
            os.killpg(pid, 0)
        except (ProcessLookupError, PermissionError):
            pass
        else:
            _kill_group_or_pid(pid, True)
    return how


def _kill_group_or_pid(pid: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_our_daemon(pid: int) -> bool:
    try:
        cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"winlab.daemon" in cmdline


def _dns_info(client: ControlClient) -> dict[str, t.Any] | None:
    """The lab DNS server and TSIG key for the inventory; None for a lab without its network."""
    if not client.ping().get("network", True):
        return None
    return client.dns_info()


def cmd_up(args: argparse.Namespace) -> int:
    state_dir = state_dir_path(args.state_dir)
    try:
        spec = load_fleet(args.fleet)
    except SpecError as e:
        raise CliError(str(e)) from e
    if daemon_running(state_dir):
        pid = daemon_pid(state_dir)
        raise CliError(f"a lab is already running in {state_dir} (pid {pid}); stop it with 'winlab down'")
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (state_dir / ERROR_FILE).unlink(missing_ok=True)
    (state_dir / CONTROL_FILE).unlink(missing_ok=True)
    t0 = time.monotonic()
    with open(state_dir / LOG_FILE, "ab") as logf:
        proc = subprocess.Popen(
            [sys.executable, "-m", "winlab.daemon", "--fleet", str(pathlib.Path(args.fleet).absolute()),
             "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )
    deadline = t0 + args.timeout
    client: ControlClient | None = None
    while True:
        rc = proc.poll()
        if rc is not None:
            raise _start_failure(state_dir, f"the lab daemon exited with status {rc} before it was ready")
        info = read_control(state_dir)
        if info and info.get("pid") == proc.pid:
            try:
                client = ControlClient(state_dir)
                client.ping()
                break
            except LabError:
                client = None
        if time.monotonic() > deadline:
            _stop_pid(proc.pid, 5)
            raise _start_failure(state_dir, f"the lab was not ready within {args.timeout:.0f} s; stopped it")
        time.sleep(0.05)
    ready = time.monotonic() - t0
    try:
        ports = client.ports()
        path = write_inventory(pathlib.Path(args.inventory).absolute(),
                               render_inventory(spec, ports, args.transport, _dns_info(client)))
    except (LabError, OSError, ValueError) as e:
        _stop_pid(proc.pid, 10)
        raise CliError(f"failed to write the inventory '{args.inventory}': {e}; stopped the lab") from e
    addrs = [h.address for h in spec.hosts]
    _say(f"lab up in {ready:.2f} s: {len(spec.hosts)} hosts in {spec.domain} on {addrs[0]}"
         + (f"..{addrs[-1]}" if len(addrs) > 1 else "")
         + f" (daemon pid {proc.pid}, control 127.0.0.1:{client.port})")
    scheme = "NTLM over http" if args.transport == "ntlm" else "Basic over https"
    _say(f"inventory: {path} ({scheme})")
    _say(f"state: {state_dir}  (stop with: winlab down --state-dir {state_dir})")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    state_dir = state_dir_path(args.state_dir)
    if not daemon_running(state_dir):
        stale = (state_dir / CONTROL_FILE).exists()
        (state_dir / CONTROL_FILE).unlink(missing_ok=True)
        stop_stale_named(state_dir / "dns")  # the DNS server of a daemon that was killed
        _say(f"no lab is running in {state_dir}" + (" (removed a stale control file)" if stale else ""))
        return 0
    pid = daemon_pid(state_dir)
    if pid is None:
        info = read_control(state_dir) or {}
        pid = int(info["pid"]) if "pid" in info else None
    if pid is None or not _is_our_daemon(pid):
        raise CliError(f"a lab holds {state_dir / 'daemon.lock'} but its pid is unknown; not stopping anything")
    how = _stop_pid(pid, args.timeout)
    (state_dir / CONTROL_FILE).unlink(missing_ok=True)
    stop_stale_named(state_dir / "dns")  # left behind when the daemon had to be killed
    _say(f"lab {how} (pid {pid})")
    return 0


# --------------------------------------------------------------------------- control


def _client(args: argparse.Namespace) -> ControlClient:
    return ControlClient(args.state_dir)


def format_status(rows: list[StatusRow], now: str = "") -> str:
    """The ``winlab status`` table."""
    header = ("HOST", "ADDRESS", "OS", "EDITION", "WINDOWS", "GRACE", "OFFICE", "OFFICE STATUS",
              "KMS HOST", "KMS COUNT", "FAULTS")
    table = [header]
    for r in rows:
        table.append((
            r.name, r.address, r.os + ("" if r.locale == "en-US" else f" ({r.locale})"), r.edition,
            r.windows, f"{r.windows_grace_days}d" if r.windows_grace_days is not None else "-",
            r.office, r.office_status, "yes" if r.kms_host else "no", r.kms_count,
            ",".join(r.faults) or "-",
        ))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table]
    if now:
        lines.insert(0, f"lab time: {now}   hosts: {len(rows)}")
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    client = _client(args)
    rows = client.status_rows()
    if args.json:
        _say(mask_keys(json.dumps([r.__dict__ for r in rows], indent=2, default=json_default)))
    else:
        _say(mask_keys(format_status(rows, str(client.ping().get("now", "")))))
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    now = _client(args).advance(args.duration)
    _say(f"lab time is now {now}")
    return 0


def cmd_fault(args: argparse.Namespace) -> int:
    if args.list or not args.host:
        width = max(len(n) for n in FAULTS)
        for name in sorted(FAULTS):
            _say(f"{name.ljust(width)}  {FAULTS[name].description}")
        return 0
    if not args.name:
        raise CliError(f"usage: winlab fault HOST NAME (faults: {', '.join(sorted(FAULTS))})")
    params: dict[str, t.Any] = {}
    if args.delay is not None:
        params["delay"] = args.delay
    if args.times is not None:
        params["times"] = args.times
    _client(args).fault(args.host, args.name, **params)
    _say(f"fault '{args.name}' on {args.host} (until 'winlab clear')")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    cleared = _client(args).clear(args.host)
    _say("cleared: " + (", ".join(cleared) if cleared else "no active faults"))
    return 0


def fill_confirmation_ids(lab: t.Any, path: str | pathlib.Path) -> int:
    """Phone activation of a whole file: for every row of the JSON list at ``path`` (the
    collection's ``installation_ids.json``: ``installation_id``, ``confirmation_id``) whose
    confirmation ID is empty, ask the activation service's phone line (``lab.phone``) and write
    the answer in; the file is rewritten in place (mode 0600). Returns the number filled."""
    file = pathlib.Path(path)
    rows = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("installation_id") for r in rows):
        raise LabError(f"{file}: expected a JSON list of rows with an installation_id")
    filled = 0
    for row in rows:
        if not row.get("confirmation_id"):
            row["confirmation_id"] = lab.phone(str(row["installation_id"]))
            filled += 1
    file.write_text(json.dumps(rows, indent=4) + "\n", encoding="utf-8")
    file.chmod(0o600)
    return filled


def cmd_phone(args: argparse.Namespace) -> int:
    if args.file:
        n = fill_confirmation_ids(_client(args), args.file)
        _say(f"{args.file}: {n} confirmation ID(s) filled in")
        return 0
    if not args.iid:
        raise LabError("give an installation ID or --file FILE")
    _say(_client(args).phone(args.iid))
    return 0


def cmd_reimage(args: argparse.Namespace) -> int:
    state = _client(args).reimage(args.host)
    _say(f"{state['name']}: reinstalled on the same hardware (new CMID {state['cmid']})")
    return 0


def _op_text(op: dict[str, t.Any]) -> str:
    what = op.get("class") or op.get("name") or op.get("path") or ""
    method = f".{op['method']}" if op.get("method") else ""
    outcome = "ok" if op.get("ok") else str(op.get("hresult_hex") or ("skipped" if op.get("skipped") else "failed"))
    return f"{op.get('op', '?')} {what}{method} {outcome}".replace("  ", " ")


def format_log_entry(entry: dict[str, t.Any]) -> str:
    """One request log entry on one line: ``#seq host time`` then, for a module call, its
    name and operations (``op class[.method] ok|0xHRESULT``), for a command line its exit
    code and text, for anything else its JSON. Product keys are masked."""
    head = f"#{entry.get('seq')} {entry.get('host')} {entry.get('time', '-')}"
    if isinstance(entry.get("ops"), list):
        flags = " (check mode)" if entry.get("check_mode") else ""
        changed = " changed" if entry.get("changed") else ""
        ops = "; ".join(_op_text(op) for op in entry["ops"] if isinstance(op, dict))
        text = f"module {entry.get('module', '?')}{flags}{changed}: {ops}"
    elif "command_line" in entry:
        text = f"command rc={entry.get('rc')}: {entry['command_line']}"
    else:
        rest = {k: v for k, v in entry.items() if k not in ("host", "seq", "time")}
        text = json.dumps(rest, default=json_default, separators=(",", ":"))
    return mask_keys(f"{head} {text}")


def cmd_log(args: argparse.Namespace) -> int:
    entries = _client(args).request_log(args.host, args.since)
    if args.json:
        _say(mask_keys(json.dumps(entries, indent=2, default=json_default)))
    else:
        for e in entries:
            _say(format_log_entry(e))
        if not entries:
            _say("no requests logged" + (f" for {args.host}" if args.host else ""))
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    _client(args).reset()
    _say("lab reset: hosts, clock and request logs are back to the fleet file's state; faults cleared")
    return 0


def cmd_inventory(args: argparse.Namespace) -> int:
    client = _client(args)
    try:
        spec = load_fleet(client.info["fleet"])
    except SpecError as e:
        raise CliError(str(e)) from e
    path = write_inventory(args.inventory, render_inventory(spec, client.ports(), args.transport, _dns_info(client)))
    _say(f"inventory: {path}")
    return 0


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", default=None,
                        help="the lab's state directory (default: $WINLAB_STATE_DIR or ./.winlab)")
    parser = argparse.ArgumentParser(prog="winlab", description="A simulated Windows fleet reached over WinRM.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", parents=[common], help="start a fleet in the background and write its inventory")
    p.add_argument("--fleet", required=True, help="fleet file (YAML)")
    p.add_argument("--inventory", required=True, help="where to write the Ansible inventory")
    p.add_argument("--transport", choices=TRANSPORTS, default="ntlm",
                   help="ntlm: NTLM over http, 5985 (default); basic: Basic over https, 5986")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the lab (default 120)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("down", parents=[common], help="stop the fleet")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds between SIGTERM and SIGKILL")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", parents=[common], help="licensing status of every host")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("advance", parents=[common], help="move the lab clock forward (31d, 2h, 90m)")
    p.add_argument("duration")
    p.set_defaults(func=cmd_advance)

    p = sub.add_parser("fault", parents=[common], help="inject a fault on a host (--list: known faults)")
    p.add_argument("host", nargs="?")
    p.add_argument("name", nargs="?")
    p.add_argument("--list", action="store_true")
    p.add_argument("--delay", type=float, default=None, help="slow: seconds each reply is delayed")
    p.add_argument("--times", type=int, default=None, help="drop_connection: drop only the next N commands")
    p.set_defaults(func=cmd_fault)

    p = sub.add_parser("clear", parents=[common], help="clear faults on a host, or everywhere")
    p.add_argument("host", nargs="?")
    p.set_defaults(func=cmd_clear)

    p = sub.add_parser("phone", parents=[common],
                       help="phone activation: print the confirmation ID for an installation ID")
    p.add_argument("iid", nargs="?")
    p.add_argument("--file", help="fill the empty confirmation IDs of an installation_ids.json file")
    p.set_defaults(func=cmd_phone)

    p = sub.add_parser("reimage", parents=[common],
                       help="reinstall a host from the fleet file on the same hardware (same installation IDs)")
    p.add_argument("host")
    p.set_defaults(func=cmd_reimage)

    p = sub.add_parser("log", parents=[common], help="the request log (module calls, operations, commands)")
    p.add_argument("host", nargs="?")
    p.add_argument("--since", type=int, default=None, help="only entries from this sequence number on")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("reset", parents=[common], help="reset hosts, clock and logs to the fleet file")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("inventory", parents=[common], help="rewrite the inventory of the running lab")
    p.add_argument("--inventory", required=True)
    p.add_argument("--transport", choices=TRANSPORTS, default="ntlm")
    p.set_defaults(func=cmd_inventory)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CliError, LabError) as e:
        print(f"winlab: error: {mask_keys(str(e))}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
