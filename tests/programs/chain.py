"""Functions whose refusal is inside something they call (tests/test_errors.py)."""
import statistics

import numpy as np
import scipy.integrate

from programs import chain_helpers as helpers


def through_two_helpers(x):
    t = x * x
    return helpers.middle(t)


def through_one_helper(x):
    return helpers.frexp_of(x * 3.0) + x


def helper_writes_its_argument(x):
    y = x * 2.0
    return helpers.writes_argument(y) + np.sum(y)


def integrates(x):
    return scipy.integrate.trapezoid(x * x)


def integrates_a_constant(x):
    area = scipy.integrate.trapezoid(np.array([1.0, 2.0, 4.0]))
    return np.sum(x) * area


def standard_library(x):
    return statistics.fmean([x[0], x[1]])


def helper_then_library(x):
    return np.sum(x) + integrates(x)
