"""The generated source of the lecture's example is pinned, byte for byte, in both modes.

To accept an intended change: ``SCT_UPDATE_GOLDEN=1 pytest tests/test_golden.py``.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sct
from programs import control_flow as cf
from programs import lecture

GOLDEN = Path(__file__).parent / "golden"

PROGRAMS = {
    "lecture_forward.py": lambda: sct.source(sct.grad(lecture.f, wrt=(0, 1), mode="forward"), 0.7, -1.3),
    "lecture_reverse.py": lambda: sct.source(sct.grad(lecture.f, wrt=(0, 1)), 0.7, -1.3),
    "loop_break_reverse.py": lambda: sct.source(sct.grad(cf.loop_break), 0.5),
    "loop_break_forward.py": lambda: sct.source(sct.jvp(cf.loop_break), 0.5, 1.0),
    "newton_reverse.py": lambda: sct.source(sct.grad(cf.newton_sqrt), 2.0),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_generated_source_matches_golden(name):
    text = PROGRAMS[name]()
    path = GOLDEN / name
    if os.environ.get("SCT_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_lecture_forward_reads_like_the_dual_program():
    text = (GOLDEN / "lecture_forward.py").read_text()
    assert "t1 = x1 * x2\n    dt1 = dx1 * x2 + x1 * dx2" in text
    assert "dt2 = dx1 * math.cos(x1)" in text


def test_same_text_in_a_fresh_process_with_another_hash_seed():
    code = ("import sys; sys.path.insert(0, %r); import sct; from programs import lecture, control_flow as cf; "
            "print(sct.source(sct.grad(lecture.f, wrt=(0, 1)), 0.7, -1.3) + sct.source(sct.grad(cf.lists), 0.7))"
            % str(Path(__file__).parent))
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True).stdout)
    assert len(outputs) == 1
