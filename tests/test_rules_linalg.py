"""Every ``np.linalg`` rule, in both modes, against finite differences and the dot-product test.

The same table-driven harness as ``test_rules_numpy`` (rows: function under test,
domains, shapes, extra arguments), on single and stacked matrices.  Functions of
symmetric matrices (cholesky, eigh, eigvalsh) are tested through ``sym(a)``:
their rules differentiate on symmetric matrices, where finite differences of a
function that reads one triangle would disagree.
"""
import zlib

import numpy as np
import pytest

import sct

import numpy_cases as nc
from test_rules_numpy import FLOAT, Case, cross, draw, params, run

SQUARE = [((2, 2),), ((3, 3),), ((2, 3, 3),)]

VECTOR_ORDS = [(None,), (2,), (1,), (np.inf,), (-np.inf,), (3,), (0.5,), (0,), (-1.5,)]
MATRIX_ORDS = [("fro",), ("nuc",), (2,), (-2,), (1,), (-1,), (np.inf,), (-np.inf,), (None,)]

CASES = [
    cross(nc.inv, SQUARE, domain="matrix"),
    cross(nc.det, SQUARE + [((1, 1),)], domain="matrix"),
    cross(nc.slogdet, SQUARE, domain="matrix"),
    cross(nc.slogdet_sign_used, SQUARE, domain="matrix"),
    cross(nc.slogdet_index, [((3, 3),)], domain="matrix"),
    cross(nc.slogdet_field, [((3, 3),)], domain="matrix"),
    Case(nc.solve, ("matrix", "any"), [
        (((3, 3), (3,)), (), None), (((3, 3), (3, 2)), (), None), (((2, 3, 3), (2, 3, 2)), (), None),
        (((2, 3, 3), (3,)), (), None), (((3, 3), (2, 3, 2)), (), None), (((2, 3, 3), (3, 1)), (), None),
        (((3, 3), (3,)), (), (0,)), (((3, 3), (3, 2)), (), (1,)),
    ]),
    cross(nc.cholesky, SQUARE, domain="spd"),
    cross(nc.cholesky_upper, [((3, 3),), ((2, 3, 3),)], domain="spd"),
    cross(nc.eigh_values, SQUARE, domain="spd"),
    cross(nc.eigh_vectors, SQUARE, domain="spd", rtol=1e-4),
    cross(nc.eigh_both, SQUARE, domain="spd", rtol=1e-4),
    cross(nc.eigh_fields, [((3, 3),)], domain="spd", rtol=1e-4),
    cross(nc.eigvalsh, SQUARE, domain="spd"),
    cross(nc.svd_values, [((3, 3),), ((2, 3),), ((3, 2),), ((2, 4, 3),)], domain="any"),
    cross(nc.svdvals, [((3, 3),), ((2, 4, 3),)], domain="any"),
    cross(nc.svd_reduced, [((3, 3),), ((2, 3),), ((4, 2),), ((2, 3, 4),)], domain="any", rtol=1e-4),
    cross(nc.svd_square, [((3, 3),), ((2, 3, 3),)], domain="any", rtol=1e-4),
    cross(nc.norm_default, [((3,),), ((2, 3),), ((2, 3, 2),), (FLOAT,)], domain="nonzero"),
    cross(nc.norm_axis_keyword, [((2, 3),), ((2, 3, 2),)], [(None, False), (0, False), (-1, True), ((0, 1), False),
                                                           ((1, 0), True)], domain="nonzero"),
    cross(nc.norm, [((4,),)], VECTOR_ORDS, domain="nonzero"),
    cross(nc.norm, [((2, 3),), ((2, 3, 2),)],
          [(None, 0), (None, -1), (1, 1), (np.inf, 0), (3, -1), (2, 1, True), (1, 0, True)], domain="nonzero"),
    cross(nc.norm, [((3, 3),), ((2, 3),), ((4, 2),)], MATRIX_ORDS, domain="nonzero", rtol=1e-4),
    cross(nc.norm, [((2, 3, 4),)], [("fro", (1, 2)), ("nuc", (2, 0)), (1, (0, 1)), (np.inf, (-1, -2)),
                                     (2, (1, 2), True), (None, (0, 2), True)], domain="nonzero", rtol=1e-4),
    cross(nc.pinv, [((3, 3),)], domain="matrix"), cross(nc.pinv, [((4, 2),), ((2, 4),), ((2, 3, 2),)]),
    Case(nc.lstsq, ("any", "any"), [(((4, 2), (4,)), (), None), (((5, 3), (5, 2)), (), None)]),
    Case(nc.lstsq_solution, ("any", "any"), [(((3, 3), (3,)), (), None), (((4, 2), (4, 2)), (), None)]),
    cross(nc.qr, [((3, 3),), ((2, 3, 3),)], domain="matrix"), cross(nc.qr, [((4, 2),)]),
    cross(nc.qr_r, [((3, 3),)], domain="matrix"), cross(nc.qr_r, [((4, 3),)]),
    cross(nc.eig, [((3, 3),)], domain="realeig", rtol=1e-4),
    cross(nc.eigvals, [((3, 3),), ((2, 3, 3),)], domain="realeig"),
    cross(nc.matrix_power, [((3, 3),), ((2, 3, 3),)], [(0,), (1,), (3,), (-2,)], domain="matrix"),
    Case(nc.multi_dot, ("any", "any", "any"), [(((2, 3), (3, 4), (4, 2)), (), None),
                                                (((3,), (3, 4), (4,)), (), None)]),
    Case(nc.tensorsolve, ("any", "any"), [(((6, 2, 3), (6,)), (), None)]),
    cross(nc.vector_norm, [((2, 3),)], [(None, 2), (None, 1), (1, 3), (0, np.inf), (-1, 2)], domain="nonzero"),
    cross(nc.matrix_norm, [((3, 3),), ((2, 3, 2),)], [("fro",), ("nuc",), (1,), (2,), (-np.inf,)], domain="nonzero",
          rtol=1e-4),
    cross(nc.linalg_array_api, [((2, 3, 3), (2, 3, 3))]),
    Case(nc.gaussian_logpdf, ("any", "any", "any"), [(((3,), (3,), (3, 3)), (), None)]),
    Case(nc.gaussian_logpdf_cholesky, ("any", "any", "any"), [(((3,), (3,), (3, 3)), (), None)]),
    Case(nc.gaussian_logpdf_inv, ("any", "any", "any"), [(((4, 3), (3,), (3, 3)), (), None)]),
]


@pytest.mark.parametrize("case, shapes, extra, wrt, check", params(CASES))
def test_rule(case, shapes, extra, wrt, check):
    run(case, shapes, extra, wrt, check)


def test_gaussian_logpdf_matches_the_density():
    x, mu = np.array([0.3, -1.0, 0.5]), np.array([0.0, 0.2, -0.1])
    factor = np.array([[1.0, 0.0, 0.0], [0.5, 1.0, 0.0], [0.2, -0.3, 1.0]])
    cov = factor @ factor.T + np.eye(3)
    d = x - mu
    expected = -0.5 * d @ np.linalg.inv(cov) @ d - 0.5 * np.log((2 * np.pi) ** 3 * np.linalg.det(cov))
    assert nc.gaussian_logpdf(x, mu, factor) == pytest.approx(expected)
    assert nc.gaussian_logpdf_cholesky(x, mu, factor) == pytest.approx(expected)
    # the gradient wrt x is -S⁻¹ (x - mu), in both modes
    for mode in ("reverse", "forward"):
        for fn in (nc.gaussian_logpdf, nc.gaussian_logpdf_cholesky):
            assert sct.grad(fn, mode=mode)(x, mu, factor) == pytest.approx(-np.linalg.solve(cov, d))


def test_cholesky_adjoint_is_symmetric():
    a = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.0]])
    g = sct.grad(nc.cholesky)(a)
    assert np.allclose(g, g.T)


SECOND_ORDER = [
    (nc.inv, "matrix", ()), (nc.slogdet, "matrix", ()), (nc.cholesky, "spd", ()), (nc.eigh_values, "spd", ()),
    (nc.norm_default, "nonzero", ()), (nc.norm, "nonzero", (2,)), (nc.norm, "nonzero", ("nuc",)),
    (nc.svd_values, "any", ()),
]


@pytest.mark.parametrize("fn, domain, extra", SECOND_ORDER, ids=lambda v: getattr(v, "__name__", repr(v)))
def test_hessian_through_rule_helpers(fn, domain, extra):
    """The linear-algebra helpers are differentiable again (Hessians are forward over reverse)."""
    x = draw(domain, (3, 3), np.random.default_rng(zlib.crc32(f"{fn.__name__}{extra}".encode())))
    gradient = sct.grad(fn)
    basis = np.eye(9).reshape(9, 3, 3)
    expected = np.array([(gradient(x + 1e-6 * e, *extra) - gradient(x - 1e-6 * e, *extra)) / 2e-6 for e in basis])
    assert np.allclose(np.reshape(sct.hessian(fn)(x, *extra), expected.shape), expected, rtol=1e-4, atol=1e-5)
