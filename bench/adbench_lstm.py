"""ADBench's LSTM objective (issue 15), written as a NumPy user writes it.

ADBench's "LSTM" has diagonal weights: each layer multiplies the stacked input
and hidden state elementwise by a weight row and adds a bias row.  Layout, as in
ADBench:

    main_params  (2 l, 4 b)   rows 2i, 2i+1: weight and bias of layer i
    extra_params (3, b)       input weight, output weight, output bias
    state        (2 l, b)     rows 2i, 2i+1: hidden and cell state of layer i
    sequence     (c, b)       the characters, one row per time step

The objective is the mean negative log-likelihood of each next row under a
softmax of the prediction (ADBench's log-sum-exp adds 2 inside the log).
Python loops over time steps and layers, a ``sigmoid`` helper, slices of the
gate array, reads of ``state[2 * i]``: the loop-heavy shape of code that
vectorised benchmarks do not show.
"""
from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_model(weight, bias, hidden, cell, inp):
    """One layer, one step: the new (hidden, cell)."""
    gates = np.concatenate((inp, hidden, inp, hidden)) * weight + bias
    b = hidden.shape[0]
    forget = sigmoid(gates[0:b])
    ingate = sigmoid(gates[b:2 * b])
    outgate = sigmoid(gates[2 * b:3 * b])
    change = np.tanh(gates[3 * b:])
    cell = cell * forget + ingate * change
    hidden = outgate * np.tanh(cell)
    return hidden, cell


def lstm_predict(main_params, extra_params, state, x):
    """Every layer, one step: the prediction and the new state (a new array)."""
    new_state = state.copy()
    x = x * extra_params[0]
    for i in range(0, state.shape[0], 2):
        hidden, cell = lstm_model(main_params[i], main_params[i + 1], state[i], state[i + 1], x)
        new_state[i] = hidden
        new_state[i + 1] = cell
        x = hidden
    return x * extra_params[1] + extra_params[2], new_state


def lstm_objective(main_params, extra_params, state, sequence):
    """Mean negative log-likelihood of the sequence (a number)."""
    total = 0.0
    count = 0
    inp = sequence[0]
    for t in range(sequence.shape[0] - 1):
        ypred, state = lstm_predict(main_params, extra_params, state, inp)
        ynorm = ypred - np.log(np.sum(np.exp(ypred)) + 2.0)
        ygold = sequence[t + 1]
        total = total + np.sum(ygold * ynorm)
        count = count + ygold.shape[0]
        inp = ygold
    return -total / count


def make_lstm_data(l: int = 2, c: int = 1024, b: int = 14, seed: int = 0):
    """Seeded inputs of ADBench's shapes: parameters ~ U(-1, 1), a random
    one-hot-like sequence (ADBench's files hold text as rows of numbers)."""
    rng = np.random.default_rng(seed)
    main_params = rng.uniform(-1.0, 1.0, size=(2 * l, 4 * b))
    extra_params = rng.uniform(-1.0, 1.0, size=(3, b))
    state = rng.uniform(-1.0, 1.0, size=(2 * l, b))
    sequence = rng.uniform(-1.0, 1.0, size=(c, b))
    return main_params, extra_params, state, sequence
