"""The sweep specs shipped with featlearn (``featlearn/specs/*.toml``, package data).

Each experiment has a full-size spec ``NAME.toml`` and a smoke size ``NAME-smoke.toml``: the same
experiment, target and cases on a tiny grid, which the test suite runs end to end. The runtime has
no notion of sizes, so the smoke size is a separate, complete spec: ``featlearn sweep`` runs either.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from featlearn._errors import ConfigError

__all__ = ["SHIPPED_SPECS", "spec_path"]

#: Names of the shipped specs (without ``.toml`` / ``-smoke.toml``).
SHIPPED_SPECS = ("sample-complexity", "transfer", "alignment")


def spec_path(name: str, *, smoke: bool = False) -> Path:
    """Path of the shipped spec ``name`` (one of ``SHIPPED_SPECS``), or of its smoke size."""
    if name not in SHIPPED_SPECS:
        raise ConfigError(f"spec must be one of {list(SHIPPED_SPECS)}; got {name!r}")
    path = Path(
        str(resources.files("featlearn") / "specs" / f"{name}{'-smoke' if smoke else ''}.toml")
    )
    if not path.is_file():  # pragma: no cover - a broken installation
        raise ConfigError(f"shipped spec file is missing: {path}")
    return path
