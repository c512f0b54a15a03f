"""Round-trip benchmark: run a playbook against a lab fleet and count WinRM module executions.

Usage::

    .venv/bin/python tools/bench.py [--fleet lab/fleets/demo.yml] [--playbook playbooks/site.yml]
                                   [--runs 2] [--json .build/bench.json]

For each run it reports the wall time, the module executions each host answered (read from
the lab's own request log, the independent count) and, per task, the ``round_trips`` the
collection's action plugins say they spent (recorded by tests/integration's callback). The
budget: a task that changes something costs 2, one that finds nothing to do costs 1, so a
second run of an idempotent playbook costs exactly one execution per module task per host.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib
import sys
import tempfile
import time
import typing as t

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from integration.conftest import Ansible, _start  # noqa: E402  (the integration harness, reused)
from integration.test_site import DEMO, demo_fleet, inventory_dir  # noqa: E402  (the demo's keys, settings)


def _summarize(run: t.Any, handle: t.Any, marks: dict[str, int]) -> dict[str, t.Any]:
    per_host = {h.name: handle.round_trips(h.name, since=marks[h.name]) for h in handle.spec.hosts}
    per_task: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    changed: collections.Counter[str] = collections.Counter()
    over_budget: list[str] = []
    for r in run.records:
        res = r["result"]
        if "round_trips" not in res:
            continue
        per_task[r["task"]][int(res["round_trips"])] += 1
        if res.get("changed"):
            changed[r["task"]] += 1
        # 2 when the task sent a change (``changes`` lists it, even when the host then refused it or a
        # KMS client only came nearer its threshold), else 1.
        budget = 2 if res.get("changed") or res.get("changes") else 1
        if int(res["round_trips"]) > budget:  # a failed change is held to the same budget
            over_budget.append(f"{r['host']}: {r['task']} used {res['round_trips']}")
    return {
        "rc": run.rc,
        "module_executions_per_host": per_host,
        "module_executions_total": sum(per_host.values()),
        "tasks": {k: dict(v) for k, v in per_task.items()},
        "changed_tasks": dict(changed),
        "over_budget": over_budget,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--fleet", default=str(ROOT / "lab" / "fleets" / "demo.yml"))
    p.add_argument("--playbook", default=str(ROOT / "playbooks" / "site.yml"))
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--json", default=str(ROOT / ".build" / "bench.json"))
    args = p.parse_args(argv)

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="winops-bench-"))
    demo = pathlib.Path(args.fleet).resolve() == DEMO.resolve()
    # The demo fleet runs as `make demo` runs it (its KMS host keys and settings), moved to
    # 127.0.50.0/24 with free ports so that it can run beside a `make demo`.
    handle = _start(demo_fleet() if demo else pathlib.Path(args.fleet), tmp / "lab")
    inventory = inventory_dir(handle, demo_fleet(), tmp / "inventory") if demo else handle.inventory
    report: dict[str, t.Any] = {"fleet": args.fleet, "playbook": args.playbook, "hosts": len(handle.spec.hosts),
                                "runs": []}
    try:
        ansible = Ansible(tmp)
        for i in range(args.runs):
            marks = {h.name: handle.log_mark(h.name) for h in handle.spec.hosts}
            start = time.monotonic()
            run = ansible.run(pathlib.Path(args.playbook), handle, inventory=inventory, timeout=1800)
            elapsed = time.monotonic() - start
            summary = _summarize(run, handle, marks)
            summary["seconds"] = round(elapsed, 2)
            report["runs"].append(summary)
            per_host = summary["module_executions_per_host"].values()
            print(f"run {i + 1}: rc={run.rc} {elapsed:.1f}s, module executions: total "
                  f"{summary['module_executions_total']}, per host min {min(per_host)} max {max(per_host)}, "
                  f"changed tasks {sum(summary['changed_tasks'].values())}")
            for task, hist in sorted(summary["tasks"].items()):
                print(f"    {task}: " + ", ".join(f"{n} host(s) x {rt} round trip(s)" for rt, n in sorted(hist.items())))
            for line in summary["over_budget"]:
                print(f"    OVER BUDGET {line}")
            if run.rc != 0:
                print(run.stdout[-4000:])
    finally:
        handle.lab.stop()
    out = pathlib.Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"report: {os.path.relpath(out)}")
    return 0 if all(r["rc"] == 0 and not r["over_budget"] for r in report["runs"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
