"""The per-version schemas (src/winlab/data/schema) against the lab's own models: every simulated
OS has exactly one schema, the lab answers exactly the schema's classes and properties, and it
invents no member that no version of the class has."""

from __future__ import annotations

import typing as t

import pytest

from winlab.models import schema
from winlab.models.catalog import OSES
from winlab.models.world import World
from winlab.spec import parse_fleet
from winlab.surfaces.cim import CimSurface


@pytest.fixture(scope="module")
def world() -> World:
    hosts = [{"name": f"h{i}", "address": f"127.0.41.{i + 1}", "os": os_id, "edition": next(iter(o.editions)),
              "office": [{"version": "2010", "products": ["ProPlus"]}]}
             for i, (os_id, o) in enumerate(sorted(OSES.items()))]
    return World(parse_fleet({"domain": "schema.example.test", "defaults": {"password": "P@ss"}, "hosts": hosts}))


@pytest.mark.parametrize("os_id", sorted(OSES))
def test_every_simulated_os_has_exactly_one_schema(os_id: str) -> None:
    assert [s.nt for s in schema.schemas() if os_id in s.oses] == [".".join(OSES[os_id].version.split(".")[:2])]


def test_every_schema_file_serves_only_simulated_oses() -> None:
    assert {o for s in schema.schemas() for o in s.oses} == set(OSES)


def _union(cls: str) -> set[str]:
    """The members of ``cls`` on any version. OSPP rows come from the same builders as SPP rows
    (the answer is then cut to the OSPP schema), so for OSPP the SPP counterpart's count too."""
    if cls.startswith("Office"):
        spp = cls.replace("OfficeSoftwareProtection", "SoftwareLicensing")
        return set(schema.ospp_classes()[cls].properties) | _union(spp)
    return {p for s in schema.schemas() if cls in s.classes for p in s.classes[cls].properties}


@pytest.mark.parametrize("os_id", sorted(OSES))
def test_instances_carry_exactly_the_versions_properties(world: World, os_id: str) -> None:
    host = next(h for h in world.hosts.values() if h.os.id == os_id)
    cim = CimSurface(host)
    for cls in cim.classes():
        rows = cim.cim_instances(cls)
        assert rows, cls
        expected = set(cim.class_def(cls).properties)
        assert all(set(r) == expected for r in rows), (os_id, cls)


@pytest.mark.parametrize("os_id", sorted(OSES))
def test_the_lab_invents_no_member(world: World, os_id: str) -> None:
    """Every name the lab's row builders fill exists on the class in some Windows version."""
    host = next(h for h in world.hosts.values() if h.os.id == os_id)
    cim = CimSurface(host)
    built: dict[str, list[dict[str, t.Any]]] = {
        "SoftwareLicensingProduct": [cim._product_row(p) for p in host.store_products("spp")],
        "OfficeSoftwareProtectionProduct": [cim._product_row(p) for p in host.store_products("ospp")],
        "SoftwareLicensingService": [cim._service_row("spp")],
        "OfficeSoftwareProtectionService": [cim._service_row("ospp")],
    }
    for cls, rows in built.items():
        for row in rows:
            assert set(row) - _union(cls) == set(), (os_id, cls)
