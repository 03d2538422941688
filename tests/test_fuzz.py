"""sct on random user-style programs (tests/fuzz.py): no wrong gradient and no crash, in either mode.

A fast, fixed subset of what ``python -m tests.fuzz --n 10000 --seed S`` checks.  A failure message
names each failing program by (seed, index); ``python -m tests.fuzz --seed S --index I`` prints its
source, arguments and outcome, and ``--shrink`` reduces it to a few lines.
"""
import pytest

from fuzz import generate, run, value_semantics

SEEDS = [1, 2]
PROGRAMS_PER_SEED = 125
SIZE = 0.7  # programs a little shorter than the command line's, to keep this under 20 s


@pytest.mark.parametrize("seed", SEEDS)
def test_random_programs_are_differentiated_right_or_refused(seed):
    report = run(PROGRAMS_PER_SEED, seed, ("reverse", "forward"), size=SIZE, timeout=10.0)
    counts = report.counts
    assert counts[("primal", "primal-error")] <= PROGRAMS_PER_SEED // 20, report.summary()  # the generator works
    failures = [f"{r.program.seed}/{r.program.index} {mode}: {r.outcomes[mode].category} {r.outcomes[mode].group}"
                for r, mode in report.failures]
    assert not failures, "\n".join(failures) + "\n\n" + report.summary() + "\n\n" + report.describe_failures(2)


def test_programs_are_reproducible_from_seed_and_index():
    a, b = generate(7, 3), generate(7, 3)
    assert a.source == b.source and a.params == b.params
    assert [x.tolist() if hasattr(x, "tolist") else x for x in a.arguments()] == \
        [x.tolist() if hasattr(x, "tolist") else x for x in b.arguments()]
    assert generate(7, 4).source != a.source


def test_value_semantics_tells_needed_refusals_from_unneeded_ones():
    import numpy as np
    shared = "import numpy as np\ndef f(x):\n    y = x * 1.0\n    v = y.T\n    v *= 2.0\n    return np.sum(y)\n"
    dead = "import numpy as np\ndef f(x):\n    y = x * 1.0\n    v = y.T\n    y *= 2.0\n    return np.sum(y)\n"
    for source, same in ((shared, False), (dead, True)):
        plain, own = {}, {}
        exec(compile(source, "<plain>", "exec"), plain)
        exec(compile(value_semantics(source), "<own>", "exec"), own)
        x = np.arange(4.0).reshape(2, 2)
        assert bool(plain["f"](x.copy()) == own["f"](x.copy())) is same
