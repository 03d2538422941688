"""The notebook runs from top to bottom (so it cannot rot)."""
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]


def test_gmm_notebook_executes(tmp_path):
    notebook = nbformat.read(ROOT / "notebooks" / "gmm_em_vs_gradient.ipynb", as_version=4)
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_path if env_path else "")
    try:
        client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "sct's gradient matches finite differences" in outputs
    assert "def loglik_vec_grad" in outputs
    em_line = [line for line in outputs.splitlines() if line.startswith("em ")][0]
    assert abs(float(em_line.split()[3]) + 1130.26) < 0.01
