"""The notebooks run top to bottom in a real Jupyter kernel (nbclient + ipykernel), each in
under a minute, without an error; their cells' own asserts check values against NumPy,
finite differences and known answers. Stored notebooks carry no outputs (no images or
timings from someone's machine in the repository), so they stay small."""

import json
import pathlib
import time

import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_quick_start",
    "02_the_ir",
    "03_training",
    "04_randomness",
    "05_control_flow",
    "06_performance",
    "07_inference",
]
SECONDS_PER_NOTEBOOK = 60
MAX_BYTES = 200_000


def test_the_notebooks_are_there():
    assert [path.stem for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_is_small_and_has_no_outputs(path):
    assert path.stat().st_size < MAX_BYTES
    notebook = json.loads(path.read_text())
    assert notebook["nbformat"] == 4 and notebook["metadata"]["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


def _problems(notebook) -> list[str]:
    """Error outputs, and tracebacks printed to stderr, cell by cell."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                if "Traceback" in output.text or "Error" in output.text:
                    found.append(f"cell {index} wrote to stderr: {output.text[-500:]}")
    return found


@pytest.mark.eager_only("runs each notebook in a kernel of its own; jit mode does not reach it")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbclient)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient)")
    pytest.importorskip("ipykernel", reason="pip install -e '.[test]' (ipykernel)")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=2 * SECONDS_PER_NOTEBOOK,  # per cell; the whole notebook's budget is below
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    started = time.perf_counter()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        pytest.fail(f"{path.name} failed:\n{err}")
    seconds = time.perf_counter() - started
    assert not _problems(notebook), _problems(notebook)
    assert seconds < SECONDS_PER_NOTEBOOK, f"{path.name} took {seconds:.0f} s"


@pytest.mark.eager_only("runs a kernel of its own; jit mode does not reach it")
def test_errors_in_a_notebook_name_the_cell_and_line():
    nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[test]' (nbclient)")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[test]' (nbclient)")
    pytest.importorskip("ipykernel", reason="pip install -e '.[test]' (ipykernel)")
    source = "\n".join(
        [
            "import funcgrad.numpy as jnp",
            "x = jnp.ones(3)",
            "try:",
            "    x[0] = 2.0",
            "except TypeError as error:",
            "    print(error)",
        ]
    )
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbclient.NotebookClient(notebook, timeout=60, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    # IPython's own name for the cell, as its tracebacks give it, not a temporary file's.
    assert "(at Cell In[1], line 4 (<module>))" in printed, printed
