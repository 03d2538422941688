"""Regression tests for the soundness issue: code on which sct gave a wrong gradient.

sct's promise is "a gradient is right or it is refused".  Every case reported
in the issue runs here in both modes and must either

* give the right gradient -- equal to central finite differences and, where
  one could be worked out, to a hand-derived value, with the shape of its
  argument -- while ``value_and_grad``'s value equals ``f(*args)`` and the
  arguments are left unchanged, or
* raise a subclass of :class:`sct.TransformError`

(:func:`assert_right_or_refused`).  Never another exception, never a wrong
number.  Where the issue says a case should *work*, the stricter
:func:`assert_right` also fails on a refusal; those cases are in
``SHOULD_WORK`` and in the tests marked "should work".  The programs are in
``tests/programs/soundness.py``, numbered as in the issue.
"""
import copy
import math
import sys
import threading

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad

from programs import soundness as p

MODES = ["forward", "reverse"]


# -- the checks ------------------------------------------------------------------

def _as_tuple(wrt, grads):
    return tuple(grads) if isinstance(wrt, tuple) else (grads,)


def _assert_unchanged(before, after):
    for i, (b, a) in enumerate(zip(before, after)):
        assert type(a) is type(b), f"argument {i} changed type: {type(b).__name__} -> {type(a).__name__}"
        assert np.array_equal(np.asarray(a), np.asarray(b)), f"argument {i} was changed: {b!r} -> {a!r}"


def _assert_gradient(f, args, wrt, got, exact):
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    finite = numerical_grad(f, copy.deepcopy(args), positions)
    hand = _as_tuple(wrt, exact(*copy.deepcopy(args))) if exact is not None else (None,) * len(positions)
    for i, g, fd, h in zip(positions, got, finite, hand):
        where = f"gradient of {f.__name__} wrt argument {i}"
        assert np.shape(g) == np.shape(args[i]), f"{where} has shape {np.shape(g)}, its argument {np.shape(args[i])}"
        if isinstance(args[i], np.ndarray):
            assert isinstance(g, np.ndarray), f"{where} is a {type(g).__name__}, its argument an array"
        assert np.allclose(g, fd, rtol=1e-5, atol=1e-6), f"{where}: sct {g!r}, finite differences {fd!r}"
        if h is not None:
            assert np.allclose(g, h, rtol=1e-9, atol=1e-12), f"{where}: sct {g!r}, by hand {h!r}"


def assert_right_or_refused(f, args, wrt=0, mode="reverse", exact=None, refusal=sct.TransformError):
    """Assert that sct's gradient of ``f`` at ``args`` is right, or that sct refuses ``f``.

    Right means: ``value_and_grad``'s value equals ``f(*args)``, the arguments
    are unchanged, and each gradient has its argument's shape and matches
    central finite differences and, given ``exact(*args)`` (the hand-derived
    gradient, a tuple for a tuple ``wrt``), that value.  Refused means an
    instance of ``refusal`` (a :class:`sct.TransformError` subclass) is raised.
    Any other exception propagates and fails the test.  Returns the refusal,
    or None when the gradient was computed (and right).
    """
    args = tuple(args)
    before = copy.deepcopy(args)
    try:
        value, grads = sct.value_and_grad(f, wrt=wrt, mode=mode)(*args)
    except refusal as error:
        _assert_unchanged(before, args)
        return error
    _assert_unchanged(before, args)
    expected = f(*copy.deepcopy(before))
    assert np.allclose(value, expected, rtol=1e-12, atol=1e-14), f"value of {f.__name__}: sct {value!r}, f {expected!r}"
    _assert_gradient(f, before, wrt, _as_tuple(wrt, grads), exact)
    return None


def assert_right(f, args, wrt=0, mode="reverse", exact=None):
    """Like :func:`assert_right_or_refused`, but a refusal fails too: the issue says this case should work."""
    error = assert_right_or_refused(f, args, wrt, mode, exact)
    if error is not None:
        pytest.fail(f"refused, but this case should work: {type(error).__name__}: {error}")


# -- the cases -------------------------------------------------------------------

X23 = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6]])
V3 = np.array([0.5, -1.5, 2.0])
A22 = np.array([[0.1, 0.2], [0.4, 0.6]])  # its entries sum to 1.3


def _recompute_exact(z):
    a, da = math.sin(z + 0.25), math.cos(z + 0.25)
    # s1 = z, s2 = z (2 + a), s3 = z (2 + a)(1 + a) + z
    return (2 + a) * (1 + a) + 1 + z * da * (3 + 2 * a)


def _normalised_exact(A):
    s = np.sum(A, axis=0)
    r = np.sum(s ** 2)  # the value is r / (1 + r)^2
    return np.broadcast_to(2 * s * (1 - r) / (1 + r) ** 3, A.shape)


def _einsum_exact(x, y):
    dots = np.sum(x * y, axis=-1, keepdims=True)
    return 2 * dots * y, 2 * dots * x


def _written_then_stored_in_list_grad(x):
    """d/dx of x0 x1 x0 + x1 x1 + x2 x2 + (x0 x1)^2 + x1^2 + x2^2."""
    x0, x1, x2 = x
    return np.array([2 * x0 * x1 + 2 * x0 * x1 ** 2, x0 ** 2 + 4 * x1 + 2 * x0 ** 2 * x1, 4 * x2])


# should work: the issue says each of these must give the right gradient, not be refused.
# (id, function, arguments, wrt, the hand-derived gradient or None)
SHOULD_WORK = [
    ("1-parentheses-on-recompute", p.recompute_keeps_parentheses, (0.3,), 0, _recompute_exact),
    ("2-index-after-inner-loop", p.index_after_inner_loop, (V3, 0.8), (0, 1),
     lambda v, x: (2 * x * np.array([1.0, 2.0, 1.0]), 2 * np.sum(v) + 2 * v[1])),
    ("2-index-after-inner-loop-scalar", p.index_after_inner_loop_scalar, (0.8,), 0, lambda x: 6 + 4 * x),
    ("8-sum-feeds-two-uses", p.sum_feeds_two_uses, (A22,), 0, lambda A: np.full((2, 2), 2 * np.sum(A))),
    ("8-mean-feeds-two-uses", p.mean_feeds_two_uses, (A22,), 0, lambda A: np.full((2, 2), np.sum(A) / 2)),
    ("8-normalised-column-sums", p.normalised_column_sums, (A22,), 0, _normalised_exact),
    ("9-std-of-one-element", p.std_of_one, (np.array([0.7]),), 0, lambda x: np.zeros(1)),
    ("9-var-of-one-element", p.var_of_one, (np.array([0.7]),), 0, lambda x: np.zeros(1)),
    ("9-zero-to-the-zero", p.power, (0.0, 0.0), 0, lambda x, q: 0.0),
    ("10-unused-on-branch-taken", p.unused_on_branch_taken, (V3, 0.7), (0, 1), lambda A, x: (np.zeros(3), 2 * x)),
    ("10-axis-reduction-unused", p.axis_reduction_unused_on_branch_taken, (X23, 0.7), (0, 1),
     lambda A, x: (np.zeros((2, 3)), 2 * x)),
    ("10-where-then-indexed-write", p.where_then_indexed_write, (np.array([0.5, -0.3, 0.8]), 0.7), (0, 1),
     lambda A, x: (np.array([0.0, 0.0, 2 * A[2]]), 2 * x)),
    ("11-outer-sum-axis", p.outer_sum_axis, (np.array([0.4, -1.3]),), 0, lambda x: np.full(2, 2 * np.sum(x))),
    ("12-list-read-twice", p.list_read_twice, (0.6,), 0, lambda x: 4.0),
    ("12-list-read-twice-array", p.list_read_twice_array, (V3,), 0, lambda x: np.full(3, 3.0 * 3 + 1)),
    ("13-rebinds-inactive-parameter", p.rebinds_inactive_parameter, (0.6, 1.7), 0, lambda x, y: 2 * x * y),
    ("13-helper-rebinds-default", p.calls_helper_rebinding_default, (0.6,), 0, lambda x: 6 * x),
    ("14-keyword-tangent-names", p.keyword_tangent_names, (0.6,), 0, lambda x: 4 * x ** 3 + 3 * x ** 2),
    ("14-builtin-tangent-names", p.builtin_tangent_names, (0.6,), 0,
     lambda x: 16 * x ** 3 + 12 * x ** 2 - 4 * x),
    ("15-einsum-ellipsis", p.einsum_ellipsis, (X23, X23[::-1] + 0.5), (0, 1), _einsum_exact),
    ("15-column-stack-one", p.column_stack_one, (V3,), 0, lambda x: 2 * x),
    ("also-augments-loop-variable", p.augments_loop_variable, (V3, 0.8), (0, 1),
     lambda v, x: (np.full(3, x), np.sum(v) + 3)),
    ("also-augments-loop-variable-list", p.augments_loop_variable_list, (0.6,), 0, lambda x: 12 * x),
    ("also-joined-then-element-updated", p.joined_then_element_updated, (V3, V3 + 1.0), (0, 1),
     lambda x, y: (8 * x, 2 * y * np.array([9.0, 1.0, 1.0]))),
    ("also-recurrence-keeps-previous-element", p.recurrence_keeps_previous_element, (0.7,), 0, None),
    ("3-flatten-is-a-copy", p.flatten_is_a_copy, (X23,), 0, lambda x: 4 * x + 1),
    ("3-copies-written-in-place", p.copies_written_in_place, (V3,), 0,
     lambda x: 12 * x + np.array([6.0, 0, 0]) + 2 * x + np.array([1.0, 0, 0])),
    ("15-written-then-stored-in-tuple", p.written_then_stored_in_tuple, (np.vstack([X23, V3]) / 2, V3), (0, 1), None),
    ("15-written-then-stored-in-list", p.written_then_stored_in_list, (V3,), 0,
     _written_then_stored_in_list_grad),
]

# Right or refused: a TransformError (or the subclass named) is an acceptable answer here.
# (id, function, arguments, wrt, the hand-derived gradient or None, the refusal allowed)
RIGHT_OR_REFUSED = [
    *[(f"3-{fn.__name__.replace('_', '-')}", fn, (X23,), 0, lambda x: 2 * x, sct.TransformError)
      for fn in (p.view_by_T, p.view_by_reshape, p.view_by_ravel, p.view_by_np_transpose, p.view_by_np_asarray,
                 p.view_by_ellipsis, p.view_by_swapaxes, p.view_by_view_method, p.view_of_view,
                 p.view_by_bare_name, p.view_written_by_index)],
    ("3-view-base-written", p.view_base_written, (X23,), 0, lambda x: 2 * x, sct.TransformError),
    ("4-write-reads-view-of-itself", p.write_reads_view_of_itself, (V3,), 0, None, sct.TransformError),
    ("4-write-reads-row-of-itself", p.write_reads_row_of_itself, (X23.T.copy(),), 0, None, sct.TransformError),
    ("5-loop-over-array-updated", p.loop_over_array_updated_in_place, (V3,), 0,
     lambda x: np.array([1.0, 0.5, 0.25]), sct.TransformError),
    ("5-loop-over-view-updated", p.loop_over_view_updated_in_place, (X23,), 0, None, sct.TransformError),
    ("also-augments-loop-variable-rows", p.augments_loop_variable_rows, (X23, 0.8), (0, 1), None,
     sct.AliasingError),
    ("6-np-r_", p.uses_r_, (V3,), 0, lambda x: 4 * x, sct.NoRuleError),
    ("6-np-c_", p.uses_c_, (V3,), 0, lambda x: 2 * np.cos(x), sct.NoRuleError),
    ("6-einsum-sublists", p.uses_einsum_sublists, (X23,), 0, lambda x: 3 * x ** 2, sct.NoRuleError),
]


# fuzzer finds: programs tests/fuzz.py generated on which sct gave a wrong number or crashed, reduced by
# hand.  (id, function, arguments, wrt, the hand-derived gradient or None, the refusal allowed or None:
# should work)
FUZZER_FINDS = [
    ("fuzz-zero-adjoint-meets-narrower-operand", p.zero_adjoint_meets_narrower_operand, (X23, V3), (0, 1),
     lambda x, v: (np.zeros((2, 3)), np.ones(3)), None),
    ("fuzz-zero-adjoint-meets-keepdims", p.zero_adjoint_meets_keepdims, (0.7, np.array([0.5, -1.5])), (0, 1),
     lambda x, y: (2 * x, np.zeros(2)), None),
    ("fuzz-negative-constant-to-a-power", p.negative_constant_to_a_power, (0.3, 0.5), (0, 1),
     lambda x, y: (2.25, 2.0), None),
    ("fuzz-write-into-base-of-sliced-view", p.write_into_base_of_sliced_view, (0.3,), 0, lambda x: 1 + 2 * x,
     sct.AliasingError),
    ("fuzz-write-into-base-of-row-view", p.write_into_base_of_row_view, (0.3,), 0, lambda x: 3 + 2 * x,
     sct.AliasingError),
    ("fuzz-index-bound-after-last-write", p.index_bound_after_last_write, (0.3,), 0, lambda x: 2 + 2 * x, None),
    ("fuzz-tangent-shares-written-tangent", p.tangent_shares_written_tangent, (0.3, 0.5), (0, 1),
     lambda x, y: (2.0, -2.0), None),
    ("fuzz-negative-constant-in-nested-test", p.negative_constant_in_nested_test, (np.array([0.2, 2.0, 0.5]),), 0,
     lambda x: np.array([2.0, 4.7, 2.0]), None),
    ("fuzz-write-into-loop-item", p.write_into_loop_item, (V3,), 0, lambda x: np.full(3, 1 / 6),
     sct.AliasingError),
    ("fuzz-write-after-helper-returned-argument", p.write_after_helper_returned_argument, (V3,), 0,
     lambda x: np.array([2.0, 0.0, 2.0]), sct.AliasingError),
    ("fuzz-return-flag-tested-twice", p.return_flag_tested_twice, (V3, np.array([[0.5, 1.0], [2.0, 1.0]])), 0,
     lambda x, y: np.array([0.0, 0.5, 2.0]), None),
    ("fuzz-same-test-nested", p.same_test_nested, (0.7, -1), 0, lambda x, i: 1.0, None),
    ("fuzz-write-into-helper-result", p.write_into_helper_result, (V3, 0.5), (0, 1),
     lambda x, y: (np.ones(3), 1.0), None),
    ("fuzz-max-of-number-and-difference", p.max_of_number_and_difference, (V3, -0.5), (0, 1),
     lambda x, y: (-np.ones(3), 0.0), None),
    ("fuzz-where-of-comparison-updated", p.where_of_comparison_updated, (0.7,), 0, lambda y: 10.0, None),
    ("fuzz-array-times-unknown-updated", p.array_times_unknown_updated, (0.7,), 0, lambda y: 4.0, None),
]


# should work
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, args, wrt, exact", [c[1:] for c in SHOULD_WORK], ids=[c[0] for c in SHOULD_WORK])
def test_should_work(fn, args, wrt, exact, mode):
    assert_right(fn, args, wrt, mode, exact)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, args, wrt, exact, refusal", [c[1:] for c in RIGHT_OR_REFUSED],
                         ids=[c[0] for c in RIGHT_OR_REFUSED])
def test_right_or_refused(fn, args, wrt, exact, refusal, mode):
    assert_right_or_refused(fn, args, wrt, mode, exact, refusal)


# should work (case 7)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fresh", [True, False], ids=["fresh-wrapper", "same-wrapper"])
def test_rebound_closure_variable_is_read_at_each_call(mode, fresh):
    w = np.array([0.5, -1.0, 2.0])
    temperature = 1.0

    def loss(w):
        return temperature * np.sum(w ** 2)

    made_once = sct.value_and_grad(loss, mode=mode)
    for temperature in (1.0, 2.0, 4.0):
        value, g = (sct.value_and_grad(loss, mode=mode) if fresh else made_once)(w)
        assert value == pytest.approx(temperature * np.sum(w ** 2), rel=1e-12), f"temperature {temperature}"
        np.testing.assert_allclose(g, 2 * temperature * w, rtol=1e-12, err_msg=f"temperature {temperature}")


@pytest.fixture
def frequent_thread_switches():
    """Switch threads every microsecond, so that races inside a first call show up."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


# should work (case 16)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("threads", [2, 4])
def test_first_call_from_several_threads(mode, threads, frequent_thread_switches):
    x = np.array([0.3, -0.8, 1.4])
    expected = np.sin(x) + x * np.cos(x) + 3 * x ** 2
    for trial in range(20):
        def f(x):  # a new function object each trial: nothing is cached for it yet
            return np.sum(x * np.sin(x) + x ** 3)

        g = sct.grad(f, mode=mode)
        start = threading.Barrier(threads)
        results, errors = [None] * threads, []

        def call(i):
            start.wait()
            try:
                results[i] = g(x)
            except Exception as error:  # reported below, with the trial
                errors.append(error)

        workers = [threading.Thread(target=call, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert not errors, f"trial {trial}: {[f'{type(e).__name__}: {e}' for e in errors]}"
        for r in results:
            np.testing.assert_allclose(r, expected, rtol=1e-12, err_msg=f"trial {trial}")


# (issue 15) a write into an array after it was stored in a container (later, in the same statement, or in
# a loop around both) stays refused; a write that certainly ran before the store is accepted (SHOULD_WORK)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", [p.stored_then_written, p.stored_and_written_in_one_statement,
                                p.written_in_loop_around_store], ids=lambda fn: fn.__name__)
def test_write_after_store_is_refused(fn, mode):
    with pytest.raises(sct.AliasingError, match="stored inside another container and written into after that"):
        sct.grad(fn, mode=mode)(V3)


# fuzzer finds
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn, args, wrt, exact, refusal", [c[1:] for c in FUZZER_FINDS],
                         ids=[c[0] for c in FUZZER_FINDS])
def test_fuzzer_finds(fn, args, wrt, exact, refusal, mode):
    if refusal is None:
        assert_right(fn, args, wrt, mode, exact)
    else:
        assert_right_or_refused(fn, args, wrt, mode, exact, refusal)


def _entries_written_then_index_reused(x):
    """The index of ``a[i, j] = ...`` is read after its loop, then rebound by another loop: undoing the write
    reads the index's own value (fuzz seed 409, program 1078, as generated: an IndexError in the backward
    sweep, and program 2352 likewise)."""
    a = np.full((2, 2), 0.67)
    for i in range(2):
        for j in range(2):
            a[i, j] = math.cos(a[i][j])
    b = a[i][i]
    b = b if not x > 0.54 else a[1, i]
    for i in range(3):
        b, x = x, b
    for k, el in enumerate(a):
        m = 0
        while m < 4 and float(k) <= 0.61:
            m = m + 1
            c = np.array(el)
        d = x
    return math.sin(x) + math.sin(b)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_undone_write_reads_its_index_where_it_is_undone(mode):
    got = sct.grad(_entries_written_then_index_reused, mode=mode)(0.7)
    np.testing.assert_allclose(got, numerical_grad(_entries_written_then_index_reused, (0.7,), 0)[0], rtol=1e-7)


def _tail(x):
    return x[1:]


def _same(x):
    return x


def _write_through_a_helpers_view(x):
    y = x.copy()
    v = _tail(y)
    v[0] = 5.0 * x[0]
    return np.sum(y * y)


def _scale_through_a_helpers_result(x):
    y = x.copy()
    v = _same(y)
    v *= 3.0
    return np.sum(y)


@pytest.mark.parametrize("fn", [_write_through_a_helpers_view, _scale_through_a_helpers_result])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_write_through_what_a_helper_returned_of_an_argument_is_refused(fn, mode):
    """``v = tail(y)`` (``def tail(a): return a[1:]``) is a view of ``y``, as ``v = y[1:]`` is: a write into
    ``v`` changes ``y``, which sct cannot follow (the gradient and even the value were wrong)."""
    with pytest.raises(sct.AliasingError, match="shares memory|another variable also names"):
        sct.value_and_grad(fn, mode=mode)(np.array([0.3, -0.5, 0.8]))


def _activation(x):
    return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {"sigmoid": _activation}


def _activation_from_a_dict(x):
    return np.sum(ACTIVATIONS["sigmoid"](x))


def _dict_of_functions_read_only(x):
    chosen = ACTIVATIONS["sigmoid"]
    return np.sum(x * x)


def test_a_global_dict_of_functions_is_refused_or_differentiated_not_an_internal_error():
    x = np.array([0.3, -0.5, 0.8])
    with pytest.raises(sct.NoRuleError, match="holding a function"):
        sct.grad(_activation_from_a_dict)(x)
    np.testing.assert_allclose(sct.grad(_dict_of_functions_read_only)(x), 2 * x)


# -- functions in a list, tuple or dict the function builds (a ValueError from the kinds: "seq[function cube]")

def _cube(z):
    return z ** 3


def _from_a_dict_of_lambdas(x):
    acts = {"cube": lambda z: z ** 3}
    return acts["cube"](x)


def _from_a_dict_of_numpy_functions(x):
    acts = {"sin": np.sin}
    return acts["sin"](x)


def _from_a_list_of_nested_functions(x):
    def cube(z):
        return z ** 3
    acts = [cube]
    return acts[0](x)


def _from_a_tuple(x):
    acts = (_cube, np.tanh)
    return acts[1](x) * acts[-2](x)


def _from_a_list_of_closures(x):
    a = 2.0 * x
    acts = [lambda z: a * z, _cube]
    return acts[0](x) + sum(acts[1](v) for v in [x, np.sin(x)])


def _from_a_loop_over_functions(x):
    acts = [_cube, np.tanh]
    for act in acts:
        x = act(x)
    return x


def _from_an_appended_list(x):
    acts = []
    acts.append(_cube)
    return acts[0](x)


def _from_a_list_changed_in_place(x):
    acts = [_cube, np.tanh]
    acts[0] = np.sin
    return acts[0](x)


def _from_a_list_given_to_a_helper(x):
    acts = [_cube, np.tanh]
    n = len(acts)
    return acts[0](x) * n


_GLOBAL_ACTIVATIONS = [_cube, np.sin]


def _from_a_global_list(x):
    return _GLOBAL_ACTIVATIONS[0](x)


def _functions_in_a_list_called_on_constants(x):
    acts = [_cube, np.tanh]
    n = len(acts)
    y = acts[0](2.0)
    return x * y * n


CALLED_FROM_TABLES = [_from_a_dict_of_lambdas, _from_a_dict_of_numpy_functions, _from_a_list_of_nested_functions,
                      _from_a_tuple, _from_a_list_of_closures, _functions_in_a_list_called_on_constants]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn", CALLED_FROM_TABLES, ids=lambda f: f.__name__)
def test_a_function_called_from_a_table_the_function_builds_is_differentiated(fn, mode):
    """``acts = [cube, np.tanh]`` (or a tuple, or a dict with constant keys) bound once and read only to call
    an item at a constant index: ``acts[0](x)`` is the call ``cube(x)``, differentiated through ``cube``."""
    np.testing.assert_allclose(sct.grad(fn, mode=mode)(0.5), numerical_grad(fn, [0.5])[0], rtol=1e-6)


CALLED_FROM_CONTAINERS = [(_from_a_loop_over_functions, "x = act(x)"), (_from_an_appended_list, "acts[0](x)"),
                          (_from_a_list_changed_in_place, "acts[0](x)"), (_from_a_list_given_to_a_helper, "acts[0](x)"),
                          (_from_a_global_list, "_GLOBAL_ACTIVATIONS[0](x)")]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fn, line", CALLED_FROM_CONTAINERS, ids=[f.__name__ for f, _ in CALLED_FROM_CONTAINERS])
def test_a_function_called_from_a_container_is_refused_where_it_is_called(fn, line, mode):
    """A container of functions that may change, or whose item sct cannot tell, has the kind of a container
    of unknown items (not a kind string sct cannot read back): calling an item on what depends on the
    inputs is refused, located at the call."""
    with pytest.raises(sct.NoRuleError, match="holding a function sct cannot identify") as info:
        sct.grad(fn, mode=mode)(0.5)
    assert line in str(info.value)


def _float_written_into_an_integer_array(x):
    y = np.full((2, 3), 2)  # (an int array: the fill value is an int)
    y[0, 1] = x ** 3        # NumPy truncates: y[0, 1] is int(x ** 3)
    return np.sum(y * x)


def _float_written_into_a_float_array(x):
    y = np.full((2, 3), 2.0)
    y[0, 1] = x ** 3
    return np.sum(y * x)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_value_written_into_an_integer_array_is_refused_where_it_is_written(mode):
    """NumPy truncates a float written into an integer array; the derivative is not the value's (fuzz seed 412
    program 1072: a wrong gradient in both modes).  Refused when the program runs, located; a float array
    is differentiated."""
    with pytest.raises(sct.NoRuleError, match="truncates it") as info:
        sct.grad(_float_written_into_an_integer_array, mode=mode)(1.3)
    assert "y[0, 1] = x ** 3" in info.value.location.text
    got = sct.grad(_float_written_into_a_float_array, mode=mode)(1.3)
    assert got == pytest.approx(numerical_grad(_float_written_into_a_float_array, (1.3,), 0)[0], rel=1e-7)


def _view_after_every_write(theta):
    L = np.zeros((2, 2))
    L[0] = theta
    M = L.T
    return np.sum(M * L)


def _write_after_the_view(theta):
    L = np.zeros((2, 2))
    M = L.T
    L[0] = theta
    return np.sum(M * L)


def _view_and_write_in_one_loop(theta):
    L = np.zeros((2, 2))
    for i in range(2):
        L[i] = theta * i
        M = L.T
    return np.sum(M * L)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_view_taken_after_every_write_is_differentiated(mode):
    """``L[0] = t; M = L.T``: the view sees only what was written (as a container storing L does), so it is
    differentiated; a write after the view, or both in one loop, stays refused (the view would change)."""
    x = np.array([0.3, -0.5])
    got = sct.grad(_view_after_every_write, mode=mode)(x)
    np.testing.assert_allclose(got, numerical_grad(_view_after_every_write, (x,), 0)[0], rtol=1e-7)
    for fn in (_write_after_the_view, _view_and_write_in_one_loop):
        with pytest.raises(sct.AliasingError, match="share memory"):
            sct.grad(fn, mode=mode)(x)


def _bound_anew_before_the_write(x):
    y = x * 2.0
    z = y
    s = np.sum(z * x)
    z = np.zeros(3)
    z[0] = s
    return np.sum(z) + np.sum(y)


def _written_while_shared(x):
    y = x * 2.0
    z = y
    z[0] = 1.0
    return np.sum(z) + np.sum(y)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_name_bound_anew_before_it_is_written_shares_nothing(mode):
    x = np.array([0.3, -0.5, 0.8])
    got = sct.grad(_bound_anew_before_the_write, mode=mode)(x)
    np.testing.assert_allclose(got, numerical_grad(_bound_anew_before_the_write, (x,), 0)[0], rtol=1e-7)
    with pytest.raises(sct.AliasingError):
        sct.grad(_written_while_shared, mode=mode)(x)


def _write_through_a_chain_of_views(x):
    x = np.copy(x)
    b = x.reshape(-1).reshape(3, 2).T  # (a view of x, through three views)
    b[:, -1] = np.sum(x) * 0.5
    return np.sum(b ** 2) + np.sum(x)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_write_through_a_chain_of_views_is_refused(mode):
    """``b = x.reshape(-1).reshape(3, 2).T; b[:, -1] = ...`` writes into x: only a view of a name, not a view
    of a view, was recognised (fuzz seed 415 program 728: a wrong gradient in both modes)."""
    with pytest.raises(sct.AliasingError, match="shares memory"):
        sct.grad(_write_through_a_chain_of_views, mode=mode)(np.arange(6.0).reshape(2, 3) / 7)


def _double_buffered_heat(u0, k):
    u = u0.copy()
    for t in range(3):
        un = u.copy()
        for i in range(1, len(u) - 1):
            un[i] = u[i] + k * (u[i - 1] - 2 * u[i] + u[i + 1])
        u = un
    return np.sum(u ** 2)


def _one_buffer_for_both(u0, k):
    u = u0.copy()
    un = u.copy()
    for t in range(3):
        for i in range(1, len(u) - 1):
            un[i] = u[i] + k * (u[i - 1] - 2 * u[i] + u[i + 1])
        u = un  # (from the second step on, un[i] = ... changes u while the loop reads it)
    return np.sum(u ** 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_double_buffering_in_a_time_loop(mode):
    """``un = u.copy(); un[i] = ...; u = un``: each step writes into a fresh copy, so no write happens while
    the two names share one array (it was refused); one buffer for both steps does share, and stays refused."""
    u0 = np.array([0.1, 0.5, 0.9, 0.4, 0.2])
    got = sct.grad(_double_buffered_heat, wrt=(0, 1), mode=mode)(u0, 0.2)
    for g, e in zip(got, numerical_grad(_double_buffered_heat, (u0, 0.2), (0, 1))):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9)
    with pytest.raises(sct.AliasingError, match="share memory"):
        sct.grad(_one_buffer_for_both, wrt=(0, 1), mode=mode)(u0, 0.2)
