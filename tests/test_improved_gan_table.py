"""scripts/improved_gan_table.py: every row trains with the same budget, and the rarest-class share is right."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from helpers import load_script

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def script():
    return load_script("improved_gan_table")


def test_every_row_is_an_existing_config_trained_with_identical_overrides(script, tmp_path):
    args = argparse.Namespace(base_channels=16, batch_size=64, max_steps=2000)
    tails = set()
    for config in script.CONFIGS.values():
        assert (REPO / config).is_file(), config
        command = script.fit_command(config, args, seed=3, root=tmp_path)
        assert command[:4] == ["gan-zoo", "fit", "--config", config]
        tails.add(tuple(command[4:]))  # everything after the config: widths, batch, steps, seed
    assert len(tails) == 1  # equal budget: no row gets different overrides
    tail = list(tails.pop())
    assert tail[tail.index("--trainer.max_steps") + 1] == "2000"
    assert tail[tail.index("--seed_everything") + 1] == "3"


def test_rarest_share_is_the_smallest_class_fraction():
    from gan_zoo.reproduce import min_class_share  # what the table and gan-zoo reproduce both report

    histogram = [5, 446, 21, 28, 74, 9, 9, 262, 21, 125]
    assert min_class_share(histogram) == pytest.approx(5 / 1000)
