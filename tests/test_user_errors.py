"""Every user error ends in one line ``gan-zoo: error: ...`` naming the problem and the fix, exit status 2,
with nothing trained, nothing overwritten and no run folder left behind (issue 12).

One table, driven through ``gan_zoo.cli.main([...])`` in this process (a subprocess costs ~6 s of imports).
Each row: the command line, words the one line must contain, and what must not exist afterwards.
The loading paths of untrusted files (resume, export, sample, evaluate, load_gan_checkpoint,
load_pretrained) are rows too: a pickle payload that would create a marker file must be refused
with the marker never created.
"""

from __future__ import annotations

import os

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from gan_zoo.cli import cli_main, main
from gan_zoo.errors import GanZooError
from helpers import DIGITS

ROOT = Path(__file__).parents[1]
SMALL = ["--data.init_args.limit_samples=32", "--data.init_args.batch_size=8", "--trainer.enable_progress_bar=false",
         "--sample_grid.every_n_g_steps=0", "--model.init_args.generator.init_args.base_channels=8",
         "--model.init_args.discriminator.init_args.base_channels=8"]


class Payload:
    """Unpickling this calls ``open(marker, "w")``, i.e. creates the marker file: code from the file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Real checkpoints from two tiny fits, a truncated and a malicious one, a folder with a truncated PNG."""
    root = tmp_path_factory.mktemp("user_errors")
    dcgan = cli_main(["fit", "--config", DIGITS, *SMALL, "--trainer.max_steps=2", f"--trainer.default_root_dir={root / 'a'}"])
    wgan = cli_main(["fit", "--config", DIGITS, *SMALL, "--trainer.max_steps=2", f"--trainer.default_root_dir={root / 'b'}",
                     "--model=gan_zoo.models.WGANGP", "--model.init_args.discriminator=gan_zoo.nets.DCGANCritic",
                     "--model.init_args.discriminator.init_args.base_channels=8"])
    out = {"root": root, "marker": root / "PAYLOAD_RAN"}
    out["dcgan"] = Path(dcgan.trainer.checkpoint_callback.last_model_path)
    out["wgan"] = Path(wgan.trainer.checkpoint_callback.last_model_path)
    data = out["dcgan"].read_bytes()
    out["truncated"] = root / "truncated.ckpt"
    out["truncated"].write_bytes(data[: len(data) // 2])
    out["pickle"] = root / "payload.ckpt"
    real = torch.load(out["dcgan"], weights_only=True)
    real["hyper_parameters"]["payload"] = Payload(out["marker"])
    torch.save(real, out["pickle"])
    images = root / "images" / "faces"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(images / f"{i:02d}.png")
    png = (images / "03.png").read_bytes()
    (images / "03.png").write_bytes(png[: len(png) // 2])
    out["images"] = root / "images"
    out["pretrained_no_sha"] = root / "pretrained"
    main(["export", "--ckpt", str(out["dcgan"]), "--out", str(out["pretrained_no_sha"])])
    config = yaml.safe_load((out["pretrained_no_sha"] / "config.yaml").read_text())
    del config["weights_sha256"]
    (out["pretrained_no_sha"] / "config.yaml").write_text(yaml.safe_dump(config))
    out["file"] = root / "a_file"
    out["file"].write_text("not a folder")
    out["traversal"] = root / "traversal"
    (out["traversal"] / "t_c1.png").mkdir(parents=True)  # the second of infogan-mnist's two traversal files
    return out


@dataclass
class Case:
    name: str
    argv: Callable[[dict, Path], list[str]]  # (files, fresh output folder) -> command line
    says: tuple[str, ...]  # words the error line must contain
    absent: Callable[[dict, Path], list[Path]] = field(default=lambda f, out: [])  # must not exist afterwards


def fit(*extra: str) -> Callable[[dict, Path], list[str]]:
    return lambda f, out: ["fit", "--config", DIGITS, *SMALL, "--trainer.max_steps=4",
                           f"--trainer.default_root_dir={out}", *[e.format(**f) for e in extra]]


def run_folder(f: dict, out: Path) -> list[Path]:
    return [out]  # nothing may be created: no half-made run folder


CASES = [
    Case("resume_other_model_class", fit("--ckpt_path={wgan}"),
         ("different model", "gan_zoo.models.WGANGP", "gan_zoo.models.DCGAN"), run_folder),
    Case("resume_other_nets", fit("--ckpt_path={dcgan}", "--model.init_args.generator.init_args.base_channels=16"),
         ("different model", "generator.init_args.base_channels=8 (config: 16)"), run_folder),
    Case("resume_other_image_size", fit("--ckpt_path={dcgan}", "--data.init_args.image_size=64"),
         ("other sizes", "--data"), run_folder),
    Case("resume_truncated_checkpoint", fit("--ckpt_path={truncated}"),
         ("truncated.ckpt", "truncated or not a .ckpt"), run_folder),
    Case("resume_missing_checkpoint", fit("--ckpt_path={root}/nope.ckpt"), ("nope.ckpt", "does not exist"), run_folder),
    Case("resume_pickle_payload", fit("--ckpt_path={pickle}"), ("payload.ckpt", "cannot read"),
         lambda f, out: [f["marker"], out]),
    Case("warm_start_other_nets", fit("--weights_from={dcgan}", "--model.init_args.generator.init_args.base_channels=16"),
         ("does not fit the config's model", "generator.net.0.weight has shape"), run_folder),
    Case("warm_start_other_model", fit("--weights_from={wgan}"), ("does not fit the config's model",), run_folder),
    Case("warm_start_and_resume", fit("--weights_from={dcgan}", "--ckpt_path={dcgan}"), ("pass one",), run_folder),
    Case("warm_start_missing_checkpoint", fit("--weights_from={root}/nope.ckpt"), ("nope.ckpt", "does not exist"), run_folder),
    Case("warm_start_truncated_checkpoint", fit("--weights_from={truncated}"), ("truncated.ckpt", "cannot read"), run_folder),
    Case("warm_start_pickle_payload", fit("--weights_from={pickle}"), ("payload.ckpt", "cannot read"),
         lambda f, out: [out, f["marker"]]),
    Case("warm_start_unverifiable_pretrained", fit("--weights_from={pretrained_no_sha}"), ("weights_sha256",), run_folder),
    Case("validate_with_weights_from", lambda f, out: ["validate", "--config", DIGITS, f"--weights_from={f['dcgan']}"],
         ("--weights_from is for `gan-zoo fit`", "--ckpt_path")),
    Case("n_critic_zero", fit("--model.init_args.n_critic=0"), ("n_critic must be >= 1",), run_folder),
    Case("negative_learning_rate", fit("--model.init_args.g_optimizer=torch.optim.Adam",
                                       "--model.init_args.g_optimizer.lr=-0.001"),
         ("optimizer", "learning rate"), run_folder),
    Case("optimizer_option_without_its_class", fit("--model.init_args.g_optimizer.lr=1e-4"),
         ("needs the optimizer's class first", "--model.init_args.g_optimizer torch.optim.Adam"), run_folder),
    Case("plateau_schedule_needs_a_host_sync", fit("--model.init_args.g_lr_scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau"),
         ("g_lr_scheduler", "ReduceLROnPlateau", "host-device sync", "MultiStepLR"), run_folder),
    Case("schedule_option_without_its_class", fit("--model.init_args.d_lr_scheduler.milestones=[2]"),
         ("--model.init_args.d_lr_scheduler:", "needs the schedule's class first",
          "--model.init_args.g_lr_scheduler torch.optim.lr_scheduler.MultiStepLR"), run_folder),
    Case("schedule_without_its_required_option", fit("--model.init_args.g_lr_scheduler=torch.optim.lr_scheduler.StepLR"),
         ("--model.init_args.g_lr_scheduler:", "required: step_size"), run_folder),
    Case("schedule_option_of_the_wrong_type", fit("--model.init_args.g_lr_scheduler=torch.optim.lr_scheduler.MultiStepLR",
                                                  "--model.init_args.g_lr_scheduler.milestones=abc"),
         ("--model.init_args.g_lr_scheduler.milestones:", "Got value: abc"), run_folder),
    Case("progan_with_a_schedule", lambda f, out: ["fit", "--config", str(ROOT / "configs/progan/mnist.yaml"),
                                                   "--trainer.max_steps=4", f"--trainer.default_root_dir={out}",
                                                   "--model.init_args.g_lr_scheduler=torch.optim.lr_scheduler.StepLR",
                                                   "--model.init_args.g_lr_scheduler.step_size=2"],
         ("ProGAN sets its learning rates per resolution", "--model.init_args.learning_rates"), run_folder),
    Case("config_key_typo", fit("--model.init_args.n_critics=2"), ("n_critics", "not accepted"), run_folder),
    Case("bad_value_type", fit("--trainer.max_steps=abc"), ("--trainer.max_steps", "abc"), run_folder),
    Case("unwritable_checkpoint_dir", fit("--checkpoint.dirpath={file}/checkpoints"),
         ("a_file is a file", "--checkpoint.dirpath"), run_folder),
    Case("unwritable_root_dir", lambda f, out: ["fit", "--config", DIGITS, *SMALL,
                                                f"--trainer.default_root_dir={f['file']}/runs"],
         ("a_file is a file", "--trainer.default_root_dir"), run_folder),
    Case("truncated_image_in_folder", fit("--data=gan_zoo.data.ImageFolderDataModule", "--data.root=faces",
                                          "--data.data_dir={images}", "--data.image_size=32", "--data.batch_size=4"),
         ("03.png", "--data.skip_unreadable true")),
    Case("missing_dataset", lambda f, out: ["fit", "--config", str(ROOT / "configs" / "dcgan" / "mnist.yaml"),
                                            f"--data.init_args.data_dir={out / 'nothing'}",
                                            "--data.init_args.download=false", f"--trainer.default_root_dir={out}"],
         ("MNIST not found",), run_folder),
    Case("validate_without_held_out_measure", lambda f, out: ["validate", "--config", DIGITS], ("gan-zoo evaluate",)),
    Case("export_pickle_payload", lambda f, out: ["export", "--ckpt", str(f["pickle"]), "--out", str(out)],
         ("payload.ckpt", "weights-only"), lambda f, out: [f["marker"], out / "generator.safetensors"]),
    Case("sample_pickle_payload", lambda f, out: ["sample", "--ckpt", str(f["pickle"]), "--out", str(out / "g.png")],
         ("payload.ckpt",), lambda f, out: [f["marker"], out / "g.png"]),
    Case("evaluate_pickle_payload", lambda f, out: ["evaluate", "--ckpt", str(f["pickle"]), "--dataset", "mnist",
                                                    "--out", str(out / "r.json")],
         ("payload.ckpt",), lambda f, out: [f["marker"], out / "r.json"]),
    Case("sample_pretrained_without_sha256", lambda f, out: ["sample", "--pretrained", str(f["pretrained_no_sha"]),
                                                             "--out", str(out / "g.png")],
         ("weights_sha256",), lambda f, out: [out / "g.png"]),
    Case("misspelled_subcommand", lambda f, out: ["exprot", "--ckpt", str(f["dcgan"])], ("exprot", "gan-zoo export")),
    Case("bad_option_of_a_subcommand", lambda f, out: ["sample", "--pretrained", "dcgan-mnist", "--nmu", "4",
                                                       "--out", str(out / "g.png")],
         ("gan-zoo sample", "--nmu", "--help"), lambda f, out: [out / "g.png"]),
    Case("batch_size_zero", fit("--data.init_args.batch_size=0"), ("batch_size must be >= 1",), run_folder),
    Case("limit_samples_zero", fit("--data.init_args.limit_samples=0"), ("limit_samples must be >= 1",), run_folder),
    Case("evaluate_ema_without_ema", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--ema", "--dataset", "mnist",
                                                     "--out", str(out / "r.json")],
         ("keeps no EMA", "drop --ema"), lambda f, out: [out / "r.json"]),
    Case("evaluate_out_is_a_folder", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--dataset", "mnist",
                                                     "--out", str(f["root"])], ("is a folder", "--out")),
    Case("evaluate_out_below_a_file", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--dataset", "mnist",
                                                      "--out", str(f["file"] / "r.json")], ("a_file is a file", "--out")),
    Case("sample_out_below_a_file", lambda f, out: ["sample", "--ckpt", str(f["dcgan"]), "--out", str(f["file"] / "g.png")],
         ("a_file is a file", "--out")),
    Case("sample_ckpt_is_an_export", lambda f, out: ["sample", "--ckpt", str(f["pretrained_no_sha"]), "--out", str(out / "g.png")],
         ("is a folder", "--pretrained"), lambda f, out: [out / "g.png"]),
    Case("export_out_is_a_file", lambda f, out: ["export", "--ckpt", str(f["dcgan"]), "--out", str(f["file"])],
         ("a_file is a file", "writes a folder")),
    Case("export_over_an_export", lambda f, out: ["export", "--ckpt", str(f["wgan"]), "--out", str(f["pretrained_no_sha"])],
         ("already holds an export", "--overwrite")),
    Case("export_into_a_run_folder", lambda f, out: ["export", "--ckpt", str(f["dcgan"]), "--out", str(f["dcgan"].parents[1]),
                                                     "--overwrite"],
         ("did not write", "another folder"), lambda f, out: [f["dcgan"].parents[1] / "generator.safetensors"]),
    Case("export_out_below_a_file", lambda f, out: ["export", "--ckpt", str(f["dcgan"]), "--out", str(f["file"] / "export")],
         ("a_file is a file", "--out")),
    Case("evaluate_device_not_a_device", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--dataset", "mnist",
                                                         "--device", "foo", "--out", str(out / "r.json")],
         ("--device 'foo' is not a device",), lambda f, out: [out / "r.json"]),
    Case("evaluate_on_a_device_type_it_does_not_run_on", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--dataset",
                                                                      "mnist", "--device", "meta", "--out", str(out / "r.json")],
         ("--device meta", "runs on cpu, cuda or mps"), lambda f, out: [out / "r.json"]),
    Case("sample_device_not_a_device", lambda f, out: ["sample", "--ckpt", str(f["dcgan"]), "--device", "foo",
                                                       "--out", str(out / "s.npz")],
         ("--device 'foo' is not a device",), lambda f, out: [out / "s.npz"]),
    Case("sample_on_a_device_type_it_does_not_run_on", lambda f, out: ["sample", "--pretrained", "dcgan-mnist", "--device",
                                                                    "meta", "--out", str(out / "g.png")],
         ("--device meta", "gan-zoo sample runs on cpu, cuda or mps"), lambda f, out: [out / "g.png"]),
    Case("sample_empty_labels", lambda f, out: ["sample", "--ckpt", str(f["dcgan"]), "--labels", ",", "--out", str(out / "g.png")],
         ("--labels", "class indices"), lambda f, out: [out / "g.png"]),
    Case("sample_traversal_file_is_a_folder", lambda f, out: ["sample", "--pretrained", "infogan-mnist", "--traverse",
                                                              "--out", str(f["traversal"] / "t.png")],
         ("t_c1.png is a folder",), lambda f, out: [f["traversal"] / "t_c0.png"]),
]
if not torch.cuda.is_available():  # on a machine with a GPU this is no error
    CASES.append(Case("gpu_without_gpu", fit("--trainer.accelerator=gpu"), ("gpu", "--trainer.accelerator auto"), run_folder))
    CASES.append(Case("evaluate_on_a_missing_mps", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--dataset",
                                                                  "mnist", "--device", "mps", "--out", str(out / "r.json")],
                      ("no MPS device", "--device cpu"), lambda f, out: [out / "r.json"]))
    CASES.append(Case("evaluate_on_a_missing_gpu", lambda f, out: ["evaluate", "--ckpt", str(f["dcgan"]), "--dataset",
                                                                  "mnist", "--device", "cuda", "--out", str(out / "r.json")],
                      ("no CUDA GPU", "--device cpu"), lambda f, out: [out / "r.json"]))
    CASES.append(Case("sample_on_a_missing_gpu", lambda f, out: ["sample", "--pretrained", "dcgan-mnist", "--device", "cuda",
                                                                "--out", str(out) + "/"],
                      ("no CUDA GPU", "--device cpu"), lambda f, out: [out]))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_user_error_is_one_line_and_exit_2(case: Case, files, tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    capfd.readouterr()
    with pytest.raises(SystemExit) as info:
        main(case.argv(files, out))
    captured = capfd.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert info.value.code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("gan-zoo: error: "), lines
    for word in case.says:
        assert word in lines[0], (word, lines[0])
    for path in case.absent(files, out):
        assert not path.exists(), f"{path} exists after: {lines[0]}"


def test_out_with_a_tilde_the_shell_left_is_written_under_home(monkeypatch, tmp_path):
    """``--out=~/g.png``: bash expands no ``~`` after ``=``; the file goes to $HOME as it was checked, not to a
    folder named "~" in the current one."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(tmp_path)
    main(["sample", "--pretrained", "dcgan-mnist", "--num", "4", "--out=~/g.png"])
    assert (tmp_path / "home" / "g.png").is_file() and not (tmp_path / "~").exists()


def test_export_overwrite_leaves_a_run_folders_config_alone(files, tmp_path):
    """A run folder's config.yaml (what a resume needs) is not an export: --overwrite does not replace it."""
    run = tmp_path / "run"
    shutil.copytree(files["dcgan"].parents[1], run)
    before = (run / "config.yaml").read_bytes()
    with pytest.raises(SystemExit) as refused:
        main(["export", "--ckpt", str(files["dcgan"]), "--out", str(run), "--overwrite"])
    assert refused.value.code == 2
    assert (run / "config.yaml").read_bytes() == before and not (run / "generator.safetensors").exists()
    main(["export", "--ckpt", str(files["dcgan"]), "--out", str(run / "pretrained")])  # what the error suggests
    assert (run / "pretrained" / "generator.safetensors").is_file()


def test_an_interrupted_export_is_redone_with_overwrite(files, tmp_path):
    """save_pretrained renames the weights into place before the config: an export stopped between the two
    leaves generator.safetensors alone, which --overwrite replaces (it is no stranger's file)."""
    folder = tmp_path / "export"
    main(["export", "--ckpt", str(files["dcgan"]), "--out", str(folder)])
    (folder / "config.yaml").unlink()
    with pytest.raises(SystemExit) as refused:
        main(["export", "--ckpt", str(files["dcgan"]), "--out", str(folder)])
    assert refused.value.code == 2
    main(["export", "--ckpt", str(files["dcgan"]), "--out", str(folder), "--overwrite"])
    assert (folder / "config.yaml").is_file() and (folder / "generator.safetensors").is_file()


def test_an_export_is_replaced_only_with_overwrite(files, tmp_path):
    folder = tmp_path / "export"
    main(["export", "--ckpt", str(files["dcgan"]), "--out", str(folder)])
    first = (folder / "generator.safetensors").read_bytes()
    with pytest.raises(SystemExit) as refused:  # the one-line error (checked in the table above)
        main(["export", "--ckpt", str(files["wgan"]), "--out", str(folder)])
    assert refused.value.code == 2
    assert (folder / "generator.safetensors").read_bytes() == first  # untouched
    main(["export", "--ckpt", str(files["wgan"]), "--out", str(folder), "--overwrite"])
    assert (folder / "generator.safetensors").read_bytes() != first


def test_a_failed_write_leaves_neither_the_file_nor_its_temporary(tmp_path):
    from gan_zoo.outputs import write_atomic

    target = tmp_path / "report.json"

    def half_then_fail(tmp: Path) -> None:
        tmp.write_text("{half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_then_fail)
    assert list(tmp_path.iterdir()) == []  # no report.json, no .report.json.tmp
    write_atomic(target, lambda tmp: tmp.write_text("{}"))
    assert target.read_text() == "{}" and list(tmp_path.iterdir()) == [target]


def test_two_writers_of_one_file_never_share_a_temporary(tmp_path):
    """A second write_atomic of the same path, made while the first is writing (another process, a callback),
    must not write into the first one's temporary: the file ends as one writer's whole output, never a mix."""
    from gan_zoo.outputs import write_atomic

    target = tmp_path / "grid.png"
    temporaries = []

    def outer(tmp: Path) -> None:
        tmp.write_text("outer, first half")
        temporaries.append(tmp)
        write_atomic(target, inner)  # finishes first
        with open(tmp, "a") as f:
            f.write(", second half")

    def inner(tmp: Path) -> None:
        temporaries.append(tmp)
        tmp.write_text("inner")

    write_atomic(target, outer)
    assert temporaries[0] != temporaries[1]
    assert target.read_text() == "outer, first half, second half"  # the last rename wins, whole
    assert list(tmp_path.iterdir()) == [target]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # readable as any file the user writes


def test_load_gan_checkpoint_refuses_a_pickle_payload(files):
    from gan_zoo.hub import load_gan_checkpoint

    with pytest.raises(GanZooError, match="weights-only"):
        load_gan_checkpoint(files["pickle"])
    assert not files["marker"].exists()
    # the same file with the payload run (what weights_only=False would do) creates the marker: the test can fail
    torch.load(files["pickle"], weights_only=False)
    assert files["marker"].exists()
    files["marker"].unlink()


def test_load_pretrained_refuses_a_config_without_sha256(files):
    from gan_zoo.hub import load_pretrained

    with pytest.raises(GanZooError, match="weights_sha256"):
        load_pretrained(files["pretrained_no_sha"])


def test_skip_unreadable_trains_on_the_readable_images(files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.warns(UserWarning, match=r"skipping unreadable image .*03\.png \(1 skipped so far\)"):
        cli = cli_main(fit("--data=gan_zoo.data.ImageFolderDataModule", "--data.root=faces", "--data.data_dir={images}",
                           "--data.image_size=32", "--data.batch_size=4", "--data.skip_unreadable=true",
                           "--data.num_workers=0")(files, tmp_path))  # in this process: its warning and count
    assert cli.model.num_g_updates == 2
    assert cli.datamodule.train_set.dataset.skipped == {files["images"] / "faces" / "03.png"}


def test_identical_wandb_runs_get_their_own_folders(tmp_path, monkeypatch):
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.chdir(tmp_path)
    import wandb

    argv = ["fit", "--config", DIGITS, "--config", str(ROOT / "configs" / "logging" / "wandb.yaml"), *SMALL,
            "--trainer.max_steps=2"]
    folders = []
    for _ in range(2):  # the second identical run used to stop on "config.yaml ... to NOT exist"
        cli = cli_main(argv)
        wandb.finish()
        folders.append(Path(cli.trainer.log_dir))
    assert folders[0] != folders[1]
    for folder in folders:
        assert (folder / "config.yaml").is_file() and (folder / "checkpoints" / "last.ckpt").is_file()
    shutil.rmtree(tmp_path / "wandb_home", ignore_errors=True)


def test_wandb_without_api_key_is_one_line(tmp_path, monkeypatch, capfd):
    for var in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb_home"))
    monkeypatch.setenv("WANDB_MODE", "online")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    import wandb

    wandb.teardown()  # W&B keeps its settings (e.g. offline mode from an earlier test) in a process singleton
    capfd.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["fit", "--config", DIGITS, "--config", str(ROOT / "configs" / "logging" / "wandb.yaml"), *SMALL,
              "--trainer.max_steps=2"])
    wandb.teardown()
    captured = capfd.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert info.value.code == 2
    assert len(lines) == 1 and "wandb login" in lines[0] and "WANDB_MODE=offline" in lines[0], lines
    assert not list(tmp_path.glob("runs/wandb/*/*/config.yaml"))
