"""docs/design.md: every "DESIGN section N" cited in the sources names a section that exists there,
and each subpackage cites a section that describes it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
SOURCES = [ROOT / "src" / "featlearn", ROOT / "benchmarks"]

# "DESIGN section 4", "DESIGN sections 3-4", "DESIGN sections 2 and 4", "DESIGN §3", "DESIGN 6",
# across a line break too; a range a-b cites every section from a to b.
_CITATION = re.compile(r"DESIGN[\s#]+(?:sections?[\s#]+|§\s*)?(\d+(?:\s*(?:-|–|,|and)\s*\d+)*)")
_HEADING = re.compile(r"^## (\d+)\. ", re.MULTILINE)


def cited_sections(text: str) -> list[set[int]]:
    """The section numbers of each citation in ``text``, one set per citation."""
    out = []
    for match in _CITATION.finditer(text):
        numbers: set[int] = set()
        for part in re.split(r"\s*(?:,|and)\s*", match.group(1)):
            bounds = [int(b) for b in re.split(r"\s*[-–]\s*", part)]
            numbers.update(range(bounds[0], bounds[-1] + 1))
        out.append(numbers)
    return out


def design_sections(text: str) -> dict[int, str]:
    """Section number -> its text (heading to the next numbered heading) of a design document."""
    starts = list(_HEADING.finditer(text))
    ends = [m.start() for m in starts[1:]] + [len(text)]
    return {int(m.group(1)): text[m.start() : end] for m, end in zip(starts, ends, strict=True)}


def _source_files():
    yield ROOT / "README.md"
    for root in SOURCES:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".toml", ".md") and "egg-info" not in str(path):
                yield path


def test_parser_reads_every_citation_form():
    text = (
        "see DESIGN section 4, then (DESIGN sections 3-4) and DESIGN sections 2 and 4;\n"
        "# DESIGN\n# section 13 is cited across a line; DESIGN §3; DESIGN sections 8–10 (DESIGN 6)."
    )
    assert cited_sections(text) == [{4}, {3, 4}, {2, 4}, {13}, {3}, {8, 9, 10}, {6}]
    assert cited_sections("the DESIGN of this, section 4") == []


def test_design_sections_are_numbered_in_order():
    sections = design_sections(DESIGN.read_text())
    assert list(sections) == list(range(1, len(sections) + 1))
    assert len(sections) >= 9  # the numbering of the agreed design: 1 targets .. 9 command line
    assert design_sections("## 1. A\ntext\n## 3. B\n") == {1: "## 1. A\ntext\n", 3: "## 3. B\n"}


def test_every_citation_in_the_sources_names_an_existing_section():
    sections = design_sections(DESIGN.read_text())
    missing, count = [], 0
    for path in _source_files():
        for numbers in cited_sections(path.read_text()):
            count += 1
            missing += [f"{path.relative_to(ROOT)}: section {n}" for n in numbers - set(sections)]
    assert count > 20  # the sources do cite the design; an empty scan would prove nothing
    assert not missing, "citations of sections docs/design.md lacks:\n" + "\n".join(missing)


def test_a_citation_of_a_missing_section_is_caught():
    sections = design_sections(DESIGN.read_text())
    fake = f'"""Something (DESIGN section {max(sections) + 1})."""'
    assert cited_sections(fake)[0] - set(sections) == {max(sections) + 1}


@pytest.mark.parametrize(
    "package",
    [
        "targets",
        "networks",
        "kernels",
        "solvers",
        "learners",
        "metrics",
        "experiments",
        "runtime",
        "plots",
    ],
)
def test_each_subpackage_cites_a_section_that_describes_it(package):
    """The citation in a subpackage's docstring points at a section whose text names it."""
    sections = design_sections(DESIGN.read_text())
    init = ROOT / "src" / "featlearn" / package / "__init__.py"
    cited = set().union(*cited_sections(init.read_text()))
    assert cited, f"featlearn.{package} cites no design section"
    assert any(f"featlearn.{package}" in sections.get(n, "") for n in cited), (package, cited)
