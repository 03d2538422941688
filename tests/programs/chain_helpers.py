"""Helpers in a module of their own, called from tests/programs/chain.py: refusals inside them are
located at the caller's line, with the chain of calls (tests/test_errors.py)."""
import math

import numpy as np


def guarded(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y


def middle(x):
    s = np.sum(x)
    return guarded(s) + 1.0


def frexp_of(x):
    m, e = math.frexp(x)
    return m


def writes_argument(a):
    a[0] = 2.0
    return np.sum(a)
