"""Human labels: learner names with the options that define them, fields, integers as integers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from featlearn.plots._html import cell, table
from featlearn.plots._labels import axis_label, format_value, group_label, learner_label


@pytest.mark.parametrize(
    "name, options, width, label",
    [
        ("layerwise", None, None, "layer-wise network"),
        ("layerwise", None, 256, "layer-wise network (m = 256)"),
        ("layerwise", None, 256.0, "layer-wise network (m = 256)"),
        ("random-features", None, 512, "random features (m = 512)"),
        ("giant-step", None, 64, "giant-step network (m = 64)"),
        ("full-training", None, None, "fully trained network"),
        ("kernel-ridge", {"kernel": "ntk"}, 512, "NTK kernel ridge"),  # a kernel has no width
        ("kernel-ridge", {"kernel": "nngp"}, None, "NNGP kernel ridge"),
        ("kernel-ridge", {"kernel": "ntk", "oracle": True}, None, "oracle NTK kernel ridge"),
        ("kernel-ridge", {"kernel": "ntk", "oracle": "False"}, None, "NTK kernel ridge"),
        ("kernel-ridge", {}, None, "kernel ridge"),
        ("rfm", {"kernel": "laplace"}, None, "RFM (Laplace kernel)"),
        ("my-plugin", None, None, "my-plugin"),
    ],
)
def test_learner_labels(name, options, width, label):
    assert learner_label(name, options, width) == label


def test_group_labels_absorb_the_learners_options_and_print_the_rest_plainly():
    facets = ["learner", "options.kernel", "options.n_lambdas", "noise"]
    assert group_label(facets, ("kernel-ridge", "ntk", 3.0, 0.25)) == (
        "NTK kernel ridge, n_lambdas = 3, noise = 0.25"
    )
    # the report's facet columns hold text ("3.0" before formatting) and "" for unset fields
    assert group_label(facets, ("layerwise", "", "3.0", "")) == "layer-wise network, n_lambdas = 3"
    assert group_label(["options.kernel"], "ntk") == "kernel = ntk"  # no learner: plain field
    assert group_label([], ()) == "all cells"


@pytest.mark.parametrize(
    "value, text",
    [
        (3.0, "3"),
        (np.float64(2304.0), "2304"),
        (np.int64(7), "7"),
        (256, "256"),
        (0.25, "0.25"),
        (1e-6, "1e-06"),
        (0.123456, "0.1235"),
        ("3.0", "3"),
        ("ntk", "ntk"),
        (True, "true"),
        (float("nan"), "nan"),
    ],
)
def test_format_value_prints_integers_as_integers(value, text):
    assert format_value(value) == text


def test_table_cells_print_integers_as_integers():
    assert cell(np.int64(3), precise=True) == "3"
    assert cell(pd.NA, precise=False) == "" and cell(None, precise=True) == ""
    assert cell(0.1, precise=True) == "0.1" and cell(1 / 3, precise=False) == "0.333333"
    html = table(pd.DataFrame({"n": [64, 128], "risk": [0.5, 0.25]}), "t")
    assert "<td>64</td><td>0.5</td>" in html and "64.0" not in html


def test_axis_labels():
    assert axis_label("relative_risk") == "relative excess risk"
    assert axis_label("n") == "samples n"
    assert axis_label("top_r_energy") == "top r energy"


def test_panel_labels_keep_only_the_fields_that_tell_groups_apart():
    from featlearn.plots._figures import _labels

    facets = ["learner", "noise", "options.lambda_max"]
    keys = [("kernel-ridge", "0", "0.0001"), ("kernel-ridge", "0.25", "1"), ("layerwise", "0", "")]
    # the λ grid follows the noise level: once the noise is shown it adds nothing
    assert _labels(facets, keys) == [
        "kernel ridge, noise = 0",
        "kernel ridge, noise = 0.25",
        "layer-wise network, noise = 0",
    ]
    # the field that separates the groups is kept, one that does not is left out
    keys = [("kernel-ridge", "0", "0.0001"), ("kernel-ridge", "0", "1")]
    assert _labels(facets, keys) == [
        "kernel ridge, lambda_max = 0.0001",
        "kernel ridge, lambda_max = 1",
    ]
