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
