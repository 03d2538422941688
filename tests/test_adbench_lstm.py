"""ADBench's LSTM objective (bench/adbench_lstm.py, issue 15): loops over time steps and layers, a helper,
slices of the gate array, an array written row by row and returned in a tuple.  sct's gradient equals
central finite differences in both modes and with calls split or joint."""
import sys
from pathlib import Path

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is not an installed package

from bench.adbench_lstm import lstm_objective, lstm_predict, make_lstm_data  # noqa: E402


@pytest.mark.parametrize("mode, calls", [("reverse", None), ("reverse", "split"), ("reverse", "joint"),
                                         ("forward", None)])
@pytest.mark.parametrize("layers", [1, 2])
def test_lstm_objective_gradient(layers, mode, calls):
    args = make_lstm_data(layers, 4, 3, seed=layers)
    wrt = (0, 1, 2)
    got = sct.grad(lstm_objective, wrt=wrt, mode=mode, calls=calls)(*args)
    for g, e in zip(got, numerical_grad(lstm_objective, args, wrt)):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_lstm_predict_new_state_gradient():
    """``new_state`` is written into, then returned in a tuple: the second output's adjoint reaches ``state``."""
    main_params, extra_params, state, sequence = make_lstm_data(2, 2, 3)
    weights = np.linspace(-1.0, 1.0, state.size).reshape(state.shape)

    def f(state):
        y, new_state = lstm_predict(main_params, extra_params, state, sequence[0])
        return np.sum(y) + np.sum(weights * new_state)
    got = sct.grad(f)(state)
    np.testing.assert_allclose(got, numerical_grad(f, (state,), 0)[0], rtol=1e-6, atol=1e-8)


# -- the mechanisms its gradient uses, on small programs: slices' adjoints accumulated in one buffer
# (add_into), broadcasting undone only where shapes may differ

def overlapping_slices(x):
    a = x[0:3]
    b = x[1:4]
    return np.sum(a * b) + np.sum(x[::2] ** 2) + x[-1] * x[-2]


def slices_with_steps_and_negative_indices(x):
    return np.sum(x[::-2][:3] * x[-3::-1][:3]) + np.sum(x[-4:-1] ** 3) + np.sum(np.sin(x[1::3]))


def write_after_slice_reads(x):
    y = x * 2.0
    a = y[0:2].copy()
    y[1] = 5.0 * x[0]
    b = y[1:3]
    return np.sum(a * b) + np.sum(y[::2])


def adjoint_shared_between_reads(x):
    y = x
    a = y[0]
    s = np.sum(x)
    b = x[1:3]
    return a * s + np.sum(b * b) + np.sum(y[2:])


def rows_read_in_a_loop(m):
    total = 0.0
    n = m.shape[0]
    for i in range(n):
        total = total + np.sum(m[i] * m[n - 1 - i]) + m[i, i] * m[i, 0]
    return total


def rows_in_a_loop_with_early_exit(m, stop):
    acc = m[0] * 0.0
    for i in range(m.shape[0]):
        if i == stop:
            break
        if i % 2 == 1:
            continue
        acc = acc + m[i] * m[i, ::-1]
    return np.sum(acc * m[-1])


def _pair(x):
    return x[0:2] * 2.0, x[2:] + 1.0


def tuple_result_read_twice(x):
    a, b = _pair(x)
    c, d = _pair(x * a[0])
    return np.sum(a * c) + np.sum(b * d)


def _gates(v, b):
    return 1.0 / (1.0 + np.exp(-v[0:b])), np.tanh(v[b:])


def concatenated_then_sliced(x, y):
    v = np.concatenate((x, y, x)) * 0.5
    f, g = _gates(v, x.shape[0])
    return np.sum(f * g[0:2]) - np.sum(g ** 2)


def quarters(x):
    """Four slices that tile x in order (an LSTM's gates): one concatenate for their adjoints."""
    b = x.shape[0] // 4
    return np.sum(np.sin(x[0:b]) * np.exp(x[b:2 * b])) + np.sum(np.tanh(x[2 * b:3 * b]) ** 2 * x[3 * b:])


def slices_out_of_order(x):
    """Read last to first, with a gap, a repeat and an overlap: the pieces are added one by one."""
    tail = x[4:] * 3.0
    head = x[:2] ** 2
    middle = x[1:4] * x[2:5]
    return np.sum(tail) + np.sum(head * x[0:2]) + np.sum(middle)


def slices_past_the_end_and_negative(x):
    """Bounds NumPy clips (x[5:100]) and counts from the end (x[-2:]): slices that do not tile as written."""
    return np.sum(x[0:3] ** 2) + np.sum(np.cos(x[3:5])) + np.sum(x[5:100] * 2.0) + np.sum(x[-2:] * x[-2:])


def rows_of_a_matrix(m):
    """Rows of a matrix read as slices (the first axis), and columns (not joined)."""
    top, bottom = m[0:2], m[2:]
    return np.sum(top * top) + np.sum(np.exp(bottom)) + np.sum(m[:, 0:1] * m[:, 1:])


def bound_rebound_between_slices(x):
    """The bound's name is rebound between two reads: the chain takes each read's own value."""
    b = 2
    first = x[0:b]
    b = 5
    second = x[2:b]
    return np.sum(first * 3.0) + np.sum(second ** 2) + np.sum(x[b:])


def slices_of_a_tuple_of_arrays(x):
    """Slices of a tuple (its adjoint a list): joined item by item, also in a Hessian's batched tangents."""
    t = (x[0:2], x[2:4], x[4:])
    p, q = t[0:2], t[2:]
    return np.sum(p[0] * p[1]) + np.sum(q[0] ** 2) + np.sum(p[1] * q[0])


def slices_of_a_tuple_of_numbers(x):
    v = (x[0], x[1], x[2], x[3])
    a, b = v[0:2], v[2:]
    return a[0] * b[1] + a[1] * b[0] + a[0] ** 3


V = np.array([0.3, -1.2, 0.7, 1.1, -0.4, 0.9, 0.2])
M = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6], [0.5, 0.8, -0.9], [-0.2, 0.6, 1.3]])
PROGRAMS = [
    (overlapping_slices, (V,), 0),
    (slices_with_steps_and_negative_indices, (V,), 0),
    (write_after_slice_reads, (V,), 0),
    (adjoint_shared_between_reads, (V,), 0),
    (rows_read_in_a_loop, (M[:3],), 0),
    (rows_in_a_loop_with_early_exit, (M, 3), 0),
    (rows_in_a_loop_with_early_exit, (M, 1), 0),
    (tuple_result_read_twice, (V[:5],), 0),
    (concatenated_then_sliced, (V[:2], V[2:5]), (0, 1)),
    (quarters, (np.linspace(-1.0, 1.0, 8),), 0),
    (slices_out_of_order, (V,), 0),
    (slices_past_the_end_and_negative, (V,), 0),
    (rows_of_a_matrix, (M,), 0),
    (bound_rebound_between_slices, (V,), 0),
    (slices_of_a_tuple_of_arrays, (V[:6],), 0),
    (slices_of_a_tuple_of_numbers, (V[:4],), 0),
]


@pytest.mark.parametrize("mode, calls", [("reverse", None), ("reverse", "split"), ("reverse", "joint"),
                                         ("forward", None)])
@pytest.mark.parametrize("fn, args, wrt", PROGRAMS, ids=[f"{p[0].__name__}-{i}" for i, p in enumerate(PROGRAMS)])
def test_slice_adjoints_match_finite_differences(fn, args, wrt, mode, calls):
    got = sct.grad(fn, wrt=wrt, mode=mode, calls=calls)(*args)
    expected = numerical_grad(fn, args, wrt)
    for g, e in zip(got if isinstance(wrt, tuple) else (got,), expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_slice_adjoints_in_a_checkpointed_loop():
    m = np.vstack([M[:3]] * 3)[:, :2]
    for checkpoint in ("sqrt", ("revolve", 2)):
        got = sct.grad(rows_in_a_loop_with_early_exit, checkpoint=checkpoint)(m, 7)
        expected = numerical_grad(rows_in_a_loop_with_early_exit, (m, 7), 0)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("fn, args, wrt", PROGRAMS[:4] + PROGRAMS[7:8] + PROGRAMS[9:], ids=lambda v: getattr(v, "__name__", ""))
def test_second_derivatives_through_in_place_adjoints(fn, args, wrt):
    """A Hessian differentiates the gradient program, add_into included (forward over reverse)."""
    x = args[0]
    h = sct.hessian(fn)(x)
    g = sct.grad(fn)
    eps = 1e-5
    numeric = np.array([(g(x + eps * e) - g(x - eps * e)) / (2 * eps)
                        for e in np.eye(x.size).reshape((x.size,) + x.shape)])
    np.testing.assert_allclose(h.reshape(x.size, x.size), numeric.reshape(x.size, x.size), rtol=1e-5, atol=1e-7)


def test_generated_code_accumulates_slices_in_one_buffer():
    args = make_lstm_data(1, 3, 2)
    text = sct.source(sct.grad(lstm_objective, wrt=(0, 1, 2)), *args)
    # the four gates' adjoints joined by one concatenate; the last gate's piece computed where it was
    assert "gates_bar_part = change_bar * (1.0 - change * change)" in text
    assert ("gates_bar = join_slices(gates, (0, b, b, t6, t8, t9, t11, None), "
            "(x_bar_sigmoid, x_bar_sigmoid_1, x_bar_sigmoid_2, gates_bar_part))") in text
    assert "x_bar = sigmoid_bar * t4 / t3 * t2" in text  # (no unbroadcast next to a number)
