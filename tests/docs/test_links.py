"""Relative links and images in docs/*.md point to files that exist."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s#]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_relative_links_resolve(page):
    targets = [t for t in LINK.findall(page.read_text(encoding="utf-8")) if "://" not in t]
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_the_link_pattern_finds_links():
    assert LINK.findall("see [a](api.md#x) and ![f](figures/a.png) and [w](https://x.org)") == [
        "api.md",
        "figures/a.png",
        "https://x.org",
    ]
