"""The sweep specs shipped with featlearn (``featlearn/specs/*.toml``, package data).

Each experiment has a full-size spec ``NAME.toml`` and a smoke size ``NAME-smoke.toml``: the same
experiment, target and cases on a tiny grid, which the test suite runs end to end. The runtime has
no notion of sizes, so the smoke size is a separate, complete spec: ``featlearn sweep`` runs either.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from featlearn._errors import ConfigError

__all__ = ["REPRODUCE_SPECS", "SCALES", "SHIPPED_SPECS", "spec_path"]

#: The sweeps of ``featlearn reproduce``, in the order it runs them; each has the three scales.
REPRODUCE_SPECS = ("reproduce-separation", "reproduce-thresholds", "reproduce-transfer")

#: Names of the shipped specs (without ``.toml`` / ``-smoke.toml`` / ``-large.toml``).
SHIPPED_SPECS = ("sample-complexity", "transfer", "alignment", "giant-step-dandi", *REPRODUCE_SPECS)

#: File-name suffix of each size: ``small`` is the spec itself.
SCALES = {"small": "", "smoke": "-smoke", "large": "-large"}


def spec_path(name: str, *, smoke: bool = False, scale: str | None = None) -> Path:
    """Path of the shipped spec ``name`` (one of ``SHIPPED_SPECS``) at ``scale`` (``small``,
    ``smoke`` or ``large``; ``smoke=True`` is ``scale="smoke"``)."""
    if name not in SHIPPED_SPECS:
        raise ConfigError(f"spec must be one of {list(SHIPPED_SPECS)}; got {name!r}")
    scale = scale or ("smoke" if smoke else "small")
    if scale not in SCALES:
        raise ConfigError(f"scale must be one of {sorted(SCALES)}; got {scale!r}")
    path = Path(str(resources.files("featlearn") / "specs" / f"{name}{SCALES[scale]}.toml"))
    if not path.is_file():
        raise ConfigError(f"spec {name!r} has no {scale} size (no file {path.name})")
    return path
