"""Make ``ansible_collections.winops.volume_activation`` importable when pytest runs from a checkout.

``ansible-test units`` sets this up itself; plain ``pytest tests/unit`` (what ``make units``
runs) relies on ``.build/collections/ansible_collections/winops/volume_activation`` being a
link to the repository root, which this file creates when it is missing.
"""

from __future__ import annotations

import os
import pathlib
import sys

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_COLL = _ROOT / ".build" / "collections"
_LINK = _COLL / "ansible_collections" / "winops" / "volume_activation"

if _ROOT.parent.parent.name != "ansible_collections":  # not already inside a collection tree
    if not _LINK.exists():
        _LINK.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(_ROOT, _LINK.parent), _LINK)
    sys.path.insert(0, str(_COLL))
