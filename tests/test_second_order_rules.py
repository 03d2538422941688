"""Second derivatives through the rules added with the declared kinds (forward over reverse).

Each Hessian is checked against central differences of sct's own gradient; rule
helpers are differentiated again, or declared linear, for this to work.
"""
import zlib

import numpy as np
import pytest

import sct

import numpy_cases as nc

CASES = [
    (nc.diff, (5,), (1, -1)), (nc.gradient, (5,), (1,)), (nc.convolve, (4,), (np.array([1.0, -2.0, 0.5]), "same")),
    (nc.cross, (3,), (np.array([0.3, -1.0, 2.0]),)), (nc.polyval, (3,), (np.array([0.5, -1.0]),)),
    (nc.median, (5,), (None,)), (nc.quantile, (5,), (0.3, None)), (nc.pad, (4,), ("reflect",)), (nc.delete, (4,), ()),
    (nc.average_plain, (3, 2), ()), (nc.cov, (3, 4), (True, None)), (nc.corrcoef, (3, 4), (True,)),
    (nc.trapezoid, (4,), (-1,)), (nc.interp, (3,), ()), (nc.nan_reductions, (3, 4), (0,)),
    (nc.partition, (5,), (2, -1)), (nc.einsum_ellipsis_implicit, (3, 3), ()),
    (nc.select, (4,), (np.ones(4), np.ones(4))), (nc.append, (3,), (np.ones(2), None)),
    (nc.pinv, (3, 2), ()), (nc.qr, (3, 3), ()), (nc.matrix_power, (3, 3), (3,)),
]


@pytest.mark.parametrize("fn, shape, extra", CASES, ids=lambda v: getattr(v, "__name__", None) or "")
def test_hessian_matches_differences_of_the_gradient(fn, shape, extra):
    x = np.random.default_rng(zlib.crc32(fn.__name__.encode())).uniform(0.5, 1.5, shape)
    gradient = sct.grad(fn)
    eps = 1e-6
    basis = np.eye(x.size).reshape((x.size,) + shape)
    expected = np.array([(gradient(x + eps * e, *extra) - gradient(x - eps * e, *extra)) / (2 * eps) for e in basis])
    H = np.reshape(sct.hessian(fn)(x, *extra), (x.size, x.size))
    assert np.allclose(H, np.reshape(expected, (x.size, x.size)), rtol=1e-4, atol=1e-5)
