"""The one SRV record type of the lab, and how a Windows client orders SRV records.

Pure state and logic, no sockets: the models (a KMS host publishing, a client
discovering), the lab's DNS views and the BIND-backed servers all speak
:class:`SrvRecord`.

- :class:`SrvRecord` is one ``_vlmcs._tcp`` record (RFC 2782 fields) with the domain it
  sits under. Two records are the same record when their owner and data are the same;
  the TTL is a property of the whole RRset (RFC 2181 §5.2), so it is not compared.
- :func:`order_srv` orders SRV records as RFC 2782 prescribes (priority ascending,
  weighted random among equal priorities) with an injected random source, so the
  lab's seeded generator makes every run reproducible. Windows KMS clients pick a
  host at random and honour priority/weight when they are set [WSD-DNS], [ODO-DNS];
  Microsoft's documents disagree on whether priority and weight are used.
"""

from __future__ import annotations

import dataclasses
import random as _random
import typing as t

#: The KMS SRV owner below a domain [WSD-DNS].
KMS_OWNER = "_vlmcs._tcp"
#: TTL of a record a KMS host publishes: not documented; 1 hour [LAB].
DEFAULT_TTL = 3600


@dataclasses.dataclass(frozen=True, order=True)
class SrvRecord:
    """One SRV record under ``_vlmcs._tcp.<domain>``; ``target`` has no trailing dot."""

    domain: str
    target: str
    port: int = 1688
    priority: int = 0
    weight: int = 0
    ttl: int = dataclasses.field(default=DEFAULT_TTL, compare=False)

    @property
    def owner(self) -> str:
        """The owner name, ``_vlmcs._tcp.<domain>``."""
        return f"{KMS_OWNER}.{self.domain}"


def domain_of(owner: str) -> str:
    """The domain an SRV owner sits under: ``_vlmcs._tcp.contoso.com.`` -> ``contoso.com``.

    The leading ``_service._proto`` labels (RFC 2782) are dropped; an owner without
    them is its own domain.
    """
    labels = owner.rstrip(".").lower().split(".")
    while labels and labels[0].startswith("_"):
        labels.pop(0)
    return ".".join(labels)


class SupportsRandom(t.Protocol):
    """A random source with ``random() -> float`` in [0, 1), such as ``random.Random``."""

    def random(self) -> float: ...


class SupportsRandint(t.Protocol):
    """A random source with ``randint(a, b) -> int`` in [a, b], such as ``winlab.rng.LabRandom``."""

    def randint(self, a: int, b: int) -> int: ...


RandomSource = SupportsRandom | SupportsRandint | _random.Random


def _draw(rng: RandomSource, high: int) -> int:
    """An integer uniformly in [0, high] from ``rng`` (``random()`` preferred, else ``randint``)."""
    if hasattr(rng, "random"):
        return min(int(rng.random() * (high + 1)), high)
    return int(t.cast(SupportsRandint, rng).randint(0, high))


def order_srv(records: t.Iterable[SrvRecord], rng: RandomSource) -> list[SrvRecord]:
    """Order SRV records for trying, as RFC 2782 ("Usage rules") prescribes.

    Lowest priority first. Within one priority, records are first put in a random
    order (RFC 2782 allows "any order"; Windows picks hosts at random [WSD-DNS]) with
    weight-0 records at the front, then repeatedly: draw an integer uniformly in
    [0, sum of remaining weights] and take the first record whose running weight sum
    reaches it. Only ``rng.random()`` (or, lacking it, ``rng.randint``) is
    used, so a seeded generator gives a reproducible order.
    """
    by_priority: dict[int, list[SrvRecord]] = {}
    for record in records:
        by_priority.setdefault(record.priority, []).append(record)
    ordered: list[SrvRecord] = []
    for priority in sorted(by_priority):
        group = list(by_priority[priority])
        # Fisher-Yates through _draw, so any source with random() or randint() will do.
        for i in range(len(group) - 1, 0, -1):
            j = _draw(rng, i)
            group[i], group[j] = group[j], group[i]
        group.sort(key=lambda r: r.weight != 0)  # stable: weight-0 records first
        while group:
            total = sum(r.weight for r in group)
            pick = _draw(rng, total)
            running = 0
            for index, r in enumerate(group):
                running += r.weight
                if running >= pick:
                    ordered.append(group.pop(index))
                    break
    return ordered
