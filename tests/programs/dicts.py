"""Programs with dicts, NamedTuples and dataclasses, and pytrees of arrays as arguments (tests/test_dicts.py)."""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# ---------------------------------------------------------------- dicts the function builds


def display_and_reads(x):
    d = {"W": x, "b": 2.0, "c": x[0] * x[1]}
    e = dict(W=x * 2, n=3.0)
    return np.sum(d["W"] * d["b"]) + d["c"] + np.sum(e["W"]) * e["n"] + d.get("b", 1.0) * x[2] + d.get("z", x[1])


def loops(x):
    d = {"a": x, "b": x * 2, "c": x[0]}
    s = 0.0
    for k, v in d.items():
        s = s + np.sum(v) * len(k)
    for v in d.values():
        s = s + np.sum(v ** 2)
    for k in d:
        s = s + np.sum(d[k] * x[1])
    for k in d.keys():
        if k != "c":
            s = s + np.sum(d[k]) ** 2
    if "a" in d and "z" not in d:
        s = s * len(d)
    for i, (k, v) in enumerate(d.items()):
        s = s + i * np.sum(v)
    return s + sum(np.sum(v) for v in d.values())


def comprehensions(x):
    d = {"a": x, "b": x[1], "c": x * x}
    e = {k: v * 2 for k, v in d.items()}
    f = {k: np.sin(d[k]) for k in d if k != "b"}
    g = dict(zip(["p", "q"], [x[0], x[2]]))
    return np.sum(e["a"] * f["c"]) + e["b"] + np.sum(f["a"]) * g["p"] / g["q"]


def writes(x):
    d = {}
    d["a"] = x * 2
    d["b"] = x[0]
    d["a"] = d["a"] * x + d["b"]
    for i in range(3):
        d["b"] = d["b"] * x[1] + np.sum(d["a"]) * 0.1
        d[i] = d["b"] * i
    return np.sum(d["a"]) + d["b"] + d[2]


def copies(x):
    d = {"a": x, "b": x[0] * 3.0}
    e = dict(d)
    e["b"] = e["b"] * x[1]
    f = d.copy()
    f["a"] = f["a"] ** 2
    return np.sum(d["a"] * e["a"] + f["a"]) + d["b"] + e["b"] + f["b"]


def _norms(d):
    return {k: np.sum(v ** 2) for k, v in d.items()}


def _combine(d, w):
    s = 0.0
    for k in d:
        s = s + d[k] * w
    return s


def helpers(x):
    d = {"a": x, "b": x[:2] * 3.0}
    n = _norms(d)
    return _combine(n, x[2]) + n["a"]


# ---------------------------------------------------------------- pytrees as arguments


def mlp(params, X, y):
    h = np.tanh(X @ params["W1"] + params["b1"])
    for layer in params["layers"]:
        h = np.tanh(h @ layer["W"] + layer["b"])
    out = h @ params["head"]
    return np.mean((out - y) ** 2) + params["decay"] * np.sum(params["W1"] ** 2)


def make_mlp(seed=0, sizes=(3, 4, 4, 4)):
    rng = np.random.default_rng(seed)
    layers = [{"W": rng.normal(size=(a, b)) * 0.5, "b": rng.normal(size=b) * 0.1}
              for a, b in zip(sizes[1:-1], sizes[2:])]
    params = {"W1": rng.normal(size=(sizes[0], sizes[1])) * 0.5, "b1": rng.normal(size=sizes[1]) * 0.1,
              "layers": layers, "head": rng.normal(size=sizes[-1]), "decay": 0.01,
              "unused": rng.normal(size=(2, 2))}
    X = rng.normal(size=(7, sizes[0]))
    y = rng.normal(size=7)
    return params, X, y


def nested(tree, x):
    a, (b, c) = tree["pair"][0], tree["pair"][1]
    s = np.sum(a * x) + b * c["z"]
    for v in tree["list"]:
        s = s + v * v
    return s + np.sum(tree["deep"]["deeper"]["w"] ** 3)


def nested_args():
    tree = {"pair": (np.array([1.0, -2.0]), (0.5, {"z": 1.5})), "list": [0.3, -0.7, 1.1],
            "deep": {"deeper": {"w": np.array([[0.2, 0.4], [-0.6, 0.8]]), "skipped": 2.0}}, "untouched": [1.0]}
    return tree, np.array([0.5, 1.5])


def params_loop(params, x):
    s = 0.0
    for name, value in params.items():
        s = s + np.sum(value * x) * (2.0 if name == "a" else 1.0)
    return s + params.get("b", 0.0) * params.get("missing", 3.0) + params.get("c", x[0])


# ---------------------------------------------------------------- NamedTuples and dataclasses

Point = namedtuple("Point", "w b")


class Linear(NamedTuple):
    w: np.ndarray
    b: float


@dataclass
class Affine:
    w: np.ndarray
    b: float


def record_loss(p, X):
    return np.sum(np.tanh(X @ p.w + p.b)) * p.b


def tuple_loss(p, X):
    return np.sum(X @ p[0]) + p.b * p[1] + np.sum(p.w ** 2)


def _record_helper(p):
    return np.sum(p.w) * p.b


def record_helper(p, X):
    return _record_helper(p) + np.sum(X @ p.w)


def records_in_dict(model, X):
    s = 0.0
    for layer in model["layers"]:
        s = s + np.sum(np.tanh(X @ layer.w + layer.b))
    return s


# ---------------------------------------------------------------- refused (tests/test_dicts.py checks the line)


def writes_argument_dict(params):
    params["W"] = params["W"] * 2.0
    return np.sum(params["W"])


def writes_shared_dict(x):
    d = {"a": x}
    e = d
    e["a"] = x * 2.0
    return np.sum(d["a"])


def writes_nested_entry(x):
    d = {"a": np.zeros(3)}
    d["a"][0] = x[0]
    return np.sum(d["a"])


def updates_dict(x):
    d = {"a": x}
    d.update({"b": x})
    return np.sum(d["a"])


def pops_dict(x):
    d = {"a": x, "b": x}
    v = d.pop("a")
    return np.sum(v)


def unpacks_dict(x):
    base = {"b": 1.0}
    d = {**base, "a": x}
    return np.sum(d["a"])


def stores_then_writes(x):
    row = np.zeros(3)
    d = {}
    d["r"] = row
    row[0] = x[0]
    return np.sum(d["r"])


def builds_record(x):
    p = Point(x, 1.0)
    return np.sum(p.w)


# ---------------------------------------------------------------- keys that repeat (Python keeps the last value)


def repeated_keys(x):
    d = {"a": x[0], "b": x[1], "a": x[2] * 2}
    k1, k2 = "p", "p"
    e = {k1: x[0], k2: x[1] * 3, "q": x[2]}
    f = dict(zip(["u", "u", "v"], [x[0], x[1], x[2]]))
    return d["a"] * d["b"] + len(d) + e["p"] * e["q"] + f["u"] * f["v"]
