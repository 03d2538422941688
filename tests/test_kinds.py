"""Kinds flow into called functions and back out: a helper returning a number keeps scalar code scalar."""
import math

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad


def _sq(a):
    return a * a + math.sin(a)


def _row_norms(m):
    return np.sqrt(np.sum(m * m, axis=1))


def _recursive(x, n):
    return x if n == 0 else x * _recursive(x, n - 1)


def sums_a_scalar_helper(x):
    s = 0.0
    for i in range(5):
        s = s + _sq(x * i * 0.1)
    return s


def sums_an_array_helper(m):
    s = 0.0
    for i in range(3):
        s = s + _row_norms(m * (i + 1.0))
    return np.sum(s)


def calls_a_recursive_helper(x):
    s = 0.0
    for i in range(2):
        s = s + _recursive(x, 3)
    return s


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_helper_returning_a_number_keeps_scalar_code_scalar(mode):
    grad = sct.grad(sums_a_scalar_helper, mode=mode)
    assert grad(0.7) == pytest.approx(numerical_grad(sums_a_scalar_helper, [0.7], (0,))[0], rel=1e-8)
    source = sct.source(sct.grad(sums_a_scalar_helper))
    assert "unbroadcast" not in source and "tape" not in source  # number arithmetic, nothing saved


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_helper_returning_an_array_is_an_array(mode):
    m = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])
    got = sct.grad(sums_an_array_helper, mode=mode)(m)
    np.testing.assert_allclose(got, numerical_grad(sums_an_array_helper, [m], (0,))[0], rtol=1e-7)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_recursive_helper_is_of_unknown_kind_and_still_right(mode):
    assert sct.grad(calls_a_recursive_helper, mode=mode)(0.9) == pytest.approx(2 * 4 * 0.9 ** 3)


def test_a_container_of_functions_or_objects_has_a_kind_sct_reads_back():
    """A function's or an object's kind names that one value: inside a container's kind it is ``any`` (the
    kinds the analysis builds for displays, appends and joins were "seq[function cube]", unreadable)."""
    from sct.analysis import (ANY, SEQ, FunctionKind, ObjectKind, dict_of, element, entries, is_kind, join,
                              seq_of)

    class Model:
        def loss(self, x):
            return x

    fn, obj = FunctionKind(math.sin), ObjectKind(Model)
    assert seq_of(fn) == SEQ and seq_of(obj) == SEQ
    kind = dict_of({"sin": fn, "model": obj, "w": "array"})
    assert is_kind(kind) and entries(kind) == {"sin": ANY, "model": ANY, "w": "array"}
    assert element(join(seq_of("scalar"), seq_of(fn))) is None
