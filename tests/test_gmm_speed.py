"""The model-version timing of the GMM comparison: sct and autograd on the same code."""

import numpy as np
import pytest

from examples.gmm.data import load_old_faithful
from examples.gmm.speed import format_speed, model_calls, speed_table, with_global

pytest.importorskip("autograd")


def test_with_global_swaps_one_name_and_keeps_the_code():
    def f(x):
        return np.sum(x)

    g = with_global(f, "np", type("fake", (), {"sum": staticmethod(lambda x: "swapped")}))
    assert g.__code__ is f.__code__ and g([1.0]) == "swapped" and f([1.0]) == 1.0


def test_sct_and_autograd_give_the_same_gradient_on_both_versions():
    X = load_old_faithful()[:20]
    calls = model_calls((X - X.mean(0)) / X.std(0), 2)
    results = {name: call() for name, call in calls.items()}
    for version in ("numpy", "python"):
        value, grads = results[f"{version}: sct value_and_grad"]
        ag_value, ag_grads = results[f"{version}: autograd value_and_grad"]
        assert float(value) == pytest.approx(results[f"{version}: function"], rel=1e-12)
        assert float(ag_value) == pytest.approx(float(value), rel=1e-12)
        for g, a in zip(grads, ag_grads):
            np.testing.assert_allclose(np.ravel(np.asarray(g, float)),
                                       np.ravel(np.asarray(a, float)), rtol=1e-9, atol=1e-12)


def test_speed_table_and_its_format():
    X = load_old_faithful()
    rows = speed_table((X - X.mean(0)) / X.std(0), 2, (8,), repeats=1)
    assert len(rows) == 6 and all(n == 8 and ms > 0 for _, n, ms in rows)
    text = format_speed(rows)
    assert "python: autograd value_and_grad" in text and "N=8" in text
