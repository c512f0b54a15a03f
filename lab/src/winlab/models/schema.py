"""The CIM schema each simulated Windows version answers with, read from ``data/schema/*.yml``.

One file per NT version (``6.0.yml`` .. ``10.0.yml``) lists the classes a host of that version
has, with every property (CIM type and source) and every method (parameters with CIM type,
source), written by hand from Microsoft's published class definitions; ``ospp.yml`` holds the
Office Software Protection classes, present on a host only where OSPP is installed. Each
file names the catalog OS ids it serves (``oses``) and the sources of its entries in its
header. The lab answers a query or a method call from the schema of the host's version:

* a class that the version does not have is 0x80041010 (WBEM_E_INVALID_CLASS), as
  ``Get-CimInstance`` reports it;
* a property named in a SELECT list that the class does not have on that version is
  0x80041017 (WBEM_E_INVALID_QUERY): WMI validates the SELECT list against the class before
  it asks the provider for anything;
* method and parameter checks are in ``winlab.models.host`` (``check_method``).

Nothing here is generated from the lab's models or from the collection: the tests in
``lab/tests/test_schema.py`` check the models against these files, and the collection's
``tests/unit/plugins/plugin_utils/test_schema_names.py`` checks the names the executor and the
engine use against them.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import typing as t

import yaml

#: The files, by NT version (``ospp.yml`` apart).
VERSION_FILES = ("6.0.yml", "6.1.yml", "6.2.yml", "6.3.yml", "10.0.yml")
OSPP_FILE = "ospp.yml"


@dataclasses.dataclass(frozen=True)
class ParamDef:
    """One method parameter: ``ctype`` is the CIM type (``uint32``, ``string[]``, ``ref:Class``)."""

    name: str
    ctype: str
    optional: bool = False


@dataclasses.dataclass(frozen=True)
class MethodDef:
    """A method of a class: in and out parameters, whether it is static, and its source tag."""

    name: str
    in_params: tuple[ParamDef, ...]
    out_params: tuple[ParamDef, ...]
    static: bool
    source: str


@dataclasses.dataclass(frozen=True)
class ClassDef:
    """A class as one Windows version (or OSPP) defines it."""

    name: str
    namespace: str
    properties: dict[str, tuple[str, str]]  # name -> (CIM type, source tag)
    methods: dict[str, MethodDef]
    requires_role: str | None = None  # the lab host role that brings the class (dns_server)

    def property_names(self) -> tuple[str, ...]:
        """Property names in the schema's order."""
        return tuple(self.properties)

    def lab_params(self, method: str) -> list[tuple[str, str]]:
        """In-parameters as ``(name, type)`` with ``?`` after the type of an optional one (the
        shape ``WindowsHost.check_method`` takes)."""
        return [(p.name, p.ctype + ("?" if p.optional else "")) for p in self.methods[method].in_params]


@dataclasses.dataclass(frozen=True)
class Schema:
    """The classes of one NT version (``nt``), serving the catalog OS ids ``oses``."""

    file: str
    nt: str
    oses: tuple[str, ...]
    classes: dict[str, ClassDef]


def _params(raw: t.Sequence[t.Sequence[str]] | None) -> tuple[ParamDef, ...]:
    return tuple(ParamDef(str(p[0]), str(p[1]), len(p) > 2 and p[2] == "optional") for p in raw or ())


def _classes(raw: t.Mapping[str, t.Any]) -> dict[str, ClassDef]:
    out: dict[str, ClassDef] = {}
    for name, body in raw.items():
        props = {str(p): (str(v[0]), str(v[1])) for p, v in (body.get("properties") or {}).items()}
        methods = {
            str(m): MethodDef(str(m), _params(d.get("in")), _params(d.get("out")), bool(d.get("static", False)),
                              str(d.get("source", "")))
            for m, d in (body.get("methods") or {}).items()
        }
        out[str(name)] = ClassDef(str(name), str(body.get("namespace", "root/cimv2")), props, methods,
                                  body.get("requires_role"))
    return out


def _load(file: str) -> dict[str, t.Any]:
    text = importlib.resources.files("winlab").joinpath("data", "schema", file).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "classes" not in data:
        raise ValueError(f"schema file {file} has no classes")
    return data


@functools.cache
def schemas() -> tuple[Schema, ...]:
    """Every per-version schema, oldest first."""
    out = []
    for file in VERSION_FILES:
        data = _load(file)
        out.append(Schema(file, str(data["nt"]), tuple(str(o) for o in data["oses"]), _classes(data["classes"])))
    return tuple(out)


@functools.cache
def ospp_classes() -> dict[str, ClassDef]:
    """The OSPP classes (``ospp.yml``)."""
    return _classes(_load(OSPP_FILE)["classes"])


def for_os(os_id: str) -> Schema:
    """The schema of a catalog OS id; ``KeyError`` naming the id when no file serves it."""
    for s in schemas():
        if os_id in s.oses:
            return s
    raise KeyError(f"no schema file serves the OS '{os_id}'")
