"""Write the KMS host keys of a winlab fleet file as an Ansible inventory of host variables.

    .venv/bin/python tools/fleet_keys.py lab/fleets/demo.yml \\
        --assign kms01=ws2022-csvlk,office2021-csvlk --assign kms-office2010=office2010-csvlk \\
        --output .winlab/demo-keys.yml

The fleet file names its synthetic keys under ``keys:``; it does not say which KMS host gets
which, so ``--assign HOST=KEYNAME[,KEYNAME]`` does. The output sets ``kms_server_host_keys``
(the variable of the ``kms_server`` role) for each assigned host, to pass beside the lab's own
inventory (``ansible-playbook -i .winlab/inventory.yml -i .winlab/demo-keys.yml``), exactly as
an administrator keeps the real keys in vaulted host variables. The file is written with mode
0600 and nothing here prints a key: the summary on stdout shows them masked.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import typing as t

import yaml

# Fleet-file product names (winlab's ``keys[].product``) -> the collection's product names.
_OFFICE_PREFIX = "office-"
_WINDOWS_PREFIX = "windows"


class FleetKeyError(Exception):
    """A one-line error for stderr."""


def collection_product(fleet_product: str) -> str:
    """``windows-server-2022`` -> ``windows``; ``office-2010`` -> ``office2010``."""
    name = fleet_product.strip().lower()
    if name.startswith(_OFFICE_PREFIX):
        version = name[len(_OFFICE_PREFIX):]
        if version.isdigit():
            return f"office{version}"
    elif name.startswith(_WINDOWS_PREFIX):
        return "windows"
    raise FleetKeyError(f"Failed to map fleet product '{fleet_product}' to a product of the collection")


def mask(key: str) -> str:
    """The key as the collection shows it: ``XXXXX-XXXXX-XXXXX-XXXXX-3V66T``."""
    return "XXXXX-XXXXX-XXXXX-XXXXX-" + key.strip()[-5:]


def parse_assign(values: t.Sequence[str]) -> dict[str, list[str]]:
    """``["kms01=a,b", "kms02=c"]`` -> ``{"kms01": ["a", "b"], "kms02": ["c"]}``."""
    out: dict[str, list[str]] = {}
    for value in values:
        host, sep, names = value.partition("=")
        if not sep or not host.strip() or not names.strip():
            raise FleetKeyError(f"Failed to parse --assign '{value}': expected HOST=KEYNAME[,KEYNAME]")
        out.setdefault(host.strip(), []).extend(n.strip() for n in names.split(",") if n.strip())
    return out


def host_keys(fleet: t.Mapping[str, t.Any], assign: t.Mapping[str, t.Sequence[str]]) -> dict[str, list[dict[str, str]]]:
    """``host -> [{product, key}]`` for the assigned CSVLKs of ``fleet``.

    Raises :class:`FleetKeyError` for an unknown host or key name, a key that is not a
    CSVLK, or two keys of the same product on one host.
    """
    keys = {str(k["name"]): k for k in fleet.get("keys") or []}
    host_names = {str(h["name"]) for h in fleet.get("hosts") or []}
    out: dict[str, list[dict[str, str]]] = {}
    for host, names in assign.items():
        if host not in host_names:
            raise FleetKeyError(f"Failed to assign keys to '{host}': no such host in the fleet file")
        entries: list[dict[str, str]] = []
        for name in names:
            if name not in keys:
                raise FleetKeyError(f"Failed to assign key '{name}' to '{host}': the fleet file has no such key "
                                    f"(known: {', '.join(sorted(keys))})")
            k = keys[name]
            if k.get("kind") != "csvlk":
                raise FleetKeyError(f"Failed to assign key '{name}' to '{host}': it is a {k.get('kind')}, not a CSVLK")
            product = collection_product(str(k["product"]))
            if any(e["product"] == product for e in entries):
                raise FleetKeyError(f"Failed to assign key '{name}' to '{host}': a {product} key is already assigned")
            entries.append({"product": product, "key": str(k["key"])})
        out[host] = entries
    return out


def render(keys: t.Mapping[str, t.Sequence[t.Mapping[str, str]]], source: str) -> str:
    """The inventory text (holds the keys: write it to a 0600 file, never to a terminal)."""
    doc = {"all": {"hosts": {h: {"kms_server_host_keys": [dict(e) for e in entries]}
                             for h, entries in keys.items()}}}
    header = (f"# KMS host keys from {source} (synthetic lab keys), written by tools/fleet_keys.py.\n"
              "# Secret: keep this file private; the kms_server role handles the keys with no_log.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def write_private(path: pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: t.Sequence[str] | None = None) -> int:
    """CLI entry point; returns the exit status (1 with a one-line error on stderr)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("fleet", type=pathlib.Path, help="winlab fleet file (YAML)")
    parser.add_argument("--assign", action="append", default=[], metavar="HOST=KEYNAME[,KEYNAME]",
                        help="KMS host keys of a host (repeat per host)")
    parser.add_argument("--output", type=pathlib.Path, required=True, help="inventory file to write (mode 0600)")
    args = parser.parse_args(argv)
    try:
        fleet = yaml.safe_load(args.fleet.read_text(encoding="utf-8"))
        if not isinstance(fleet, dict):
            raise FleetKeyError(f"Failed to read fleet file '{args.fleet}': not a mapping")
        keys = host_keys(fleet, parse_assign(args.assign))
    except (OSError, yaml.YAMLError, FleetKeyError) as e:
        print(f"fleet_keys: {e}", file=sys.stderr)
        return 1
    write_private(args.output, render(keys, str(args.fleet)))
    for host, entries in keys.items():
        print(f"{host}: " + ", ".join(f"{e['product']} {mask(e['key'])}" for e in entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
