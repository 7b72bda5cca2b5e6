"""Check once, at the boundary: a sweep whose learner options are impossible is refused by
`featlearn sweep --dry-run` with one line naming the file and the option, and nothing is stored."""

import pytest

from featlearn.cli import main

SPEC = """name = "bad"
experiment = "fit"
[base]
learner = "{learner}"
{line}
[grid]
d = [8]
n = [100]
"""


@pytest.mark.parametrize(
    "learner,line,expected",
    [
        ("layerwise", "options = { eta = 2.0 }", "unknown option(s) ['eta']"),
        ("layerwise", "width = 33", "width must be even"),
        ("kernel-ridge", 'options = { kernel = "laplace" }', "kernel must be one of"),
        ("kernel-ridge", 'options = { solver = "exact", max_bytes = 10 }', "max_bytes must be"),
        ("kernel-ridge", 'options = { solver = "nystrom", centers = 500 }', "centers must be <= n"),
    ],
)
def test_dry_run_refuses_impossible_learner_options(tmp_path, capsys, learner, line, expected):
    spec, store = tmp_path / "bad.toml", tmp_path / "s.db"
    spec.write_text(SPEC.format(learner=learner, line=line))
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(spec), "--store", str(store), "--dry-run"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "bad.toml" in err and "learner options" in err and expected in err
    assert not store.exists()
