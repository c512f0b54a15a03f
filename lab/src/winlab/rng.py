"""The lab's only source of randomness: one seeded generator per world.

CMIDs, installation IDs, DNS failover order and every other "random" choice come
from here, so a fleet built from the same spec and seed behaves identically.
"""

from __future__ import annotations

import hashlib
import random
import typing as t
import uuid

T = t.TypeVar("T")


class LabRandom:
    """A seeded random source with the few shapes the lab needs."""

    def __init__(self, seed: int | str) -> None:
        self.seed = seed
        self._r = random.Random(str(seed))

    def guid(self) -> str:
        """A random (version 4 layout) GUID in Windows' lower-case 8-4-4-4-12 form."""
        return str(uuid.UUID(int=self._r.getrandbits(128), version=4))

    def digits(self, n: int) -> str:
        """``n`` random decimal digits."""
        return "".join(str(self._r.randrange(10)) for _ in range(n))

    def randint(self, a: int, b: int) -> int:
        """An integer in ``[a, b]``."""
        return self._r.randint(a, b)

    def choice(self, seq: t.Sequence[T]) -> T:
        """One element of a non-empty sequence."""
        return self._r.choice(seq)

    def shuffle(self, items: list[T]) -> list[T]:
        """Shuffle ``items`` in place and return it."""
        self._r.shuffle(items)
        return items

    def derive(self, *parts: str) -> str:
        """A stable hex digest of the seed and ``parts`` (does not advance the generator).

        Used where a value must be a pure function of its inputs (an installation ID
        from host + product + key; a confirmation ID from an installation ID) so that
        it stays the same however many other random draws happened before.
        """
        h = hashlib.sha256(str(self.seed).encode())
        for p in parts:
            h.update(b"\0" + p.encode())
        return h.hexdigest()
