"""Whole NumPy programs in both modes: finite differences and the dot-product identity."""
import numpy as np
import pytest

from sct.testing import check_dot_product, check_grad

from programs import numpy_programs as npp

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3))

CASES = [
    (npp.logsumexp, (X,), 0),
    (npp.softmax_cross_entropy, (rng.standard_normal((3, 4)), X, np.array([0, 1, 3, 2])), 0),
    (npp.mlp, (rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal((5, 2)), X), (0, 1, 2)),
    (npp.rnn, (0.5 * rng.standard_normal((3, 3)), rng.standard_normal((3, 2)), rng.standard_normal((5, 2))),
     (0, 1, 2)),
    (npp.writes, (rng.standard_normal(5),), 0),
    (npp.gaussian_logpdf, (rng.standard_normal(3), rng.standard_normal((3, 3)), X), (0, 1)),
    (npp.gaussian_cholesky, (rng.standard_normal(3), rng.standard_normal((3, 3)), X), (0, 1)),
    (npp.slicing, (rng.standard_normal((4, 4)),), 0),
    (npp.methods, (X,), 0),
    (npp.shapes_and_totals, (X, rng.standard_normal(5)), (0, 1)),
    (npp.centered_projection, (rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 5)), X), (0, 1)),
]


@pytest.mark.parametrize("fn, args, wrt", CASES, ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_program(fn, args, wrt):
    check_grad(fn, args, wrt, rtol=1e-5, atol=1e-6)
    check_dot_product(fn, args, wrt)


def test_arrays_read_only_for_shapes_are_freed_and_totals_are_numbers():
    import sct
    g = sct.grad(npp.shapes_and_totals, wrt=(0, 1))
    w = rng.standard_normal(5)
    g(X, w)
    text = sct.source(g)
    forward, backward = text.split("# -- backward sweep")
    assert "t3 = shape_only(t3)" in forward  # big ** 2: its data is freed before the backward sweep
    assert "per_row = shape_only(per_row)" in forward  # np.mean's adjoint reads only its shape and size
    # np.sum / np.max without an axis are numbers: their arithmetic is plain (no unbroadcast)
    assert "    scale_bar = total\n" in backward  # (the result's adjoint, 1.0, folded away)
    assert "    total_bar = total_bar + scale_bar / total\n" in backward


def test_rows_are_summed_before_the_product_for_a_broadcast_operand():
    import sct
    b, W = rng.standard_normal((2, 3)), rng.standard_normal((2, 3, 5))
    g = sct.grad(npp.centered_projection, wrt=(0, 1))
    g(b, W, X)
    backward = sct.source(g).split("# -- backward sweep")[1]
    # b_bar reads one call that sums Z's rows first (no (2, 4, 3) intermediate for the centred data's adjoint)
    assert "_matmul_adjoint(" in backward and ", t2)" in backward.split("b_bar = ")[1].splitlines()[0]
