"""notebooks/quickstart.ipynb runs top to bottom (nbclient), stays quiet, writes nothing into the
repository, and shows digits: its samples lie closer to real digits than the blobs of a shorter run do,
and far closer than its untrained generator's."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import torch
import torch.nn.functional as F

ROOT = Path(__file__).parents[1]
NOTEBOOK = ROOT / "notebooks" / "quickstart.ipynb"


def distance_to_real_digits(images: torch.Tensor) -> float:
    """Median distance from each image (N, 1, H, W) in [-1, 1], area-downsampled to 8x8 on the dataset's 0..16
    scale, to its nearest scikit-learn digit. Measured: held-out real digits 15.5; the quickstart's grids at
    100 / 200 / 300 / 400 G updates 35.4 / 28.3 / 25.9 / 24.6 (blobs at 200, digits at 400); uniform noise 49."""
    from sklearn.datasets import load_digits

    real = torch.tensor(load_digits().data[:1500], dtype=torch.float32)  # (1500, 64)
    small = F.adaptive_avg_pool2d(images.float(), 8).reshape(len(images), 64)
    small = ((small + 1) / 2 * 16).clamp(0, 16)
    return float(torch.cdist(small, real).min(dim=1).values.median())


def test_quickstart_notebook_runs_quietly_and_shows_digits(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "strip the outputs"
    samples_file = tmp_path / "samples.pt"
    # Test-only tail: hand the notebook's samples and its untrained twin's to the test.
    nb.cells.append(nbformat.v4.new_code_cell(
        "import os\n"
        "untrained = create_model('dcgan', generator={'init_args': {'image_shape': [1, 32, 32], 'base_channels': 32}},\n"
        "                         discriminator={'init_args': {'image_shape': [1, 32, 32], 'base_channels': 32}})\n"
        "torch.save({'trained': samples, 'untrained': untrained.sample(64, seed=0)}, os.environ['QUICKSTART_SAMPLES'])"
    ))
    before = sorted(p.relative_to(ROOT) for p in (ROOT / "notebooks").rglob("*"))
    os.environ["QUICKSTART_SAMPLES"] = str(samples_file)
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        os.environ.pop("QUICKSTART_SAMPLES")
    assert sorted(p.relative_to(ROOT) for p in (ROOT / "notebooks").rglob("*")) == before  # nothing written there

    printed = [line for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "stream"
               for line in out.text.splitlines() if line.strip()]
    assert len(printed) <= 6, printed  # was ~700 progress-bar chunks and a LightningCLI argv warning
    assert not any("Warning" in line for line in printed), printed
    images = [out for cell in nb.cells for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]
    assert len(images) == 1

    samples = torch.load(samples_file, weights_only=True)
    trained = distance_to_real_digits(samples["trained"])
    untrained = distance_to_real_digits(samples["untrained"])
    print(f"median distance to the nearest real digit: trained {trained:.1f}, untrained {untrained:.1f}")
    assert trained < 27.0 and untrained > 35.0, (trained, untrained)
