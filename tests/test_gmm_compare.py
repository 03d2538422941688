"""The comparison driver of the GMM example (python -m examples.gmm)."""

import importlib.util
import numpy as np
import pytest

from examples.gmm import em
from examples.gmm.compare import (
    METHODS,
    Dataset,
    Fit,
    build_datasets,
    collapsed,
    format_table,
    main,
    overlapping_clusters,
    run_one,
    summarise,
)
from examples.gmm.data import load_old_faithful

pytest.importorskip("matplotlib")


@pytest.mark.slow
def test_main_quick_runs_every_method_and_writes_figures(tmp_path, capsys):
    # two data sets x 1 seed x 2 starts x 5 methods, on one process
    assert main(["--quick", "--seeds", "1", "--processes", "1", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "Old Faithful EM check: total log-likelihood -1130.2640" in out and "OK" in out
    for method in METHODS:
        assert f"\n{method:>6s}  " in out
    assert "overlapping_k3" in out and "[####" in captured.err  # the progress bar
    assert "s CPU" in out
    if importlib.util.find_spec("autograd") is not None:  # (an optional peer: the examples extra has it)
        assert "python: autograd value_and_grad" in out
    for name in ("convergence_old_faithful_k2.png", "convergence_overlapping_k3.png",
                 "final_loglik.png", "ellipses_poor_start.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert "reach" in (tmp_path / "summary.txt").read_text()


def test_run_one_records_evaluations_and_the_same_start():
    data = Dataset("of", load_old_faithful(), 2)
    start = em.initial_parameters(data.X, 2, "full", 1e-6, "kmeans", 0)
    fits = [run_one(data, m, start, 0, "kmeans") for m in ("em", "lbfgs", "newton")]
    for f in fits:
        assert f.error is None and f.converged and not f.collapsed
        assert f.loglik == pytest.approx(-1130.264, abs=1e-3)
        assert len(f.history) == len(f.times) == len(f.cum_evals) == f.n_iter + 1
        assert np.all(np.diff(f.cum_evals) > 0)
    # the same start (gradient methods record log-likelihood + log prior, ~1e-5 apart here)
    assert fits[0].history[0] == pytest.approx(fits[1].history[0], abs=1e-4)
    assert fits[2].evaluations["hessian"] == fits[2].n_iter
    table = format_table(data, fits)
    assert "100/" in table and "newton" in table
    rows = summarise(fits)
    assert rows["newton"]["iters"] < rows["em"]["iters"] + 20


def test_newton_is_refused_above_its_parameter_limit_and_reported():
    X = np.random.default_rng(0).standard_normal((200, 5))
    data = Dataset("wide", X, 4)
    start = em.initial_parameters(X, 4, "full", 1e-6, "kmeans", 0)
    fit = run_one(data, "newton", start, 0, "kmeans")
    assert fit.error is not None and "newton_max_params" in fit.error
    rows = summarise([fit, run_one(data, "em", start, 0, "kmeans")])
    assert "refused" in rows["newton"]
    assert "not run" in format_table(data, [fit, run_one(data, "em", start, 0, "kmeans")])


def test_collapse_detection():
    X = np.random.default_rng(0).standard_normal((100, 2)) * [1.0, 100.0]
    assert not collapsed(X, np.array([np.diag([1.0, 1e4])]))
    assert collapsed(X, np.array([np.diag([1.0, 1e4]), np.diag([1e-5, 1e4])]))


def test_datasets():
    quick = build_datasets("quick")
    assert [d.name for d in quick] == ["old_faithful_k2", "overlapping_k3"]
    X, truth = overlapping_clusters(500, 1)
    assert X.shape == (500, 2) and truth.weights.sum() == pytest.approx(1.0)
    assert len(build_datasets("default")) == 3 and len(build_datasets("all")) == 5


def test_main_rejects_unknown_options(capsys):
    with pytest.raises(SystemExit):
        main(["--quick", "--methods", "bfgs"])
    capsys.readouterr()


def test_fit_is_light():
    fit = Fit("d", "em", 0, "kmeans")
    assert fit.error is None and fit.history.size == 0
