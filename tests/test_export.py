"""sct.export and ``python -m sct``: derivative programs as files that run where sct is not installed.

The exported modules run in a subprocess of an isolated interpreter (``-I -S``)
whose ``sys.path`` holds the standard library, the output directory and a
directory with nothing but NumPy in it: ``import sct`` and ``import gast`` fail
there (checked), so any dependency on sct the file kept would show.
"""
import builtins
import inspect
import os
import subprocess
import sys
import textwrap
import types

import gast
import numpy as np
import pytest

import sct
from sct import exportable
from sct.rules import REGISTRY
from examples import lecture
from examples.gmm import model
from programs import control_flow as cf

EXPORT = sys.modules["sct.export"]  # (the module; sct.export is the function)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory):
    """A directory holding only NumPy (links to its installed package and bundled libraries)."""
    where = tmp_path_factory.mktemp("numpy_only")
    site = os.path.dirname(os.path.dirname(np.__file__))
    for name in os.listdir(site):
        if name == "numpy" or name.startswith("numpy.libs") or name == "numpy-" or name.startswith(".numpy"):
            os.symlink(os.path.join(site, name), where / name)
    return str(where)


def run_isolated(numpy_only: str, directory, script: str) -> dict:
    """Run ``script`` with only the stdlib, ``directory`` and NumPy importable; its ``results`` dict, as arrays."""
    prelude = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(directory)!r}, {numpy_only!r}]
        for name in ("sct", "gast"):
            try:
                __import__(name)
            except ImportError:
                pass
            else:
                raise SystemExit(name + " is importable: the test environment is not isolated")
        import numpy as np
        results = {{}}
    """)
    ending = f"\nnp.savez({str(directory / 'results.npz')!r}, **results)\n"
    done = subprocess.run([sys.executable, "-I", "-S", "-c", prelude + textwrap.dedent(script) + ending],
                          capture_output=True, text=True, cwd=str(directory), timeout=120)
    assert done.returncode == 0, done.stderr
    with np.load(directory / "results.npz") as data:
        return {k: data[k] for k in data.files}


def _gmm_args():
    rng = np.random.default_rng(3)
    K, D, N = 3, 2, 40
    return (rng.normal(size=K), rng.normal(size=(K, D)), 0.3 * rng.normal(size=(K, D)),
            0.3 * rng.normal(size=(K, D, D)), rng.normal(size=(N, D)))


# (module name, function, mode, wrt, example args)
CASES = [
    ("lecture_grad", lecture.f, "reverse", (0, 1), (0.7, -1.3)),
    ("lecture_jvp", lecture.f, "forward", (0, 1), (0.7, -1.3)),
    ("newton_grad", lecture.newton_sqrt, "reverse", 0, (2.0,)),
    ("gmm_loop_grad", model.loglik_loop, "reverse", (0, 1, 2, 3), _gmm_args()),
    ("gmm_vec_grad", model.loglik_vec, "reverse", ("means", "log_diag"), _gmm_args()),
    ("gmm_vec_vjp", model.loglik_vec, "vjp", ("logits", "lower"), _gmm_args()),
    ("gmm_vec_jvp", model.loglik_vec, "forward", ("means",), _gmm_args()),
    ("calls_grad", cf.calls, "reverse", (0, 1), (0.7, 0.4)),
    ("rec_grad", cf.rec, "reverse", 0, (0.7,)),
    ("lists_grad", cf.lists, "reverse", 0, (0.7,)),
    ("nested_grad", cf.nested_loops, "reverse", 0, (0.7,)),
    ("break_grad", cf.loop_break, "reverse", 0, (0.7,)),
    ("while_grad", cf.while_data, "reverse", 0, (0.7,)),
    ("zip_grad", cf.enumerate_zip, "reverse", (0, 1), (0.7, 0.4)),
    ("mathy_grad", cf.mathy, "reverse", (0, 1), (0.7, 0.4)),
    ("mathy_jvp", cf.mathy, "forward", (0, 1), (0.7, 0.4)),
    ("defaults_grad", cf.defaults, "reverse", (0, 1), (0.9, 2.0, 3)),
    ("lecture_batched", lecture.f, "batched", (0, 1), (0.7, -1.3)),
    ("gmm_vec_batched", model.loglik_vec, "batched", ("means", "log_diag"), _gmm_args()),
    ("nested_batched", cf.nested_loops, "batched", 0, (0.7,)),
    ("calls_batched", cf.calls, "batched", (0, 1), (0.7, 0.4)),
]


def _extra(mode, fn, wrt, args):
    """The tangents (forward) or the seed (vjp) a call of the exported program takes, by keyword."""
    derived = EXPORT.derive  # (the same cache sct.export uses)
    spec = sct.api._Spec.of(fn, wrt)
    bound = spec.bind(args, {})
    program = derived(fn, {"forward": "forward", "vjp": "reverse", "reverse": "gradient", "batched": "batched"}[mode],
                      spec.wrt, spec.kinds(bound))
    if mode == "forward":
        return program, {program.tangent_names[n]: np.ones_like(bound.arguments[n]) * 0.5 for n in spec.wrt}
    if mode == "batched":  # three directions: 0.5, -1 and 2 times ones
        scales = np.array([0.5, -1.0, 2.0])
        return program, {program.tangent_names[n]: scales.reshape((3,) + (1,) * np.ndim(bound.arguments[n]))
                         * np.ones_like(bound.arguments[n], dtype=float) for n in spec.wrt}
    if mode == "vjp":
        return program, {program.seed_name: 1.5}
    return program, {}


def test_exported_modules_run_without_sct_and_give_sct_numbers(tmp_path, numpy_only):
    script, expected = [], {}
    for name, fn, mode, wrt, args in CASES:
        text = sct.export(fn, tmp_path / f"{name}.py", mode=mode, wrt=wrt, example_args=args)
        program, extra = _extra(mode, fn, wrt, args)
        assert program.source in text  # the program's text, unchanged
        np.save(tmp_path / f"{name}_args.npy", np.array(args, dtype=object), allow_pickle=True)
        np.save(tmp_path / f"{name}_extra.npy", np.array([extra], dtype=object), allow_pickle=True)
        script.append(f"""
            import {name}
            args = tuple(np.load({name!r} + "_args.npy", allow_pickle=True))
            extra = np.load({name!r} + "_extra.npy", allow_pickle=True)[0]
            for i, r in enumerate({name}.{program.name}(*args, **extra)):
                results[{name!r} + str(i)] = np.asarray(r, dtype=float)
        """)
        for i, r in enumerate(program.fn(*args, **extra)):
            expected[name + str(i)] = np.asarray(r, dtype=float)
    got = run_isolated(numpy_only, tmp_path, "\n".join(textwrap.dedent(s) for s in script))
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-13, atol=1e-13, err_msg=key)


def test_exported_gradient_matches_the_api_and_finite_differences(tmp_path, numpy_only):
    args = _gmm_args()
    sct.export(model.loglik_vec, tmp_path / "gmm_grad.py", wrt=(0, 1, 2, 3), example_args=args)
    np.save(tmp_path / "args.npy", np.array(args, dtype=object), allow_pickle=True)
    got = run_isolated(numpy_only, tmp_path, """
        import gmm_grad
        out = gmm_grad.loglik_vec_grad(*np.load("args.npy", allow_pickle=True))
        results.update({f"g{i}": np.asarray(g) for i, g in enumerate(out)})
    """)
    value, grads = sct.value_and_grad(model.loglik_vec, wrt=(0, 1, 2, 3))(*args)
    assert got["g0"] == pytest.approx(value, rel=1e-13)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(got[f"g{i + 1}"], g, rtol=1e-12, atol=1e-12)
    x = args[1].copy()  # one finite-difference check of the exported numbers
    h = 1e-6
    x[0, 0] += h
    up = model.loglik_vec(args[0], x, *args[2:])
    x[0, 0] -= 2 * h
    down = model.loglik_vec(args[0], x, *args[2:])
    assert got["g2"][0, 0] == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_header_names_what_where_revision_and_options():
    text = sct.export(lecture.f, wrt=(0, 1), example_args=(0.7, -1.3))
    first = text.splitlines()[0]
    assert first == '"""f_grad: the gradient (reverse mode) of f, written by sct 0.1.0.'
    assert "Source: " in text and "lecture.py:10, function f, revision sha256:" in text
    assert "Options: mode=reverse, wrt=x1,x2, kinds: x1=scalar, x2=scalar" in text
    assert "Regenerate: python -m sct " in text
    assert "import sct" not in text and "from sct" not in text
    assert text == sct.export(lecture.f, wrt=(0, 1), example_args=(0.7, -1.3))  # deterministic


def test_export_of_a_function_sct_made_uses_its_wrt_and_mode():
    g = sct.grad(lecture.f, wrt=(1,))
    assert "def f_grad(x1, x2)" in sct.export(g, kinds={"x1": "scalar", "x2": "scalar"})
    assert "with respect to x2;" in sct.export(g)
    j = sct.jvp(lecture.f, wrt=(0, 1))
    assert "def f_jvp(x1, x2, *, dx1, dx2)" in sct.export(j)


def test_what_cannot_be_exported_is_refused_by_name():
    with pytest.raises(sct.ExportError, match="closure"):  # the joint mode's forward sweep calls the closure
        sct.export(sct.grad(cf.closure_user, calls="joint"), example_args=(0.7,))
    namespace = {"np": np, "THING": object()}
    exec("def uses_thing(x):\n    return x * len(THING.__class__.__name__)\n", namespace)  # noqa: S102
    with pytest.raises(sct.SourceError):
        sct.export(namespace["uses_thing"])  # (no source file: refused before export)
    with pytest.raises(sct.ArgumentError, match="mode"):
        sct.export(lecture.f, mode="sideways")
    for made in (sct.hessian(lecture.f), sct.jacobian(lecture.f), sct.hvp(lecture.f)):
        with pytest.raises(sct.ArgumentError, match="several sweeps"):
            sct.export(made)
    with pytest.raises(sct.ArgumentError, match="kind"):
        sct.export(lecture.f, kinds={"x1": "matrix"})


def test_module_constants_are_written_as_literals(tmp_path, numpy_only):
    source = tmp_path / "consts.py"
    source.write_text(textwrap.dedent("""
        import numpy as np
        SCALE = 2.5
        WEIGHTS = np.array([1.0, -2.0, 0.5])
        SHAPE = (3,)
        def weighted(x):
            return SCALE * np.sum(WEIGHTS * x ** 2) + len(SHAPE)
        def odd(x):
            return x * OPAQUE
        OPAQUE = type("Opaque", (), {"__mul__": lambda self, o: o, "__rmul__": lambda self, o: o})()
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import consts
    finally:
        sys.path.remove(str(tmp_path))
    x = np.array([0.3, -0.2, 1.0])
    out = tmp_path / "out"
    out.mkdir()
    text = sct.export(consts.weighted, out / "weighted_grad.py", example_args=(x,))
    assert "SCALE = 2.5" in text and "SHAPE = (3,)" in text
    np.save(out / "x.npy", x)
    got = run_isolated(numpy_only, out, """
        import weighted_grad
        results["g"] = weighted_grad.weighted_grad(np.load("x.npy"))[1]
    """)
    np.testing.assert_allclose(got["g"], sct.grad(consts.weighted)(x), rtol=1e-14)
    with pytest.raises(sct.ExportError, match="OPAQUE"):
        sct.export(consts.odd, example_args=(1.0,))


def test_command_line_writes_prints_and_specialises(tmp_path, numpy_only):
    env = dict(os.environ, PYTHONPATH=ROOT)
    model_path = os.path.join(ROOT, "examples", "gmm", "model.py")
    kinds = "logits=array,means=array,log_diag=array,lower=array,X=array"
    run = subprocess.run([sys.executable, "-m", "sct", f"{model_path}:loglik_vec", "--wrt", "means,log_diag",
                          "--mode", "reverse", "--kinds", kinds, "-o", str(tmp_path / "loglik_grad.py")],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "loglik_grad.py").read_text()
    assert "--wrt means,log_diag" in text and "specialised for X array" in text
    printed = subprocess.run([sys.executable, "-m", "sct", "examples/lecture.py:f", "--wrt", "x1,x2", "--forward",
                              "--print"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert printed.returncode == 0, printed.stderr
    assert "def f_jvp(x1, x2, *, dx1, dx2):" in printed.stdout
    assert not os.path.exists(os.path.join(ROOT, "f_jvp.py"))
    refused = subprocess.run([sys.executable, "-m", "sct", "tests/programs/control_flow.py:closure_user",
                              "--calls", "joint"],
                             capture_output=True, text=True, env=env, cwd=ROOT)
    assert refused.returncode == 1 and "ExportError" in refused.stderr and "closure" in refused.stderr
    args = _gmm_args()
    np.save(tmp_path / "args.npy", np.array(args, dtype=object), allow_pickle=True)
    got = run_isolated(numpy_only, tmp_path, """
        import loglik_grad
        _, results["m"], results["l"] = loglik_grad.loglik_vec_grad(*np.load("args.npy", allow_pickle=True))
    """)
    means_bar, log_diag_bar = sct.grad(model.loglik_vec, wrt=(1, 2))(*args)
    np.testing.assert_allclose(got["m"], means_bar, rtol=1e-12)
    np.testing.assert_allclose(got["l"], log_diag_bar, rtol=1e-12)


# ---------------------------------------------------------------- the registry of exportable helpers

def _names_rules_can_emit():
    """Every sct object a rule can put into generated code: free names of rule expressions, rules
    called as functions, primal stand-ins, the runtime."""
    found = {}
    for rule in list(REGISTRY.rules.values()):
        if (getattr(rule.primal, "__module__", "") or "").startswith("sct."):
            found[id(rule.primal)] = rule.primal
        for which in ("adjoint", "tangent"):
            parsed = rule.expressions(which)
            if parsed is None:
                continue
            if parsed.exprs is None:
                found[id(parsed.fn)] = parsed.fn
                continue
            for expr in filter(None, parsed.exprs):
                for node in gast.walk(expr):
                    if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) \
                            and node.id not in parsed.params:
                        obj = parsed.globals.get(node.id, getattr(builtins, node.id, None))
                        if (getattr(obj, "__module__", "") or "").startswith("sct."):
                            found[id(obj)] = obj
    for obj in list(REGISTRY.methods.values()) + list(REGISTRY.attributes.values()):
        if (getattr(obj, "__module__", "") or "").startswith("sct."):
            found[id(obj)] = obj
    for name in sct.runtime.__all__:
        found[id(getattr(sct.runtime, name))] = getattr(sct.runtime, name)
    return list(found.values())


def test_every_helper_generated_code_can_call_is_exportable():
    missing = [f"{o.__module__}.{o.__name__}" for o in _names_rules_can_emit() if exportable.dotted_name(o) is None]
    assert not missing, f"add to sct/exportable.py: {missing}"


def test_the_exportable_helpers_are_closed_and_importable():
    """Every helper generated code can call, and every global those read in turn, is listed."""
    todo, seen = list(_names_rules_can_emit()), set()
    while todo:
        obj = todo.pop()
        dotted = exportable.dotted_name(obj)
        if dotted is None or dotted in seen:
            continue
        seen.add(dotted)
        module_name, name = dotted.rsplit(".", 1)
        assert getattr(sys.modules[module_name], name) is obj
        if not isinstance(obj, types.FunctionType):
            continue
        assert inspect.getsource(obj)
        for read in EXPORT._reads(obj.__code__):
            target = obj.__globals__.get(read, getattr(builtins, read, None))
            assert target is not None, (dotted, read)
            ok = (getattr(builtins, read, None) is target or isinstance(target, types.ModuleType)
                  or exportable.dotted_name(target) is not None)
            assert ok, f"{dotted} reads {read}, which sct/exportable.py does not list"
            todo.append(target)
    assert len(seen) > 50


def test_a_name_needed_for_two_objects_is_refused_not_confused(tmp_path):
    source = tmp_path / "clash.py"
    source.write_text(textwrap.dedent("""
        def add(a, b):
            return a * b
        def uses_both(x):
            xs = [x, 2.0 * x]
            return add(xs[0], xs[1]) + sum(xs)
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        import clash
    finally:
        sys.path.remove(str(tmp_path))
    with pytest.raises(sct.ExportError, match="'add' for two different objects: the function clash.add"):
        sct.export(clash.uses_both, example_args=(0.5,))  # (sct's add_at calls its own add)
