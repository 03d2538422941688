"""Transformation time grows linearly with the program (bench/transform.py measures it; no timings here).

A 2,000-statement straight-line function is differentiated in reverse mode and
checked against finite differences (it used to take minutes: several passes
re-walked every later statement for each one); and the generated text of
programs of every shape the benchmark builds is pinned by hash, since the
speed-ups must not change a byte of it.
"""
import hashlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import sct
from sct.testing import numerical_grad

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/ is not an installed package

from bench.transform import program  # noqa: E402


def _long_function(n: int, directory: Path):
    """f(x, y) of n scalar statements, each reading two earlier values; values and derivatives stay O(1)."""
    lines, names = ["import math", "", "", "def f(x, y):", "    a = x * y"], ["a"]
    for i in range(n):
        a, b = names[i % len(names)], names[(i * 7 + 3) % len(names)]
        lines.append([f"    v{i} = math.sin({a}) * 0.6 + {b} * 0.3",
                      f"    v{i} = math.cos({a}) * {b} * 0.5 + y * 0.1",
                      f"    v{i} = {a} * 0.5 - math.sin({b}) * 0.4 + x * 0.05"][i % 3])
        names.append(f"v{i}")
    lines.append(f"    return {names[-1]} + {names[len(names) // 2]}")
    path = directory / f"long_{n}.py"
    path.write_text("\n".join(lines) + "\n")
    spec = importlib.util.spec_from_file_location(f"long_{n}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def test_two_thousand_statements_reverse_mode(tmp_path):
    f = _long_function(2000, tmp_path)
    args = (0.3, 0.4)
    got = sct.grad(f, wrt=(0, 1))(*args)
    expected = numerical_grad(f, args, wrt=(0, 1))
    assert np.all(np.abs(expected) > 1e-3)  # (the test means something: the derivatives are not zero)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


# sha256 (first 16 hex digits) of sct.source(grad(f, wrt=(0, 1), mode=...), 0.3, 0.4) for bench.transform's
# programs, as generated before the transformation was made linear.  To accept an intended change of the
# generated code, print the new hashes: python -c "from tests.test_transform_time import current; current()"
PINNED = {
    ('branches', 30, 'forward'): '909cc4c370063789',
    ('branches', 30, 'reverse'): '7a0b7afc06a4dd09',
    ('helpers', 20, 'forward'): '9e22178985f6e24e',
    ('helpers', 20, 'reverse'): 'bbd679e47ba999ba',
    ('lists', 20, 'forward'): '74b692cf43f61854',
    ('lists', 20, 'reverse'): '01d5c8b0661cab5d',
    ('loop', 20, 'forward'): '6688aaf37a7616b5',
    ('loop', 20, 'reverse'): '8e020825356fbee3',
    ('straight', 60, 'forward'): '104bac4cc9e4e170',
    ('straight', 60, 'reverse'): '53cfc9c82649be8b',
}


def _digest(shape, n, mode, directory) -> str:
    g = sct.grad(program(shape, n, str(directory)), wrt=(0, 1), mode=mode)
    return hashlib.sha256(sct.source(g, 0.3, 0.4).encode()).hexdigest()[:16]


@pytest.mark.parametrize("shape, n, mode", sorted(PINNED))
def test_generated_text_unchanged(shape, n, mode, tmp_path):
    assert _digest(shape, n, mode, tmp_path) == PINNED[shape, n, mode]


def current():
    import tempfile
    directory = tempfile.mkdtemp()
    for key in sorted(PINNED):
        print(f"    {key!r}: {_digest(*key, directory)!r},")
