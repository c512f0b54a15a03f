"""Makes the shared WinRM helper of the molecule scenarios importable."""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "resources"))
