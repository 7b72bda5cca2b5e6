"""CITATION.cff and LICENSE agree with pyproject.toml: version, license, the cited paper."""

import tomllib
from pathlib import Path

import yaml  # pyyaml, installed with dask

import featlearn

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
REQUIRED = ("cff-version", "message", "title", "authors")  # CFF 1.2.0's required keys


def citation_problems(text: str, version: str, license_: str) -> list[str]:
    """What is wrong with a CITATION.cff text for this package (empty list: nothing)."""
    try:
        cff = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"not YAML: {exc}"]
    if not isinstance(cff, dict):
        return ["not a mapping"]
    problems = [f"missing {key}" for key in REQUIRED if key not in cff]
    if cff.get("cff-version") != "1.2.0":
        problems.append(f"cff-version {cff.get('cff-version')!r}")
    if str(cff.get("version")) != version:
        problems.append(f"version {cff.get('version')!r} is not pyproject's {version!r}")
    if cff.get("license") != license_:
        problems.append(f"license {cff.get('license')!r} is not pyproject's {license_!r}")
    papers = [r for r in cff.get("references", []) if "Representations with Gradient" in r["title"]]
    if len(papers) != 1:
        return [*problems, "no reference to Damian, Lee, Soltanolkotabi (COLT 2022)"]
    paper = papers[0]
    names = [a["family-names"] for a in paper["authors"]]
    if names != ["Damian", "Lee", "Soltanolkotabi"]:
        problems.append(f"authors {names}")
    if (paper.get("year"), paper.get("volume")) != (2022, 178):
        problems.append(f"year/volume {paper.get('year')}/{paper.get('volume')}")
    return problems


def test_citation_file_names_this_version_and_the_paper():
    text = (ROOT / "CITATION.cff").read_text()
    assert citation_problems(text, PROJECT["version"], PROJECT["license"]) == []
    assert "featlearn" in yaml.safe_load(text)["title"]
    assert featlearn.__version__ == PROJECT["version"]


def test_citation_check_catches_a_stale_version_and_a_missing_reference():
    text = (ROOT / "CITATION.cff").read_text()
    stale = text.replace(f'version: "{PROJECT["version"]}"', 'version: "0.0.1"')
    assert stale != text
    assert citation_problems(stale, PROJECT["version"], "MIT") == [
        f"version '0.0.1' is not pyproject's {PROJECT['version']!r}"
    ]
    bare = text.split("references:")[0]
    assert citation_problems(bare, PROJECT["version"], "MIT")[-1].startswith("no reference")
    assert citation_problems("a: [", "1", "MIT")[0].startswith("not YAML")


def test_license_is_mit_as_pyproject_says():
    text = (ROOT / "LICENSE").read_text()
    assert PROJECT["license"] == "MIT"
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 the featlearn developers" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text
