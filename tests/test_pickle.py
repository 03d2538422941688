"""Derived functions pickle by reference to the primal and their options, and travel to worker processes."""
import multiprocessing
import os
import pickle

import numpy as np
import pytest

import sct
from examples import lecture
from examples.gmm import model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MADE = [
    ("grad", lambda: sct.grad(lecture.f, wrt=(0, 1)), (0.7, -1.3)),
    ("grad forward", lambda: sct.grad(lecture.f, wrt="x2", mode="forward"), (0.7, -1.3)),
    ("value_and_grad", lambda: sct.value_and_grad(lecture.newton_sqrt), (2.0,)),
    ("jvp", lambda: sct.jvp(lecture.f, wrt=(0, 1)), (0.7, -1.3, 1.0, 0.5)),
    ("vjp", lambda: sct.vjp(lecture.f, wrt=1), (0.7, -1.3, 2.0)),
    ("hessian", lambda: sct.hessian(lecture.f, wrt=0), (0.7, -1.3)),
    ("grad of grad", lambda: sct.grad(sct.grad(lecture.f, wrt=0), wrt=1, mode="forward"), (0.7, -1.3)),
]


@pytest.mark.parametrize("name, make, args", MADE, ids=[m[0] for m in MADE])
def test_round_trip_gives_the_same_numbers(name, make, args):
    made = make()
    again = pickle.loads(pickle.dumps(made))
    assert again(*args) == made(*args)
    assert again.__name__ == made.__name__ and sct.source(again, *args) == sct.source(made, *args)


def test_pickle_is_by_reference_not_by_program():
    g = sct.grad(model.loglik_vec, wrt=(1, 2))
    data = pickle.dumps(g)
    assert b"loglik_vec" in data and b"def " not in data and len(data) < 400


def _gmm_args():
    rng = np.random.default_rng(0)
    return (rng.normal(size=2), rng.normal(size=(2, 2)), 0.3 * rng.normal(size=(2, 2)),
            0.3 * rng.normal(size=(2, 2, 2)), rng.normal(size=(30, 2)))


def _call(job):
    fn, args = job
    return fn(*args)


def test_derived_functions_run_in_spawned_workers():
    g = sct.grad(model.loglik_vec, wrt=(1, 2))
    jobs = [(g, _gmm_args()), (sct.grad(lecture.f, wrt=(0, 1)), (0.7, -1.3))]
    context = multiprocessing.get_context("spawn")
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = ROOT + (os.pathsep + old if old else "")  # (workers import this checkout)
    try:
        with context.Pool(2) as pool:
            results = pool.map(_call, jobs)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    for got, (fn, args) in zip(results, jobs):
        for a, b in zip(got, fn(*args)):
            np.testing.assert_allclose(a, b, rtol=1e-14)
