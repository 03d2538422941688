"""Dicts, and pytrees of arrays as arguments (issue 11): a table of programs checked in both modes against
finite differences (``check_grad``) and the dot-product identity (``check_dot_product``), the structure of
the derivatives, the programs' specialisation to the structure, and the refusals (error class, line, text)."""
import dataclasses
import inspect
import os

import numpy as np
import pytest

import sct
from programs import dicts as D
from sct.testing import check_dot_product, check_grad, numerical_grad

FILE = os.path.basename(D.__file__)
MODES = ["reverse", "forward"]
X = np.array([0.3, -0.2, 0.5])
X43 = np.random.default_rng(1).normal(size=(4, 3))
W3 = np.array([0.1, 0.2, -0.3])


def _mlp():
    return list(D.make_mlp())


def _nested():
    return list(D.nested_args())


# name -> (function, arguments (a function making them), wrt)
CASES = {
    "display_and_reads": (D.display_and_reads, lambda: [X], 0),
    "loops": (D.loops, lambda: [X], 0),
    "comprehensions": (D.comprehensions, lambda: [X], 0),
    "writes": (D.writes, lambda: [X], 0),
    "copies": (D.copies, lambda: [X], 0),
    "repeated keys": (D.repeated_keys, lambda: [X], 0),
    "helpers": (D.helpers, lambda: [X], 0),
    "mlp (dict with a list of layer dicts)": (D.mlp, _mlp, 0),
    "mlp, params and X": (D.mlp, _mlp, ("params", "X")),
    "nested tuples, lists and dicts": (D.nested, _nested, (0, 1)),
    "dict argument, loop and get": (D.params_loop, lambda: [{"a": np.array([1.0, 2.0, 3.0]), "b": 0.5, "c": 2.0}, X],
                                    (0, 1)),
    "namedtuple": (D.record_loss, lambda: [D.Point(W3, 0.5), X43], 0),
    "typing.NamedTuple, fields and indices": (D.tuple_loss, lambda: [D.Linear(W3, 0.5), X43], 0),
    "dataclass": (D.record_loss, lambda: [D.Affine(W3, 0.5), X43], 0),
    "dataclass to a helper": (D.record_helper, lambda: [D.Affine(W3, 0.5), X43], 0),
    "namedtuples in a dict": (D.records_in_dict, lambda: [{"layers": [D.Linear(W3, 0.5), D.Linear(-W3, 0.2)]}, X43],
                              0),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
def test_gradient_matches_finite_differences(name, mode):
    fn, args, wrt = CASES[name]
    check_grad(fn, args(), wrt=wrt, modes=(mode,))


@pytest.mark.parametrize("name", list(CASES))
def test_forward_and_reverse_programs_agree_by_the_dot_product(name):
    fn, args, wrt = CASES[name]
    check_dot_product(fn, args(), wrt=wrt)


@pytest.mark.parametrize("mode", MODES)
def test_a_pytree_gradient_has_the_arguments_structure(mode):
    params, X_, y = D.make_mlp()
    value, got = sct.value_and_grad(D.mlp, mode=mode)(params, X_, y)
    assert value == pytest.approx(D.mlp(params, X_, y))
    assert list(got) == list(params)  # the same keys, in the same order
    assert isinstance(got["layers"], list) and len(got["layers"]) == len(params["layers"])
    assert all(list(g) == ["W", "b"] for g in got["layers"])
    assert got["layers"][0]["W"].shape == params["layers"][0]["W"].shape
    assert isinstance(got["decay"], float)
    np.testing.assert_array_equal(got["unused"], np.zeros((2, 2)))  # not reached: a zero of its shape
    assert params["unused"] is not got["unused"]


@pytest.mark.parametrize("mode", MODES)
def test_records_give_gradients_of_their_own_type(mode):
    for p in (D.Point(W3, 0.5), D.Linear(W3, 0.5), D.Affine(W3, 0.5)):
        got = sct.grad(D.record_loss, mode=mode)(p, X43)
        assert type(got) is type(p)
        assert got.w.shape == (3,) and isinstance(got.b, float)
        expected = numerical_grad(D.record_loss, [p, X43])[0]
        np.testing.assert_allclose(got.w, expected.w, rtol=1e-6)
        assert got.b == pytest.approx(expected.b, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_tuples_and_floats_in_a_pytree_keep_their_types(mode):
    tree, x = D.nested_args()
    got = sct.grad(D.nested, mode=mode)(tree, x)
    assert isinstance(got["pair"], tuple) and isinstance(got["pair"][1], tuple)
    assert isinstance(got["pair"][1][1]["z"], float) and isinstance(got["list"], list)
    assert got["deep"]["deeper"]["skipped"] == 0.0 and got["untouched"] == [0.0]


def test_jvp_and_vjp_take_tangents_and_give_cotangents_of_the_arguments_structure():
    params, X_, y = D.make_mlp()
    rng = np.random.default_rng(3)
    u = sct.pytree.map_leaves(lambda leaf: rng.standard_normal(np.shape(leaf)) if np.ndim(leaf) else 0.7, params)
    value, tangent = sct.jvp(D.mlp)(params, X_, y, u)
    cotangent = sct.vjp(D.mlp)(params, X_, y, 2.0)
    assert list(cotangent) == list(params)
    flat = lambda tree: np.concatenate([np.ravel(leaf) for leaf in sct.pytree.leaves(tree)])  # noqa: E731
    assert 2.0 * tangent == pytest.approx(float(flat(cotangent) @ flat(u)), rel=1e-10)
    # a dict's tangent may list its keys in any order
    shuffled = {k: u[k] for k in reversed(list(u))}
    assert sct.jvp(D.mlp)(params, X_, y, shuffled)[1] == pytest.approx(tangent, rel=1e-12)
    # the batched jvp: every leaf of the tangent with a leading axis of directions
    batched = sct.pytree.map_leaves(lambda leaf: np.stack([np.ravel(leaf).reshape(np.shape(leaf))] * 2), u)
    _, both = sct.jvp(D.mlp, batched=True)(params, X_, y, batched)
    np.testing.assert_allclose(both, [tangent, tangent], rtol=1e-10)


def test_a_function_returning_a_dict():
    def out(x):
        return {"a": x * 2.0, "b": np.sum(x ** 2)}
    _, tangent = sct.jvp(out)(X, np.ones(3))
    assert list(tangent) == ["a", "b"] and tangent["b"] == pytest.approx(2 * np.sum(X))
    check_dot_product(out, [X])


def test_tangents_of_the_wrong_structure_are_refused():
    params, X_, y = D.make_mlp()
    with pytest.raises(sct.ArgumentError, match=r"should be a dict with the keys \['W1'"):
        sct.jvp(D.mlp)(params, X_, y, {"W1": params["W1"]})
    with pytest.raises(sct.ArgumentError, match=r"params\['b1'\] has shape \(3,\), the argument \(4,\)"):
        sct.jvp(D.mlp)(params, X_, y, dict(params, b1=np.ones(3)))
    with pytest.raises(sct.ArgumentError, match="should be a Linear"):
        sct.jvp(D.record_loss)(D.Linear(W3, 0.5), X43, (W3, 0.5))


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_a_pytree_has_one_block_per_leaf(mode):
    def vector(p, x):
        return np.tanh(p["w"] * x) * p["s"]
    p = {"w": np.array([0.3, -1.0, 2.0]), "s": 1.5}
    jac = sct.jacobian(vector, mode=mode)(p, X)
    assert list(jac) == ["w", "s"] and jac["w"].shape == (3, 3) and jac["s"].shape == (3,)
    np.testing.assert_allclose(jac["w"], np.diag(p["s"] * X / np.cosh(p["w"] * X) ** 2), rtol=1e-10)
    np.testing.assert_allclose(jac["s"], np.tanh(p["w"] * X), rtol=1e-12)


def test_hessian_of_a_pytree_is_refused_and_hvp_works():
    params, X_, y = D.make_mlp()
    with pytest.raises(sct.ArgumentError, match="hessian with respect to 'params', a dict.*sct.hvp"):
        sct.hessian(D.mlp)(params, X_, y)
    rng = np.random.default_rng(4)
    v = sct.pytree.map_leaves(lambda leaf: rng.standard_normal(np.shape(leaf)) if np.ndim(leaf) else 0.3, params)
    product = sct.hvp(D.mlp)(params, X_, y, v)
    assert list(product) == list(params)
    gradient = lambda p: sct.grad(D.mlp)(p, X_, y)  # noqa: E731
    flat = lambda tree: np.concatenate([np.ravel(leaf) for leaf in sct.pytree.leaves(tree)])  # noqa: E731
    eps = 1e-6
    plus = sct.pytree.map_leaves(lambda a, b: a + eps * b, params, v)
    minus = sct.pytree.map_leaves(lambda a, b: a - eps * b, params, v)
    np.testing.assert_allclose(flat(product), (flat(gradient(plus)) - flat(gradient(minus))) / (2 * eps),
                               rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", ["display_and_reads", "loops", "comprehensions", "writes", "copies"])
def test_hessians_of_functions_that_use_dicts(name):
    fn = CASES[name][0]
    eps = 1e-5
    expected = np.array([(sct.grad(fn)(X + eps * e) - sct.grad(fn)(X - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(sct.hessian(fn)(X), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("checkpoint", ["sqrt", "revolve"])
def test_a_checkpointed_loop_writing_into_a_dict(checkpoint):
    np.testing.assert_allclose(sct.grad(D.writes, checkpoint=checkpoint)(X), sct.grad(D.writes)(X), rtol=1e-12)


def test_the_program_is_specialised_to_the_keys_and_kinds_of_a_dict():
    def f(p, x):
        return np.sum(p["a"] * x) + np.sum(p.get("b", 0.0))
    grad = sct.grad(f)
    assert grad({"a": 2.0}, X) == {"a": pytest.approx(float(np.sum(X)))}
    assert grad({"a": 2.0, "b": 1.0}, X)["b"] == 1.0                          # another key: another program
    np.testing.assert_allclose(grad({"a": 2.0, "b": np.ones(3)}, X)["b"], np.ones(3))  # b an array now
    kinds = {dict(d.kinds)["p"] for d in sct.api.derived_programs(grad)}
    assert kinds == {"dict{'a': scalar}", "dict{'a': scalar, 'b': scalar}", "dict{'a': scalar, 'b': array}"}
    assert "specialised for p dict{'a': scalar, 'b': array}, x array" in sct.source(grad)


def test_kinds_of_containers():
    from sct.analysis import entries, element, join, kind_of_value
    params, _, _ = D.make_mlp()
    kind = kind_of_value(params)
    assert kind.startswith("dict{'W1': array, 'b1': array, 'layers': seq[dict{'W': array, 'b': array}]")
    assert entries(kind)["decay"] == "scalar" and element(entries(kind)["layers"]) == "dict{'W': array, 'b': array}"
    assert kind_of_value(D.Point(W3, 0.5)) == "record{'w': array, 'b': scalar}"
    assert kind_of_value(D.Affine(W3, 0.5)) == "record{'w': array, 'b': scalar}"
    assert join("dict{'a': scalar}", "dict{'b': array}") == "dict{'a': scalar, 'b': array}"
    assert join("seq[scalar]", "seq[array]") == "seq[array]" and join("dict", "dict{'a': scalar}") == "dict"
    assert kind_of_value({(1, 2): 1.0}) == "dict"  # keys sct does not write into a kind


def _tripled(x):
    return 3.0 * x


# deliberately wrong rules, so that check_grad has something to catch
sct.adjoint_rule(_tripled)(lambda g, ans, x: g * 2.0)
sct.tangent_rule(_tripled)(lambda dx, ans, x: dx * 4.0)


def _wrong(p):
    return _tripled(p["a"]) + p["b"][0] ** 2


def test_testing_helpers_take_pytrees():
    tree, x = D.nested_args()
    grads = numerical_grad(D.nested, [tree, x], wrt=(0, 1))
    assert list(grads[0]) == list(tree) and isinstance(grads[0]["pair"], tuple)
    assert grads[0]["deep"]["deeper"]["skipped"] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(grads[1], tree["pair"][0], rtol=1e-7)
    for mode in MODES:
        with pytest.raises(AssertionError, match=f"{mode}-mode gradient of _wrong wrt 0"):
            check_grad(_wrong, [{"a": 1.0, "b": [0.5]}], modes=(mode,))
    with pytest.raises(AssertionError, match="dot-product test of _wrong"):
        check_dot_product(_wrong, [{"a": 1.0, "b": [0.5]}])


# ---------------------------------------------------------------- refusals: class, line, message

def _line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    for i, line in enumerate(lines):
        if text in line:
            return start + i
    raise AssertionError(f"{text!r} not in {fn.__name__}")


REFUSED = [
    ("writes_argument_dict", sct.AliasingError, 'params["W"] = params["W"] * 2.0', "argument `params`"),
    ("writes_shared_dict", sct.AliasingError, "e = d", "shares memory"),
    ("writes_nested_entry", sct.UnsupportedSyntaxError, 'd["a"][0] = x[0]', "nested subscript"),
    ("updates_dict", sct.UnsupportedSyntaxError, 'd.update({"b": x})', "`.update()`"),
    ("pops_dict", sct.UnsupportedSyntaxError, 'v = d.pop("a")', "`.pop()`"),
    ("unpacks_dict", sct.UnsupportedSyntaxError, '{**base, "a": x}', "unpacks another dict"),
    ("stores_then_writes", sct.AliasingError, 'd["r"] = row', "written into after that"),
    ("builds_record", sct.NoRuleError, "p = Point(x, 1.0)", "not one built inside the function"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, error, text, what", REFUSED, ids=[r[0] for r in REFUSED])
def test_refusals_are_located(name, error, text, what, mode):
    fn = getattr(D, name)
    arg = {"W": np.ones(3)} if name == "writes_argument_dict" else X
    with pytest.raises(error) as info:
        sct.grad(fn, mode=mode)(arg)
    message = str(info.value)
    assert what in message
    assert f"{FILE}:{_line_of(fn, text)}:" in message
    assert text in message  # the line is shown


@pytest.mark.parametrize("mode", MODES)
def test_leaves_that_are_not_numbers_are_refused(mode):
    @dataclasses.dataclass
    class Config:
        w: np.ndarray
        name: str

    def f(c):
        return np.sum(c.w)
    with pytest.raises(sct.ArgumentError, match=r"argument c.name is a str.*separate arguments"):
        sct.grad(f, mode=mode)(Config(W3, "layer"))
    with pytest.raises(sct.ArgumentError, match=r"argument params\['n'\] is an array of int64"):
        sct.grad(D.params_loop, mode=mode)({"a": 1.0, "n": np.arange(3)}, X)


def test_a_batched_tangent_of_another_structure_is_refused():
    params, X_, y = D.make_mlp()
    batched = sct.pytree.map_leaves(lambda leaf: np.zeros((2,) + np.shape(leaf)), params)
    del batched["head"]
    with pytest.raises(sct.ArgumentError, match="the batched tangent of params should be a dict with the keys"):
        sct.jvp(D.mlp, batched=True)(params, X_, y, batched)
    batched = sct.pytree.map_leaves(lambda leaf: np.zeros(np.shape(leaf)), params)
    with pytest.raises(sct.ArgumentError, match="needs a leading batch axis"):
        sct.jvp(D.mlp, batched=True)(params, X_, y, batched)


# -- loops over the entries of a global or closure dict (they raised TypeError: dict_values looped by index)

HYPER = {"a": 1.0, "b": 2.0}


def _over_global_values(x):
    s = 0.0
    for v in HYPER.values():
        s = s + v * np.sin(x)
    return s


def _over_global_items(x):
    s = 0.0
    for key, v in HYPER.items():
        s = s + v * x * x * len(key)
    return s


def _over_global_keys(x):
    s = 0.0
    for key in HYPER.keys():
        s = s + HYPER[key] * np.exp(x)
    return s


def _generator_over_global_values(x):
    return sum(v * x ** 3 for v in HYPER.values())


def _over_global_values_summed(x):
    s = 0.0
    for v in HYPER.values():
        s = s + np.sum(v * x)
    return s


def _closure_over_dict():
    weights = {"u": 2.0, "w": 3.0}

    def loss(x):
        return sum(np.sin(v * x) for v in weights.values())
    return loss, weights


GLOBAL_LOOPS = [_over_global_values, _over_global_items, _over_global_keys, _generator_over_global_values]


def _assert_grad(fn, x, mode):
    np.testing.assert_allclose(sct.grad(fn, mode=mode)(x), numerical_grad(fn, [x])[0], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", GLOBAL_LOOPS, ids=lambda f: f.__name__)
def test_loops_over_a_global_dicts_entries_see_them_when_the_program_runs(fn, mode, monkeypatch):
    monkeypatch.setitem(HYPER, "a", 1.0)  # (restored after the test, with the entries it adds)
    _assert_grad(fn, 0.7, mode)
    monkeypatch.setitem(HYPER, "c", 3.0)  # an entry more, the same dict: read by the next call
    _assert_grad(fn, 0.7, mode)
    monkeypatch.setitem(HYPER, "a", -0.5)
    _assert_grad(fn, 0.4, mode)


@pytest.mark.parametrize("mode", MODES)
def test_a_loop_over_a_closure_dicts_values(mode):
    loss, weights = _closure_over_dict()
    _assert_grad(loss, 0.7, mode)
    weights["z"] = 5.0
    _assert_grad(loss, 0.7, mode)


@pytest.mark.parametrize("mode", MODES)
def test_a_global_dict_changed_in_place_to_another_kind_rebuilds_the_program(mode, monkeypatch):
    """The program is specialised to the kinds of the global dict's entries (numbers here): an entry that
    becomes an array, or an array entry added, makes it rebuild (it raised, or could be wrong, before)."""
    monkeypatch.setitem(HYPER, "a", 1.0)
    _assert_grad(_over_global_values_summed, 0.7, mode)
    monkeypatch.setitem(HYPER, "d", np.array([1.0, 2.0]))
    _assert_grad(_over_global_values_summed, 0.7, mode)
    monkeypatch.setitem(HYPER, "a", np.array([[1.0], [3.0]]))
    _assert_grad(_over_global_values_summed, 0.7, mode)
