"""The command line: results as promised, and every bad input as one line with exit code 2."""

import json

import pytest

from featlearn.cli import main

SMALL = ["--d", "8", "--n", "1000", "--width", "32", "--n-val", "500", "--n-test", "500"]


def _run(capsys, args):
    with pytest.raises(SystemExit) as exc:
        main(args)
        raise SystemExit(0)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_fit_json_has_the_promised_keys(capsys):
    code, out, _ = _run(capsys, ["fit", *SMALL, "--json", "--seed", "3"])
    assert code == 0
    payload = json.loads(out)
    for key in ("excess_risk", "relative_risk", "alignment", "lambda", "seconds"):
        assert isinstance(payload[key], float), key
    assert payload["relative_risk"] == pytest.approx(
        payload["excess_risk"]
    )  # Var f* = 1 for single-he2
    assert 0.0 <= payload["alignment"] <= 1.0


def test_fit_is_reproducible_from_the_command_line(capsys):
    _, first, _ = _run(capsys, ["fit", *SMALL, "--json", "--seed", "4"])
    _, second, _ = _run(capsys, ["fit", *SMALL, "--json", "--seed", "4"])
    a, b = json.loads(first), json.loads(second)
    assert a["excess_risk"] == b["excess_risk"] and a["lambda"] == b["lambda"]


def test_fit_prints_a_readable_summary(capsys):
    code, out, _ = _run(capsys, ["fit", *SMALL])
    assert code == 0
    for word in ("excess risk", "relative risk", "alignment", "lambda", "wall time"):
        assert word in out


def test_targets_lists_presets_and_moments(capsys):
    code, out, _ = _run(capsys, ["targets"])
    assert code == 0 and "dls-r2p3" in out and "transfer-pair" in out
    code, out, _ = _run(capsys, ["targets", "dls-r2p3", "--json"])
    info = json.loads(out)
    assert info["energy_per_degree"] == [0.0, 0.0, 0.5, 0.5] and info["hessian_rank"] == 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (["fit", "--target", "dls-r2p3", "--d", "1"], "d must be an integer >= r (= 2); got 1"),
        (
            ["fit", "--target", "random(r=2, p=-1, energies=[])"],
            "p must be an integer >= 0; got -1",
        ),
        (["fit", "--width", "33"], "width must be even with symmetric initialisation; got 33"),
        (["fit", "--n", "0"], "n: Input should be greater than or equal to 1; got 0"),
        (["fit", "--noise", "-1"], "noise: Input should be greater than or equal to 0"),
        (["fit", "--target", "nope"], "target must be one of"),
        (["fit", "--learner", "svm"], "learner must be one of"),
        (["fit", "--d", "abc"], "'--d'"),
        (["fit", "-o", "widht=3"], "unknown option(s) ['widht']"),
        (["targets", "nope"], "target must be one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, args, needle):
    code, out, err = _run(capsys, args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("featlearn: error: ")
    assert needle in err
    assert "Traceback" not in err + out


def test_malformed_coefficient_file_from_the_cli(capsys, tmp_path):
    bad = tmp_path / "g.json"
    bad.write_text("{not json")
    code, _, err = _run(capsys, ["fit", "--target", str(bad)])
    assert code == 2 and "is malformed" in err and err.count("\n") == 1


def test_version_and_target_exponents(capsys):
    from featlearn import __version__

    code, out, _ = _run(capsys, ["--version"])
    assert code == 0 and out.strip() == f"featlearn {__version__}"
    code, out, _ = _run(capsys, ["targets", "single-he2", "--d", "6", "--json"])
    info = json.loads(out)
    assert code == 0 and info["exponents"]["information_exponent_min"] == 2
    assert info["exponents"]["leap_complexity"] == 2


def test_targets_on_the_sphere_and_a_bad_input_law(capsys):
    code, out, _ = _run(
        capsys, ["targets", "dls-r2p3", "--d", "10", "--inputs", "sphere", "--json"]
    )
    assert code == 0 and json.loads(out)["inputs"] == "sphere"
    code, _, err = _run(capsys, ["targets", "dls-r2p3", "--inputs", "cube"])
    assert code == 2 and err.count("\n") == 1 and "inputs must be one of" in err


def test_unknown_learner_names_the_value_once(capsys):
    code, _, err = _run(capsys, ["fit", "--learner", "nope", *SMALL])
    assert code == 2 and err.count("got") == 1 and "'nope'" in err
