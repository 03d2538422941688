"""The GMM estimator (examples/gmm) fitted on a Dask array: on one machine and on a dask.distributed cluster.

Each iteration evaluates sct's gradient of the objective as one Dask graph (X chunked by rows); the fit
equals the one on the same data in memory.  Skipped where Dask is not installed.
"""
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from examples.gmm.estimator import GaussianMixture  # noqa: E402


def _blobs(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(size=(n // 2, 2)) + [4.0, 0.0], 0.5 * rng.normal(size=(n // 2, 2)) - [4.0, 1.0]])
    return X[rng.permutation(n)]


def _fit(X, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (ConvergenceWarning at max_iter is beside the point here)
        return GaussianMixture(2, method=method, random_state=0, max_iter=30).fit(X)


@pytest.mark.parametrize("method", ["gradient", "lbfgs"])
def test_fit_on_dask_equals_fit_in_memory(method):
    X = _blobs()
    want = _fit(X, method)
    got = _fit(da.from_array(X, chunks=(1000, 2)), method)
    np.testing.assert_allclose(got.means_, want.means_, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(got.covariances_, want.covariances_, rtol=1e-7, atol=1e-8)
    assert got.n_iter_ == want.n_iter_


def test_methods_that_need_memory_are_refused_on_dask():
    with pytest.raises(ValueError, match="needs the data in memory"):
        GaussianMixture(2, method="em").fit(da.from_array(_blobs(), chunks=(1000, 2)))


def test_gradient_fit_on_a_local_cluster():
    distributed = pytest.importorskip("distributed")
    X = _blobs()
    want = _fit(X, "lbfgs")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster):
        lazy = da.from_array(X, chunks=(1000, 2))
        got = _fit(lazy, "lbfgs")
    np.testing.assert_allclose(got.means_, want.means_, rtol=1e-7, atol=1e-8)
