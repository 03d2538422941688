"""The comparison driver of the GMM example (EM path and helpers)."""

import sys

import numpy as np
import pytest

from examples.gmm import GaussianMixture
from examples.gmm.compare import (
    gradient_backend_problem,
    main,
    match_components,
    parameter_errors,
    time_to_reach,
)
from examples.gmm.data import make_synthetic


def test_main_quick_em_only(tmp_path, capsys):
    assert main(["--quick", "--out", str(tmp_path), "--methods", "em"]) == 0
    out = capsys.readouterr().out
    assert "Old Faithful EM check: total log-likelihood -1130.2640" in out and "OK" in out
    assert "synthetic_n500_d2_k3" in out
    summary = (tmp_path / "summary.txt").read_text()
    assert "absolute, on the mean log-likelihood" in summary
    for name in ("convergence_old_faithful.png", "convergence_synthetic_n500_d2_k3.png",
                 "old_faithful_ellipses.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_main_rejects_unknown_options(capsys):
    with pytest.raises(SystemExit):
        main(["--quick", "--full"])
    capsys.readouterr()


def test_broken_gradient_backend_is_reported_not_raised():
    def broken(X):
        raise ImportError("no backend")

    assert "no backend" in gradient_backend_problem(broken)


def test_time_to_reach():
    history = np.array([-3.0, -2.0, -1.5, -1.0])
    times = np.array([0.0, 0.1, 0.2, 0.3])
    assert time_to_reach(history, times, -1.6) == (2, 0.2)
    assert time_to_reach(history, times, -3.0) == (0, 0.0)
    assert time_to_reach(history, times, 0.0) is None


def test_match_components_finds_the_permutation():
    rng = np.random.default_rng(0)
    true_means = rng.standard_normal((6, 3)) * 5
    perm = rng.permutation(6)
    shuffled = np.empty_like(true_means)
    shuffled[perm] = true_means + 0.01
    np.testing.assert_array_equal(match_components(true_means, shuffled), perm)
    big = rng.standard_normal((10, 2)) * 10  # greedy matching beyond K = 8
    perm = rng.permutation(10)
    shuffled = np.empty_like(big)
    shuffled[perm] = big
    np.testing.assert_array_equal(match_components(big, shuffled), perm)


def test_parameter_errors_are_zero_for_the_truth():
    _, truth = make_synthetic(10, 2, 3, seed=0)
    model = GaussianMixture(3)
    order = [2, 0, 1]
    model.weights_ = truth.weights[order]
    model.means_ = truth.means[order]
    model.covariances_ = truth.covariances[order]
    errors = parameter_errors(truth, model)
    assert errors == {"weights": 0.0, "means": 0.0, "covariances": 0.0}
