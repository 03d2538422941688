"""The notebook runs from top to bottom (so it cannot rot), shows its figures, writes nothing."""
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gmm_notebook_executes_and_displays_every_figure(tmp_path):
    notebook = nbformat.read(ROOT / "notebooks" / "gmm_em_vs_gradient.ipynb", as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_path if env_path else "")
    try:
        client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    assert list(tmp_path.iterdir()) == []  # nothing written into the working directory
    figures = [c for c in notebook.cells if "figure" in c.metadata.get("tags", [])]
    assert len(figures) >= 2
    for cell in figures:
        kinds = {kind for o in cell.outputs for kind in o.get("data", {})}
        assert "image/png" in kinds, cell.source[:80]
    outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "sct's gradient matches finite differences" in outputs
    assert "def objective_full_grad" in outputs or "add_at(theta_bar" in outputs
    forward, reverse = [float(line.split()[-1]) for line in outputs.splitlines()
                        if line.startswith(("forward:", "reverse:"))]
    assert forward == pytest.approx(reverse, rel=1e-10)
    for method in ("em", "gradient", "adam", "lbfgs", "newton"):
        line = [line for line in outputs.splitlines() if line.startswith(f"{method} ")][0]
        assert abs(float(line.split()[3]) + 1130.264) < 1e-3, line
