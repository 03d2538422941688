"""Programs from the soundness issue: code on which sct once gave a wrong gradient.

One function per reported pattern, grouped by the issue's case number.  The
expected gradients (by hand, and by finite differences) are in
``tests/test_soundness.py``.
"""
import math

import numpy as np
from numpy import transpose


# -- 1. parentheses lost when a loop's scalar intermediate is recomputed ---------

def recompute_keeps_parentheses(z):
    s = 0.0
    for i in range(3):
        s = s + math.sin(z + (-0.5) ** 2) * s + z
    return s


# -- 2. a loop index read after its loop, inside an outer loop -------------------

def index_after_inner_loop(v, x):
    s = 0.0
    for k in range(2):
        for j in range(3):
            s = s + v[j] * x
        s = s + v[j - 1] * x
    return s


def index_after_inner_loop_scalar(x):
    s = 0.0
    for k in range(2):
        for j in range(3):
            s = s + j * x
        s = s + (j - 1) * x * x
    return s


# -- 3. views made by methods and functions, then written in place ---------------
# Each halves q through a view of it, so every one computes sum(x * x).

def view_by_T(x):
    q = x * 2.0
    r = q.T
    r *= 0.5
    return np.sum(q * x)


def view_by_reshape(x):
    q = x * 2.0
    r = q.reshape(-1)
    r *= 0.5
    return np.sum(q * x)


def view_by_ravel(x):
    q = x * 2.0
    r = q.ravel()
    r *= 0.5
    return np.sum(q * x)


def view_by_np_transpose(x):
    q = x * 2.0
    r = np.transpose(q)
    r *= 0.5
    return np.sum(q * x)


def view_by_np_asarray(x):
    q = x * 2.0
    r = np.asarray(q)
    r *= 0.5
    return np.sum(q * x)


def view_by_ellipsis(x):
    q = x * 2.0
    r = q[...]
    r *= 0.5
    return np.sum(q * x)


def view_by_swapaxes(x):
    q = x * 2.0
    r = np.swapaxes(q, 0, 1)
    r *= 0.5
    return np.sum(q * x)


def view_by_view_method(x):
    q = x * 2.0
    r = q.view()
    r *= 0.5
    return np.sum(q * x)


# more of 3: the base written while a view is read; views of views; views by a bare name; copies

def view_base_written(x):
    q = x * 2.0
    r = q.T
    q *= 0.5
    return np.sum(r.T * x)


def view_of_view(x):
    q = x * 2.0
    r = q.T.reshape(-1)
    r *= 0.5
    return np.sum(q * x)


def view_by_bare_name(x):
    q = x * 2.0
    r = transpose(q)
    r *= 0.5
    return np.sum(q * x)


def view_written_by_index(x):
    q = x * 2.0
    r = q.reshape(-1)
    r[0] = 0.5
    return np.sum(q * x)


def flatten_is_a_copy(x):
    q = x * 2.0
    r = q.flatten()
    r *= 0.5
    return np.sum(q * x) + np.sum(r)


def copies_written_in_place(x):
    a = x.copy()
    a[0] += 1.0
    out = x * 2.0
    out *= 3.0
    b = np.zeros(x.shape)
    for i in range(x.shape[0]):
        b[i] = a[i] * x[i]
    return np.sum(out * a) + np.sum(b)


# -- 4. an indexed write whose value reads a view of the array written -----------

def write_reads_view_of_itself(x):
    out = x * 1.0
    for j in range(2):
        out[j] = math.tanh(np.var(out[::1]))
    return np.sum(out)


def write_reads_row_of_itself(x):
    out = x * 1.0
    for j in range(1, 3):
        out[j] = np.sin(out[j - 1] * out[0])
    return np.sum(out)


# -- 5. the array a for loop iterates over, updated in place inside the loop -----

def loop_over_array_updated_in_place(x):
    u = x * 1.0
    s = 0.0
    for a in u:
        u *= 0.5
        s = s + a
    return s


def loop_over_view_updated_in_place(x):
    u = x * 1.0
    s = 0.0
    for a in u.T:
        u *= 0.5
        s = s + np.sum(a)
    return s


# -- 6. callables without a rule must not give silent zeros ----------------------

def uses_r_(x):
    y = np.r_[x, x]
    return np.sum(y ** 2)


def uses_c_(x):
    y = np.c_[x, x]
    return np.sum(np.sin(y))


def uses_einsum_sublists(x):
    y = np.einsum(x, (0, 1), (1, 0))
    return np.sum(y ** 3)


# -- 8. a reduction feeding two uses ---------------------------------------------

def sum_feeds_two_uses(A):
    s = np.sum(A, axis=0)
    t = np.sum(s)
    return np.sum(s * t)


def mean_feeds_two_uses(A):
    s = np.mean(A, axis=0)
    t = np.sum(s)
    return np.sum(s * t)


def normalised_column_sums(A):
    s = np.sum(A, axis=0)
    u = s / (1 + np.sum(s ** 2))
    return np.sum(u * u)


# -- 9. derivatives that are 0 at a singular point, not nan or an exception ------

def std_of_one(x):
    return np.std(x)


def var_of_one(x):
    return np.var(x)


def power(x, p):
    return x ** p


# -- 10. a zero adjoint reaching a shape-sensitive helper ------------------------

def unused_on_branch_taken(A, x):
    d = np.full(3, 1.5) * A
    if x > 0:
        return x * x
    return np.sum(d) * x


def axis_reduction_unused_on_branch_taken(A, x):
    m = np.mean(A, axis=1)
    if x > 0:
        return x * x
    return np.sum(m) * x


def where_then_indexed_write(A, x):
    y = np.where(A > 0, A, 0.0 * A)
    y[0] = x
    return np.sum(y * y)


# -- 11. an outer product summed over an axis ------------------------------------

def outer_sum_axis(x):
    return np.sum(np.outer(x, np.ones(2)).sum(axis=0) * x)


# -- 12. a list read both by a NumPy function and by indexing --------------------

def list_read_twice(x):
    xs = [x, 2 * x]
    return np.sum(xs) + xs[0]


def list_read_twice_array(x):
    xs = [x, 2 * x]
    return np.sum(np.sum(xs) + xs[0])


# -- 13. (forward mode) a parameter outside wrt rebound to an active value -------

def rebinds_inactive_parameter(x, y):
    y = y * x
    return y * x


def _scale(a, b=1.0):
    b = b * a
    return b


def calls_helper_rebinding_default(x):
    return _scale(x) * _scale(x, 3.0)


# -- 14. variables whose derived names would be keywords or builtins -------------

def keyword_tangent_names(x):
    el = x * x
    ef = el + x
    return ef * el


def builtin_tangent_names(x):
    ir = x * 2.0
    ict = ir * x
    ivmod = ict + ir
    nd = ivmod * x
    ase = nd - x
    return ase * ir


# -- 15. einsum with an ellipsis; column_stack of one array ----------------------

def einsum_ellipsis(x, y):
    return np.sum(np.einsum('...i,...i->...', x, y) ** 2)


def column_stack_one(x):
    return np.sum(np.column_stack([x]) ** 2)


# -- also: augmented assignment to the loop variable over an array's numbers -----

def augments_loop_variable(v, x):
    s = 0.0
    for el in v:
        el += 1.0
        s = s + el * x
    return s


def augments_loop_variable_rows(m, x):
    s = 0.0
    for row in m:
        row += 1.0
        s = s + np.sum(row) * x
    return s


def augments_loop_variable_list(x):
    s = 0.0
    for el in [x, 2.0 * x, 3.0 * x]:
        el *= x
        s = s + el
    return s


# -- also: a joined array's element updated in place (a join is an array, not a list) --

def joined_then_element_updated(x, y):
    a = np.vstack([x * 2.0, y])
    a[-1, 0] *= 3.0
    return np.sum(a * a)

# == fuzzer finds (python -m tests.fuzz: seed/index of the program it came from) ==

# -- a zero adjoint through an elementwise rule with a narrower operand -----------
# (seed 1: 179, 218, 945) z's adjoint is the zero 0.0 on the path taken; 0.0 / (1 + v ** 2)
# has v's shape (3,), narrower than x's (2, 3).

def zero_adjoint_meets_narrower_operand(x, v):
    z = x / (1.0 + v ** 2)
    if np.sum(v) > 100.0:
        return np.sum(z)
    return np.sum(v)


def zero_adjoint_meets_keepdims(x, y):
    y = y * np.std(y, keepdims=True)
    if x > 100.0:
        return np.sum(y)
    return x * x


# -- a negative number folded by a pass, printed without parentheses -------------
# (seed 1: 683) the backward sweep read `x_bar * -1.5 ** 2`: -2.25, not 2.25.

def negative_constant_to_a_power(x, y):
    for i in range(1):
        x = x * (-1.5) ** 2
    if y > 0.0:
        y = y * 2.0
    return x + y


# -- a write into an array while another name holds a view of it -----------------
# (seed 1: 87, 591) `c = a[:, 1]` (or `a[1]` of a matrix) is a view; the write into `a` changes c,
# which the backward sweep did not follow.

def write_into_base_of_sliced_view(x):
    a = x * np.ones((2, 3))
    c = a[:, 1]
    a[1, 1] = x * x
    return np.sum(c)


def write_into_base_of_row_view(x):
    a = x * np.ones((2, 3))
    c = a[1]
    a[1, 1] += x * x
    return np.sum(c)


def index_bound_after_last_write(x):
    a = x * np.ones((2, 3))
    a[1, 1] = x * x
    c = a[1]
    return np.sum(c)


# -- also: an element kept in a name while the array is written (a copy, checked when the program runs) --

def recurrence_keeps_previous_element(x):
    y = np.zeros(4)
    y[0] = x
    for i in range(1, 4):
        prev = y[i - 1]
        y[i] = np.sin(prev) + x
    return np.sum(y)


# -- a tangent that is the tangent of an array written later (forward mode) -----------------
# (seed 3: 506) `b = a - y` has the tangent `add(da, -dy)`, which is `da` itself while `dy` is zero; the
# write `da[1] = ...` mirroring `a[1] = ...` then changed `db` too.

def tangent_shares_written_tangent(x, y):
    a = np.full((2,), x)
    b = a - y
    a[1] = np.sum(a)
    return np.sum(b)


# -- the invariant checker: one branch test printed the same from two trees ------------------
# (seed 2: 26 and 20 more) the forward sweep's `if -0.97 > t5:` held `-(0.97)`, the backward sweep's a
# folded `-0.97`; the checker compared trees, not tests, and reported a name read on an untaken path.

def negative_constant_in_nested_test(x):
    if np.max(x) > 0.41:
        if -0.97 > 0.7 - x[1]:
            x = x * x[-2]
        elif x[0] < 0.33:
            a = 1.0
    return np.sum(x)


# -- a write into the item a `for` loop is bound to -------------------------------------------
# (seed 3: 883) `row` is a view of a row of `b`: the write changes `b`, which sct did not follow.

def write_into_loop_item(x):
    b = np.zeros((3, 2))
    for row in b:
        row[1] = np.mean(x)
    return np.mean(b)


# -- a helper that returns its argument --------------------------------------------------------
# (found beside seed 3: 506) `b = same(a)` is `a`; the write into `a` changed `b`, which the backward
# sweep did not follow.

def _same(a):
    return a


def write_after_helper_returned_argument(x):
    a = x * 2.0
    b = _same(a)
    a[1] = 7.0
    return np.sum(b)


# -- the invariant checker: one branch test at two places ----------------------------------------
# (seed 4: 121) `if returned:` inside the loop (to break) and after it; (seed 4: 387) `elif i > 0:` twice,
# nested.  The checker knew only the first occurrence's names, so the backward sweep's copy of the other
# read names "never assigned".

def return_flag_tested_twice(x, y):
    i = 0
    while True:
        for el in x:
            return x[-2:] @ y[:, i]
    x = x[i] + 0.93


def same_test_nested(x, i):
    if x < 0.46:
        pass
    elif i > 0:
        pass
    elif i > 0:
        pass
    else:
        x = np.max(x)
    return x


# -- a helper's result written into (forward mode) -----------------------------------------------
# (seed 4: 421) the helper's tangent was `expand(...)`, a read-only broadcast: `da[0] = ...` raised.

def _filled(a, n):
    return np.full((2,), np.sum(a))


def write_into_helper_result(x, y):
    a = _filled(x, 3)
    a[-2,] = y
    return np.sum(a)


# -- a comparison seeded by one (reverse mode) ---------------------------------------------------
# (seed 4: 432) the adjoint `1.0 * (y < t)` of max's second argument was folded to `y < t`, a bool,
# which the subtraction's adjoint then negated: NumPy raises on `-` of a bool.

def max_of_number_and_difference(x, y):
    return max(y, 0.95 - np.sum(x))


# -- an unnecessary refusal lifted: np.where of an array comparison is an array --------------------
# (seed 2: 83 and others) a comparison had no kind, so `np.where(...)` neither, and `a[1, 1] += y` was
# refused as a write into "a list whose element is not a number".

def where_of_comparison_updated(y):
    a = np.where(y * np.ones((3, 3)) > 0.5, y * np.ones((3, 3)), 0.5)
    a[1, 1] += y
    return np.sum(a)


# (seed 6: 116) `array * b` with `b` of unknown kind (here a helper's result) is an array all the same

def _twice(v):
    return [v, v]


def array_times_unknown_updated(y):
    b = np.ones(3) * _twice(y)[0]
    b[0] += b[1]
    return np.sum(b)


# -- an unnecessary refusal lifted: an array written into, then stored in a tuple ------------------
# (issue 15, ADBench's LSTM) `new_state[i] = hidden` before `return y, new_state` was refused as a write
# through two names; the writes all ran before the tuple was built, so it holds the final value.

def _step_state(state, x):
    new_state = state.copy()
    for i in range(state.shape[0]):
        new_state[i] = np.tanh(state[i] * x[i])
    return x * new_state[0], new_state


def written_then_stored_in_tuple(state, x):
    total = 0.0
    for _ in range(3):
        x, state = _step_state(state, x)
        total = total + np.sum(x * state[1:3]) + np.sum(state)
    return total


def written_then_stored_in_list(x):
    s = x.copy()
    s[0] = s[0] * x[1]
    held = [s, x]
    held.append(s)
    return np.sum(held[0] * held[1]) + np.sum(held[2] ** 2)


# ... and what stays refused: a write after the store (later in the source, in the same statement, or in a
# loop around both) changes what the container holds, which sct would not follow.

def stored_then_written(x):
    s = x.copy()
    held = (s, x)
    s[0] = 5.0
    return np.sum(held[0] * held[1])


def stored_and_written_in_one_statement(x):
    s = x.copy()
    s[0] = np.sum(_first((s, x)) * x)
    return np.sum(s)


def _first(pair):
    return pair[0]


def written_in_loop_around_store(x):
    s = x.copy()
    out = []
    for i in range(3):
        s[i] = x[i] * 2.0
        out.append(s)
    return np.sum(out[0] * x)
