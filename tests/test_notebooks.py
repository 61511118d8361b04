"""The notebooks in notebooks/ run from top to bottom against the test data (tests/data) in a
real Jupyter kernel: a cell that raises fails the test. Their committed copies carry no
outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
RUNS = ROOT / "tests" / "data" / "runs"


def execute(name: str, parameters: dict | None = None) -> list:
    """Runs a notebook as Jupyter would (in its own directory) and returns its code cells.
    `parameters` go in as papermill injects them: a cell right after the one tagged
    "parameters", assigning each value."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    if parameters:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        source = "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={
            "tags": ["injected-parameters"]}))
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError naming the cell that failed
    return [c for c in nb.cells if c.cell_type == "code"]


def text_of(cells: list) -> str:
    out = []
    for c in cells:
        for o in c.outputs:
            out.append(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")))
    return "\n".join(out)


def images(cells: list) -> int:
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.outputs)


@pytest.mark.parametrize("name", ["analyse-run.ipynb", "analyse-sweep.ipynb"])
def test_committed_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_analyse_run_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FJ_RUN", raising=False)
    cells = execute("analyse-run.ipynb")
    text = text_of(cells)
    assert "flink-yarn-session-partition-random-halves/20261126T004302.972" in text
    # The stored run predates outages in results.json: the checker re-checks its history.
    assert "verdict: valid" in text and "source: checked from the history" in text
    assert "partition-random-halves" in text and "not an exactly-once run" in text
    assert images(cells) == 2  # the timeline and the recovery plot
    assert any("fjtl-plot" in o.get("data", {}).get("text/html", "")
               for c in cells for o in c.outputs)


def test_analyse_run_of_a_failed_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FJ_RUN", str(RUNS / "flink-yarn-session-kill-task-managers" /
                                     "20261126T004031.781"))
    text = text_of(execute("analyse-run.ipynb"))
    assert "verdict: unknown" in text and "error (phase setup)" in text
    assert "IllegalConfigurationException" in text


def test_analyse_run_of_an_exactly_once_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FJ_RUN", "tests/data/runs/flink-standalone-session-exactly-once/"
                                 "20261126T011000.000")  # relative to the checkout
    text = text_of(execute("analyse-run.ipynb"))
    assert "verdict: invalid" in text and "examples: lost" in text
    assert "examples: duplicated" in text


def test_analyse_sweep_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FJ_SWEEP", raising=False)
    cells = execute("analyse-sweep.ipynb")
    text = text_of(cells)
    assert "partition-random-halves" in text and "1.20.5" in text
    assert images(cells) == 2  # verdicts and recovery distribution


@pytest.mark.parametrize(("name", "var"), [("analyse-run.ipynb", "run_path"),
                                           ("analyse-sweep.ipynb", "sweep_path")])
def test_the_first_code_cell_holds_the_parameters(name: str, var: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])
    assert f'{var} = ""' in first.source


def test_a_run_given_as_a_parameter_wins_over_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FJ_RUN", str(RUNS / "flink-yarn-session-kill-task-managers" /
                                     "20261126T004031.781"))
    eo = RUNS / "flink-standalone-session-exactly-once" / "20261126T011000.000"
    text = text_of(execute("analyse-run.ipynb", {"run_path": str(eo)}))
    assert "verdict: invalid" in text and "examples: lost" in text
