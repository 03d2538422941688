"""Every operator, builtin and math rule in both modes against finite differences."""
import numpy as np
import pytest

from sct.testing import check_dot_product, check_grad

from programs.scalar_cases import BINARY, UNARY


def _points(domain, n, seed):
    rng = np.random.default_rng(seed)
    return [float(v) for v in rng.uniform(domain[0], domain[1], size=n)]


@pytest.mark.parametrize("fn, domain", UNARY, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_unary(fn, domain):
    for x in _points(domain, 3, 0):
        check_grad(fn, (x,), 0)
        check_dot_product(fn, (x,), 0)


@pytest.mark.parametrize("fn, domain", BINARY, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_binary(fn, domain):
    xs, ys = _points(domain, 3, 1), _points(domain, 3, 2)
    for x, y in zip(xs, ys):
        if abs(x - y) < 1e-3:
            continue  # max/min are not differentiable on the diagonal
        check_grad(fn, (x, y), (0, 1))
        check_dot_product(fn, (x, y), (0, 1))
