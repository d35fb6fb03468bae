"""scripts/semi_supervised_curve.py: a resumed run's folders chain into one curve; tables say what they hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import load_script

@pytest.fixture(scope="module")
def script():
    return load_script("semi_supervised_curve")


def _run_folder(root: Path, epochs: dict[int, tuple[float, float]], checkpoints: list[int]) -> Path:
    """A run folder as `gan-zoo fit` leaves it: metrics.csv (train rows without val, val rows) and checkpoints."""
    logs = root / "lightning_logs" / "version_0"
    (logs / "checkpoints").mkdir(parents=True)
    rows = ["epoch,step,train/d_loss,val/error,val/error_last"]
    for epoch0, (avg, last) in epochs.items():
        rows += [f"{epoch0},{epoch0 * 10 + 5},0.7,,", f"{epoch0},{epoch0 * 10 + 9},,{avg},{last}"]
    (logs / "metrics.csv").write_text("\n".join(rows) + "\n")
    for epoch0 in checkpoints:
        (logs / "checkpoints" / f"epoch={epoch0}-step={(epoch0 + 1) * 1100}.ckpt").write_bytes(b"")
    (logs / "checkpoints" / "last.ckpt").write_bytes(b"")
    return root


def test_a_resumed_chain_gives_one_curve_and_later_folders_win(script, tmp_path):
    first = _run_folder(tmp_path / "a", {0: (0.30, 0.31), 1: (0.20, 0.21)}, checkpoints=[0, 1])
    second = _run_folder(tmp_path / "b", {1: (0.19, 0.18), 2: (0.10, 0.09)}, checkpoints=[4])
    curve = script.validation_curve([first, second])
    assert curve == {1: (0.30, 0.31), 2: (0.19, 0.18), 3: (0.10, 0.09)}  # 1-based epochs
    found = script.checkpoints([first, second])
    assert sorted(found) == [1, 2, 5] and found[5].name == "epoch=4-step=5500.ckpt"


def test_table_reports_mean_and_sample_std_over_seeds(script, tmp_path, monkeypatch):
    runs = {s: _run_folder(tmp_path / f"s{s}", {0: (0.5, 0.4)}, checkpoints=[0]) for s in (0, 1, 2)}
    errors = {0: 0.010, 1: 0.020, 2: 0.030}
    monkeypatch.setattr(script, "test_error", lambda config, ckpt: {
        "test_error": errors[int(ckpt.parts[-5][1:])], "test_error_last": 0.5})
    out = tmp_path / "table.md"
    script.main([*[a for s, f in runs.items() for a in ("--run", f"{s}={f}")], "--test-epochs", "1", "--out", str(out)])
    row = next(line for line in out.read_text().splitlines() if line.startswith("| 1 |"))
    assert "| 2.00 ± 1.00 | 50.00 ± 0.00 |" in row  # mean 2 %, sample std of (1, 2, 3) % = 1 %
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["seeds"]["2"]["test"]["1"]["test_error"] == 0.030
