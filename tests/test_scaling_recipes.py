"""The multi-node recipes in docs/scaling/ stay runnable: bash expands their command lines as it would on a
cluster, torchrun's own parser accepts its part, and `gan-zoo` parses the rest (--print_config, no GPU needed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from gan_zoo.cli import main

ROOT = Path(__file__).parents[1]
RECIPES = ROOT / "docs" / "scaling"


def launch_line(script: Path, launcher: str) -> str:
    """The script's command that starts with ``launcher``, backslash continuations joined."""
    text = script.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(launcher + " ")]
    assert len(lines) == 1, lines
    return lines[0]


def bash_argv(command: str, env: dict[str, str]) -> list[str]:
    """The argv bash builds from ``command`` (quotes, $VAR and ${VAR:-default} expanded) under ``env``."""
    out = subprocess.run(["bash", "-c", f"printf '%s\\0' {command}"], env={**os.environ, **env},
                         capture_output=True, text=True, check=True).stdout
    return out.split("\0")[:-1]


def printed_config(argv: list[str], capsys, monkeypatch) -> dict:
    monkeypatch.chdir(ROOT)  # the recipes run from the repository root
    with pytest.raises(SystemExit) as info:
        main([*argv, "--print_config"])
    assert info.value.code == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_slurm_script_command_line_parses(capsys, monkeypatch):
    slurm = {"SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS_PER_NODE": "8", "SLURM_CPUS_PER_TASK": "6",
             "SLURM_JOB_ID": "4242"}
    argv = bash_argv(launch_line(RECIPES / "slurm_ddp.sbatch", "srun"), slurm)
    assert argv[:3] == ["srun", "gan-zoo", "fit"]
    config = printed_config(argv[2:], capsys, monkeypatch)
    assert config["trainer"]["num_nodes"] == 2 and str(config["trainer"]["devices"]) == "8"
    assert config["trainer"]["strategy"] == "ddp_find_unused_parameters_true"
    assert config["trainer"]["default_root_dir"] == "runs/slurm/4242"
    assert config["data"]["init_args"]["num_workers"] == 6


def test_torchrun_command_line_parses(capsys, monkeypatch):
    from torch.distributed.run import get_args_parser

    argv = bash_argv(launch_line(RECIPES / "torchrun_ddp.sh", "torchrun"), {"NNODES": "2", "GPUS_PER_NODE": "4"})
    assert argv[0] == "torchrun"
    launcher = get_args_parser().parse_args(argv[1:])
    assert (launcher.nnodes, launcher.nproc_per_node, launcher.no_python) == ("2", "4", True)
    assert launcher.training_script == "gan-zoo"
    config = printed_config(launcher.training_script_args, capsys, monkeypatch)
    assert config["trainer"]["num_nodes"] == 2 and str(config["trainer"]["devices"]) == "4"
    assert config["trainer"]["strategy"] == "ddp_find_unused_parameters_true"
