"""``gan-zoo fit --weights_from``: a new run from trained weights, with the config's hyperparameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_zoo import create_model
from gan_zoo.cli import cli_main
from gan_zoo.errors import GanZooError
from gan_zoo.hub import save_pretrained
from gan_zoo.warm_start import load_initial_weights
from helpers import DIGITS

ROOT = Path(__file__).parents[1]
SMALL = ["--trainer.enable_progress_bar=false", "--data.init_args.limit_samples=128", "--sample_grid.every_n_g_steps=0"]


def _tiny_checkpoint(tmp_path, **model_kwargs) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(1)
    model = create_model("dcgan", tiny=True, **model_kwargs)
    with torch.no_grad():  # weights unlike any fresh init
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    model.d_updates.fill_(7)
    model.g_updates.fill_(7)
    path = tmp_path / "trained.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": {}}, path)
    return model, path


def test_checkpoint_weights_and_model_state_are_loaded(tmp_path):
    trained, path = _tiny_checkpoint(tmp_path)
    fresh = create_model("dcgan", tiny=True)
    load_initial_weights(fresh, path)
    for key, value in trained.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    assert (fresh.num_d_updates, fresh.num_g_updates) == (7, 7)  # host mirrors read back with the buffers


def test_an_ema_the_checkpoint_lacks_starts_fresh_and_an_unwanted_one_is_dropped(tmp_path):
    trained, path = _tiny_checkpoint(tmp_path)
    with_ema = create_model("dcgan", tiny=True, ema_decay=0.9)
    load_initial_weights(with_ema, path)
    assert int(with_ema.generator_ema.n_averaged) == 0  # its first update copies the loaded G
    torch.testing.assert_close(with_ema.generator.net[0].weight, trained.generator.net[0].weight, rtol=0, atol=0)

    (tmp_path / "ema").mkdir()
    trained_ema, path_ema = _tiny_checkpoint(tmp_path / "ema", ema_decay=0.9)
    plain = create_model("dcgan", tiny=True)
    load_initial_weights(plain, path_ema)
    assert not any(k.startswith("generator_ema.") for k in plain.state_dict())
    torch.testing.assert_close(plain.generator.net[0].weight, trained_ema.generator.net[0].weight, rtol=0, atol=0)


def test_pretrained_source_loads_g_only(tmp_path):
    trained, _ = _tiny_checkpoint(tmp_path)
    save_pretrained(trained, tmp_path / "pretrained")
    torch.manual_seed(5)
    fresh = create_model("dcgan", tiny=True)
    d_before = {k: v.clone() for k, v in fresh.discriminator.state_dict().items()}
    load_initial_weights(fresh, tmp_path / "pretrained")
    for key, value in trained.generator.state_dict().items():
        assert torch.equal(fresh.generator.state_dict()[key], value), key
    for key, value in d_before.items():
        assert torch.equal(fresh.discriminator.state_dict()[key], value), key


def test_mismatch_names_the_first_key(tmp_path):
    _, path = _tiny_checkpoint(tmp_path)
    other = create_model("dcgan", tiny=True, generator={"init_args": {"base_channels": 4}})
    with pytest.raises(GanZooError, match=r"generator\.net\.0\.weight has shape"):
        load_initial_weights(other, path)


def test_cli_warm_start_takes_new_hyperparameters_that_resuming_refuses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = cli_main(["fit", "--config", DIGITS, *SMALL, "--trainer.max_steps=6"])
    last = Path(first.trainer.checkpoint_callback.last_model_path)
    changed = ["--model.init_args.ema_decay=0.9"]
    with pytest.raises(GanZooError, match="different model"):  # --ckpt_path: the same model only
        cli_main(["fit", "--config", DIGITS, *SMALL, "--trainer.max_steps=8", f"--ckpt_path={last}", *changed])
    warm = cli_main(["fit", "--config", DIGITS, *SMALL, "--trainer.max_steps=2", f"--weights_from={last}", *changed])
    assert warm.trainer.global_step == 2  # trainer progress starts fresh...
    assert (int(warm.model.d_updates), int(warm.model.g_updates)) == (4, 4)  # ...the model's own counters continue
    assert int(warm.model.generator_ema.n_averaged) == 1
    assert warm.model.hparams.ema_decay == 0.9


def _assert_history_starts_at(history, module) -> None:
    assert int(history.count) == 1  # t = 1: θ[1] is the loaded weights
    for mean, p in zip(history.means(), module.parameters()):
        assert torch.equal(mean, p.detach())
    assert history.penalty(module).item() == 0.0


def test_historical_averages_restart_at_the_loaded_weights(tmp_path):
    # Salimans et al. 2016, Sec. 3.3: the average runs over the parameters this fit trains, from the ones it starts with
    history = dict(minibatch_kernels=0, d_historical_weight=0.5, g_historical_weight=0.5)
    torch.manual_seed(1)
    source = create_model("improved_gan", tiny=True, **history)
    with torch.no_grad():  # weights, and averages, unlike any fresh init
        for p in source.parameters():
            p.add_(torch.randn_like(p))
        for buffer in (*source.d_history.means(), *source.g_history.means()):
            buffer.add_(torch.randn_like(buffer))
        source.d_history.count.fill_(7)
    path = tmp_path / "with_history.ckpt"
    torch.save({"state_dict": source.state_dict(), "hyper_parameters": {}}, path)
    without = create_model("improved_gan", tiny=True, minibatch_kernels=0, d_historical_weight=0.0, g_historical_weight=0.0)
    without.load_state_dict({k: v for k, v in source.state_dict().items() if "_history." not in k})
    path_without = tmp_path / "without_history.ckpt"
    torch.save({"state_dict": without.state_dict(), "hyper_parameters": {}}, path_without)

    for ckpt in (path, path_without):  # the source's own averages are not carried over; none is no error
        warm = create_model("improved_gan", tiny=True, **history)
        load_initial_weights(warm, ckpt)
        assert torch.equal(warm.generator.state_dict()["net.0.weight"], source.generator.state_dict()["net.0.weight"])
        _assert_history_starts_at(warm.d_history, warm.discriminator)
        _assert_history_starts_at(warm.g_history, warm.generator)
    plain = create_model("improved_gan", tiny=True, minibatch_kernels=0, d_historical_weight=0.0, g_historical_weight=0.0)
    load_initial_weights(plain, path)  # a config without averages takes the weights of a source that kept them
    assert torch.equal(plain.generator.state_dict()["net.0.weight"], source.generator.state_dict()["net.0.weight"])

    save_pretrained(source, tmp_path / "pretrained")  # G only: D keeps its initialisation, and its average too
    torch.manual_seed(5)
    warm = create_model("improved_gan", tiny=True, **history)
    load_initial_weights(warm, tmp_path / "pretrained")
    assert torch.equal(warm.generator.state_dict()["net.0.weight"], source.generator.state_dict()["net.0.weight"])
    _assert_history_starts_at(warm.d_history, warm.discriminator)
    _assert_history_starts_at(warm.g_history, warm.generator)


def test_a_warm_started_wgan_critic_starts_inside_the_clipping_box(tmp_path):
    # Arjovsky et al. 2017, Alg. 1: every critic evaluated has w in [-c, c], the loaded one too
    trained, path = _tiny_checkpoint(tmp_path)  # DCGAN weights of order 1, far outside [-0.01, 0.01]
    wgan = create_model("wgan", tiny=True)
    c = wgan.hparams.clip_value
    assert max(p.abs().max().item() for p in trained.discriminator.parameters()) > 10 * c
    load_initial_weights(wgan, path)
    for name, p in wgan.discriminator.named_parameters():
        torch.testing.assert_close(p.detach(), trained.discriminator.state_dict()[name].clamp(-c, c), rtol=0, atol=0)
    assert torch.equal(wgan.generator.state_dict()["net.0.weight"], trained.generator.state_dict()["net.0.weight"])  # G unclipped


def test_a_pretrained_folder_that_does_not_fit_names_the_key_in_the_models_state_dict(tmp_path):
    """A pretrained folder holds the generator's own keys ("net.0.weight"); the message names the model's
    ("generator.net.0.weight"), as it does for a checkpoint source."""
    folder = save_pretrained(create_model("dcgan", tiny=True), tmp_path / "pretrained")
    other = create_model("dcgan", tiny=True, generator={"init_args": {"base_channels": 4}})
    with pytest.raises(GanZooError, match=r"does not fit the config's model: generator\.net\.0\.weight has shape"):
        load_initial_weights(other, folder)
