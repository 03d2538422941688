"""One test per pass: names, parse, normalize, analysis, optimize, codegen."""
import ast

import gast
import numpy as np

from sct import codegen, fence, syntax as S
from sct.analysis import SCALAR, analyze
from sct.context import Context
from sct.names import Namer
from sct.normalize import normalize
from sct.optimize import (accumulate_in_place, drop_dead, join_slice_adjoints, move_scales, propagate_copies,
                          sink_zeros)
from sct.parse import parse_function

from programs import passes


def _normalized(fn):
    parsed = parse_function(fn)
    fence.check(parsed)
    ctx = Context.create(parsed)
    return ctx, normalize(ctx)


def _text(stmts):
    tree = gast.gast_to_ast(gast.Module(body=stmts, type_ignores=[]))
    return ast.unparse(ast.fix_missing_locations(tree))


def test_namer_is_deterministic_and_avoids_user_names():
    namer = Namer({"x", "dx", "t1", "x_bar"})
    assert namer.tangent("x") == "dx_1"
    assert namer.adjoint("x") == "x_bar_1"
    assert namer.tangent("x") == "dx_1"  # stable
    assert namer.temp() == "t2"
    assert namer.fresh("tape") == "tape" and namer.fresh("tape") == "tape_1"


def test_parse_locates_nodes_in_the_users_file():
    parsed = parse_function(passes.three_address)
    assert parsed.node.name == "three_address"
    assert parsed.filename.endswith("passes.py")
    ret = parsed.node.body[-1]
    assert "return z" in parsed.location(ret).text


def test_normalize_produces_three_address_form():
    ctx, body = _normalized(passes.three_address)
    text = _text(body)
    assert text.splitlines() == [
        "t1 = x * y",
        "t2 = math.sin(x)",
        "t3 = t2 / y",
        "z = t1 + t3",
        "t4 = z + 1.0",
        "z = t4",
        "return z",
    ]


def test_normalize_moves_exits_to_the_ends_of_their_paths():
    ctx, body = _normalized(passes.exits)
    text = _text(body)
    assert "continue" not in text  # a continue at the end of a path is a fall-through
    assert "returned = True" in text and "break" in text  # return inside a loop: flag and break
    for node in gast.walk(gast.Module(body=body, type_ignores=[])):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                for stmt in block[:-1]:
                    assert not isinstance(stmt, (gast.Return, gast.Break, gast.Continue))


def test_activity_is_varied_and_useful():
    ctx, body = _normalized(passes.activity)
    result = analyze(ctx, body, ["x"], {"x": SCALAR, "y": SCALAR, "n": SCALAR})
    assert {"x", "a"} <= result.active
    assert "b" not in result.active and "c" not in result.active and "k" not in result.active
    assert result.kinds["a"] == SCALAR


def test_sink_zeros_folds_the_initialisation_into_the_first_use():
    stmts = [S.assign("a_bar", S.const(0.0)), S.assign("a_bar", S.add(S.name("a_bar"), S.name("g"))),
             S.assign("b_bar", S.const(0.0)), S.ret(S.name("a_bar"))]
    out = sink_zeros(stmts, {"a_bar", "b_bar"})
    assert _text(out).splitlines() == ["a_bar = g", "return a_bar"]


def test_copies_propagate_and_dead_adjoints_disappear():
    stmts = [S.assign("t_bar", S.name("g_bar")), S.assign("x_bar", S.binop(S.name("t_bar"), gast.Mult(), S.name("y"))),
             S.assign("u_bar", S.name("x_bar")), S.ret(S.name("x_bar"))]
    out = propagate_copies(stmts, {"t_bar", "x_bar", "u_bar", "g_bar"})
    out, _ = drop_dead(out, {"t_bar", "x_bar", "u_bar"}, set())
    assert _text(out).splitlines() == ["x_bar = g_bar * y", "return x_bar"]


def test_constant_factors_move_to_the_smallest_array():
    cases = {
        # factors multiply out and go inside the widening call (a pass over the small array)
        "a = unbroadcast(unreduce(-unbroadcast(g, t) * 0.5, s, 2, False) * 2 * q, q)":
            "a = unbroadcast(unreduce(-unbroadcast(g, t), s, 2, False) * q, q)",
        "a = unreduce(g, s, None, False) * 2 * x": "a = unreduce(g * 2, s, None, False) * x",
        # out of a narrowing call when there is no widening one
        "a = unbroadcast(g * 0.5, x)": "a = unbroadcast(g, x) * 0.5",
        "a = unbroadcast(-g, x) * 3": "a = -(unbroadcast(g, x) * 3)",
        # other calls are boundaries; their operands are rewritten on their own
        "a = f(unreduce(g, x) * 2) * 3": "a = f(unreduce(g * 2, x)) * 3",
        "a = x_bar - t * y": "a = x_bar - t * y",
        "a = -(-unbroadcast(g, x))": "a = unbroadcast(g, x)",
        # two minus signs cancel, also with no call to move past
        "a = -(-(g * t / s) * t2)": "a = g * t / s * t2",
        "a = -(g * t)": "a = -(g * t)",
    }
    for before, after in cases.items():
        stmts = gast.parse(before).body
        assert _text(move_scales(stmts, {"unreduce"}, {"unbroadcast"})) == after


def test_adjoints_of_slices_read_in_a_row_are_joined_in_one_call():
    """``join_slice_adjoints``: a chain of ``add_into`` of slices from 0.0 becomes one ``join_slices`` where the
    last link was (pieces in the forward sweep's order), as long as nothing reads the adjoint or rebinds
    what a link read in between."""
    def run(before):
        namer = Namer()
        stmts = gast.parse(before).body
        return _text(join_slice_adjoints(stmts, {"add_into"}, {"np"}, lambda: S.name("join_slices"),
                                         lambda: S.name("join_items"), namer.fresh))

    cases = {
        # pieces with names stay where they were computed; an expression gets a name (a_part) in place
        "a = add_into(0.0, x, np.s_[b:], g)\nh = f(y)\na = add_into(a, x, np.s_[0:b], h)":
            "h = f(y)\na = join_slices(x, (0, b, b, None), (h, g))",
        "a = add_into(0.0, x, np.s_[b:], g * 2)\nh = f(y)\na = add_into(a, x, np.s_[:b], h * 3)":
            "a_part = g * 2\nh = f(y)\na = join_slices(x, (None, b, b, None), (h * 3, a_part))",
        # a read of the adjoint, or a new value of a bound, the array or a piece, ends the chain there
        "a = add_into(0.0, x, np.s_[2:], g)\nk = a\na = add_into(a, x, np.s_[:2], h)":
            "a = add_into(0.0, x, np.s_[2:], g)\nk = a\na = add_into(a, x, np.s_[:2], h)",
        "a = add_into(0.0, x, np.s_[b:], g)\nb = 3\na = add_into(a, x, np.s_[:b], h)":
            "a = add_into(0.0, x, np.s_[b:], g)\nb = 3\na = add_into(a, x, np.s_[:b], h)",
        "a = add_into(0.0, x, np.s_[2:], g)\nx = tape.pop()\na = add_into(a, x, np.s_[:2], h)":
            "a = add_into(0.0, x, np.s_[2:], g)\nx = tape.pop()\na = add_into(a, x, np.s_[:2], h)",
        "a = add_into(0.0, x, np.s_[2:], g)\ng = g * 2\na = add_into(a, x, np.s_[:2], h)":
            "a = add_into(0.0, x, np.s_[2:], g)\ng = g * 2\na = add_into(a, x, np.s_[:2], h)",
        "a = add_into(0.0, x, np.s_[2:], g)\na = add_into(a, x, np.s_[:2], a)":
            "a = add_into(0.0, x, np.s_[2:], g)\na = add_into(a, x, np.s_[:2], a)",
        # only slices of the first axis without a step, of one array, from 0.0, in one block
        "a = add_into(0.0, x, np.s_[:, 2:], g)\na = add_into(a, x, np.s_[:, :2], h)":
            "a = add_into(0.0, x, np.s_[:, 2:], g)\na = add_into(a, x, np.s_[:, :2], h)",
        "a = add_into(0.0, x, np.s_[::2], g)\na = add_into(a, x, np.s_[1::2], h)":
            "a = add_into(0.0, x, np.s_[::2], g)\na = add_into(a, x, np.s_[1::2], h)",
        "a = add_into(0.0, x, np.s_[2:], g)\na = add_into(a, y, np.s_[:2], h)":
            "a = add_into(0.0, x, np.s_[2:], g)\na = add_into(a, y, np.s_[:2], h)",
        "a = add_into(a, x, np.s_[2:], g)\na = add_into(a, x, np.s_[:2], h)":
            "a = add_into(a, x, np.s_[2:], g)\na = add_into(a, x, np.s_[:2], h)",
        "a = add_into(0.0, x, np.s_[2:], g)\nif c:\n    pass\na = add_into(a, x, np.s_[:2], h)":
            "a = add_into(0.0, x, np.s_[2:], g)\nif c:\n    pass\na = add_into(a, x, np.s_[:2], h)",
        # the items 0, ..., n - 1 of a tuple, each read once (h, c = cell(...)): the list of their adjoints
        "a = add_into(0.0, t, 1, c_bar)\nc = tape.pop()\na = add_into(a, t, 0, h_bar)":
            "c = tape.pop()\na = join_items(t, (h_bar, c_bar))",
        "a = add_into(0.0, t, 1, g * 2)\na = add_into(a, t, 0, h)":
            "a_part = g * 2\na = join_items(t, (h, a_part))",
        # an item twice, an item missing, slices and items mixed: added one by one
        "a = add_into(0.0, t, 1, g)\na = add_into(a, t, 1, h)": "a = add_into(0.0, t, 1, g)\na = add_into(a, t, 1, h)",
        "a = add_into(0.0, t, 2, g)\na = add_into(a, t, 0, h)": "a = add_into(0.0, t, 2, g)\na = add_into(a, t, 0, h)",
        "a = add_into(0.0, t, 1, g)\na = add_into(a, t, np.s_[:1], h)":
            "a = add_into(0.0, t, 1, g)\na = add_into(a, t, np.s_[:1], h)",
        # inside a loop's body: a chain of its own
        "for i in r:\n    a = add_into(0.0, x, np.s_[i:], g)\n    a = add_into(a, x, np.s_[:i], h)":
            "for i in r:\n    a = join_slices(x, (None, i, i, None), (h, g))",
    }
    for before, after in cases.items():
        assert run(before) == after, before


def test_slice_adjoints_accumulate_in_place_only_where_nothing_else_holds_the_adjoint():
    into = lambda: S.name("add_into")
    cases = {
        # a chain from 0.0: one buffer
        "a = add_at(0.0, x, 0, g)\na = add_at(a, x, 1, h)":
            "a = add_into(0.0, x, 0, g)\na = add_into(a, x, 1, h)",
        # a read in between may keep a reference (b is a): a new array after it
        "a = add_at(0.0, x, 0, g)\nb = a\na = add_at(a, x, 1, h)":
            "a = add_into(0.0, x, 0, g)\nb = a\na = add_at(a, x, 1, h)",
        "a = add_at(0.0, x, 0, g)\na = add_at(a, x, 1, a)": "a = add_into(0.0, x, 0, g)\na = add_at(a, x, 1, a)",
        "b = add_at(0.0, x, 0, g)\na = add_at(0.0, x, 1, (b := h))\nb = add_at(b, x, 1, g)":
            "b = add_into(0.0, x, 0, g)\na = add_into(0.0, x, 1, (b := h))\nb = add_at(b, x, 1, g)",
        # an adjoint from elsewhere (a parameter, a sum) is not ours to write into
        "a = add_at(a, x, 0, g)": "a = add_at(a, x, 0, g)",
        "a = a + g\na = add_at(a, x, 0, g)": "a = a + g\na = add_at(a, x, 0, g)",
        # around a loop: only if every iteration leaves it ours
        "a = 0.0\nfor i in r:\n    a = add_at(a, x, i, g)":
            "a = 0.0\nfor i in r:\n    a = add_into(a, x, i, g)",
        "a = 0.0\nfor i in r:\n    a = add_at(a, x, i, g)\n    tape.append(a)":
            "a = 0.0\nfor i in r:\n    a = add_at(a, x, i, g)\n    tape.append(a)",
        "a = 0.0\nfor i in r:\n    if c:\n        continue\n    a = add_at(a, x, i, g)":
            "a = 0.0\nfor i in r:\n    if c:\n        continue\n    a = add_into(a, x, i, g)",
        "a = 0.0\nfor i in r:\n    a = add_at(a, x, i, g)\n    if c:\n        b = a\n        continue":
            "a = 0.0\nfor i in r:\n    a = add_at(a, x, i, g)\n    if c:\n        b = a\n        continue",
        # paths join: ours only if ours on both
        "a = add_at(0.0, x, 0, g)\nif c:\n    b = a\na = add_at(a, x, 1, h)":
            "a = add_into(0.0, x, 0, g)\nif c:\n    b = a\na = add_at(a, x, 1, h)",
    }
    for before, after in cases.items():
        stmts = gast.parse(before).body
        assert _text(accumulate_in_place(stmts, {"add_at"}, into)) == after, before


def test_codegen_renders_comments_and_loads_through_linecache():
    fn = S.function_def("h", gast.arguments(args=[S.name("x", gast.Param)], posonlyargs=[], vararg=None,
                                                       kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
                          [codegen.comment("a note"), S.ret(S.binop(S.name("x"), gast.Mult(), S.const(2)))])
    text = codegen.render(fn)
    assert text == "def h(x):\n    # a note\n    return x * 2\n"
    h, _ = codegen.load(text, "h", {}, {})
    assert h(np.float64(3.0)) == 6.0
    import inspect
    assert inspect.getsource(h) == text


# -- the fast paths of the transformation (issue 14) agree with the library functions they replace ----------

_SAMPLE = '''
def f(x, y: float = -1.5, *args, k=STEP, **kw):
    """doc"""
    a, b = x * -2, [y, -0.0]
    for i in range(3):
        if a < b[0] and not x:
            a = a ** -1 - np.sum(b[1:i], axis=0)
        else:
            del a
    with np.errstate(all="ignore") as e:
        c = {"u": a, **kw} if x else lambda t: t + G
    try:
        d = [v for v in args if v > 0]
    except ValueError as err:
        d = -x
    return f"{a!r:>4}" + c(d)[..., None].T
'''


def test_syntax_name_searches_agree_with_a_walk():
    tree = gast.parse(_SAMPLE)
    for node in S.walk(tree):
        every = [n for n in ast.walk(node) if isinstance(n, gast.Name)]
        assert S.loads(node) == {n.id for n in every if isinstance(n.ctx, gast.Load)}
        assert S.stores(node) == {n.id for n in every if isinstance(n.ctx, (gast.Store, gast.Param))}
        assert S.loads_and_stores(node) == (S.loads(node), S.stores(node))
        assert sorted(S.name_list(node, gast.Load)) == sorted(n.id for n in every if isinstance(n.ctx, gast.Load))
        assert list(S.names_in(node)) == [n.id for n in ast.walk(node) if isinstance(n, gast.Name)]
        leaves = (gast.expr_context, gast.operator, gast.unaryop, gast.cmpop, gast.boolop)
        assert list(S.walk(node)) == [n for n in ast.walk(node) if not isinstance(n, leaves)]


def test_syntax_clone_and_substitute_copy_the_tree():
    tree = gast.parse(_SAMPLE)
    copy = S.clone(tree)
    assert ast.dump(gast.gast_to_ast(copy)) == ast.dump(gast.gast_to_ast(tree))
    assert not {id(n) for n in S.walk(copy)} & {id(n) for n in S.walk(tree)}
    replaced = S.substitute(tree, {"a": S.name("z")})
    expected = _SAMPLE.replace("a < b", "z < b").replace("a ** -1", "z ** -1").replace('"u": a', '"u": z') \
        .replace("{a!r", "{z!r")
    assert ast.dump(gast.gast_to_ast(replaced)) == ast.dump(gast.gast_to_ast(gast.parse(expected)))


def test_codegen_renders_as_gasts_own_conversion_does():
    # negative numbers (as passes fold them) in plain expressions, a default value and a lambda
    tree = S.substitute(gast.parse(_SAMPLE), {"b": S.const(-3), "STEP": S.const(-1), "G": S.const(-2.5)})
    reference = codegen._NegativeConstants().visit(gast.gast_to_ast(S.clone(tree)))
    assert codegen.render(tree.body[0]) == ast.unparse(ast.fix_missing_locations(reference)) + "\n"


def test_codegen_reads_global_loads_off_the_bytecode_as_dis_does():
    import dis

    def reference(code):
        names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
        for const in code.co_consts:
            if hasattr(const, "co_code"):
                names |= reference(const)
        return names

    many = "def g():\n" + "".join(f"    v{i} = G{i}\n" for i in range(300))  # (EXTENDED_ARG)
    for text in (_SAMPLE, many, "N = 3\ndef h(x, n=N):\n    return [x + M for _ in range(n)]\n"):
        code = compile(text, "<test>", "exec")
        assert codegen._global_reads(code) == reference(code)
