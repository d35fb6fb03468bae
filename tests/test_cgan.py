"""Conditional GAN: the label reaches both nets, every class can be requested, grids show one class per row."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gan_zoo import create_model
from gan_zoo.errors import GanZooError
from gan_zoo.models.cgan import CGAN, class_rows
from gan_zoo.nets.conditional import (
    ConditionalDCGANGenerator,
    ConditionalMLPDiscriminator,
    ConditionalMLPGenerator,
)
from gan_zoo.data import MNISTDataModule
from helpers import random_loader, tiny_trainer

K = 10


def tiny_cgan(conv: bool = False, num_classes: int = K) -> CGAN:
    if conv:
        g = {"class_path": "gan_zoo.nets.conditional.ConditionalDCGANGenerator",
             "init_args": {"latent_dim": 8, "num_classes": num_classes, "image_shape": [3, 32, 32], "base_channels": 8}}
        d = {"class_path": "gan_zoo.nets.conditional.ConditionalDCGANDiscriminator",
             "init_args": {"num_classes": num_classes, "image_shape": [3, 32, 32], "base_channels": 8}}
        return create_model("cgan", generator=g, discriminator=d)
    return create_model(
        "cgan", tiny=True,
        generator={"init_args": {"num_classes": num_classes}}, discriminator={"init_args": {"num_classes": num_classes}},
    )


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "dcgan"])
def test_the_condition_changes_the_output(conv):
    model = tiny_cgan(conv).eval()
    torch.manual_seed(0)
    z = model.sample_latent(6)
    x = model.sample(6, labels=torch.zeros(6, dtype=torch.long), seed=0)
    a = model.generate(z, torch.full((6,), 3))
    b = model.generate(z, torch.full((6,), 4))
    assert not torch.allclose(a, b), "G ignores the label"
    assert x.shape[1:] == model.generator.image_shape
    d_a = model.discriminate(a, torch.full((6,), 3))
    d_b = model.discriminate(a, torch.full((6,), 4))  # same images, other label
    assert d_a.shape == (6,) and not torch.allclose(d_a, d_b), "D ignores the label"


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "dcgan"])
def test_each_class_can_be_requested(conv):
    """sample(n, labels=k) feeds exactly onehot(k) beside z = the seeded prior draw, for every class k."""
    model = tiny_cgan(conv)
    seen = []
    handle = model.generator.net.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    n, z_dim = 5, model.latent_dim
    z_expected = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(11))  # the base's normal prior
    for k in range(K):
        x = model.sample(n, labels=torch.full((n,), k), seed=11)
        g_in = seen[-1].flatten(1)  # (n, Z + K)
        onehot = torch.zeros(n, K)
        onehot[:, k] = 1
        assert torch.equal(g_in[:, z_dim:], onehot), f"class {k} not requested"
        assert torch.allclose(g_in[:, :z_dim], z_expected)
        assert x.shape == (n, *model.generator.image_shape)
    handle.remove()


def test_conv_discriminator_sees_label_maps_as_channels():
    model = tiny_cgan(conv=True)
    seen = []
    first_conv = model.discriminator.net.body[0]
    first_conv.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    labels = torch.tensor([0, 9, 4, 4])
    model.discriminate(x, labels)
    d_in = seen[-1]
    assert d_in.shape == (4, 3 + K, 32, 32)
    assert torch.equal(d_in[:, :3], x)
    for i, k in enumerate(labels.tolist()):
        expected = torch.zeros(K, 32, 32)
        expected[k] = 1
        assert torch.equal(d_in[i, 3:], expected)


def test_mlp_discriminator_joins_label_to_flattened_image():
    model = tiny_cgan()
    seen = []
    model.discriminator.net.body[1].register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    x = torch.rand(3, 1, 28, 28)
    model.discriminate(x, torch.tensor([2, 7, 0]))
    assert torch.equal(seen[-1][:, :784], x.flatten(1))
    assert torch.equal(seen[-1][:, 784:].argmax(1), torch.tensor([2, 7, 0]))
    assert torch.equal(seen[-1][:, 784:].sum(1), torch.ones(3))


def test_grid_labels_put_one_class_per_row():
    assert class_rows(20, 10).tolist() == [k for k in range(10) for _ in range(2)]
    labels = class_rows(64, 10)  # rows of ceil(64 / 10) = 7; the last row is short
    assert len(labels) == 64 and labels.tolist()[:7] == [0] * 7 and labels[-1] == 9
    assert class_rows(4, 10).tolist() == [0, 1, 2, 3]
    model = tiny_cgan()
    assert torch.equal(model.grid_labels(30), torch.arange(10).repeat_interleave(3))


def test_sampling_without_labels_is_reproducible_and_balanced():
    model = tiny_cgan()
    seen = []
    model.generator.net.register_forward_pre_hook(lambda m, args: seen.append(args[0][:, model.latent_dim:].argmax(1)))
    a, b = model.sample(200, seed=3), model.sample(200, seed=3)
    assert torch.equal(a, b) and torch.equal(seen[0], seen[1])
    assert torch.equal(seen[0], torch.arange(200) % K)  # the shared protocol: balanced, interleaved classes


def test_bad_labels_and_mismatched_nets_are_refused():
    model = tiny_cgan()
    with pytest.raises(ValueError, match="class indices in"):
        model.sample(2, labels=torch.tensor([0, K]))
    with pytest.raises(ValueError, match="shape"):
        model.sample(3, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="needs labels"):
        model.generate(model.sample_latent(2))
    with pytest.raises(GanZooError, match="same int `num_classes`"):
        CGAN(generator=ConditionalMLPGenerator(num_classes=10, hidden=[8]), discriminator=ConditionalMLPDiscriminator(num_classes=5, hidden=[8]))
    with pytest.raises(GanZooError, match="num_classes >= 2"):
        ConditionalDCGANGenerator(num_classes=None)  # a dataset without labels, linked by the CLI


def test_fit_trains_with_batch_labels_and_rejects_other_class_counts(tmp_path, data_dir):
    model = tiny_cgan()
    before = model.generator.net.net[0].weight.detach().clone()
    tiny_trainer(tmp_path, max_steps=4).fit(model, random_loader((1, 28, 28), n=32, batch_size=8, num_classes=K))
    assert int(model.g_updates) == 2 and not torch.equal(before, model.generator.net.net[0].weight)

    wrong = tiny_cgan(num_classes=5)
    data = MNISTDataModule(data_dir=str(data_dir), batch_size=4, limit_samples=8, download=False)
    with pytest.raises(GanZooError, match="num_classes=5 but MNISTDataModule has num_classes=10"):
        tiny_trainer(tmp_path, max_steps=2).fit(wrong, datamodule=data)


def test_cli_config_with_another_class_count_fails_with_a_clear_error(tmp_path, data_dir):
    """num_classes is set in the conditional configs (the CLI does not link it); a mismatch with the data
    is a one-line GanZooError before any step."""
    from gan_zoo.cli import cli_main

    config = Path(__file__).parents[1] / "configs" / "cgan" / "mnist.yaml"
    args = [
        "fit", "--config", str(config), "--trainer.fast_dev_run=true", "--trainer.logger=false",
        f"--trainer.default_root_dir={tmp_path}", f"--data.init_args.data_dir={data_dir}",
        "--data.init_args.download=false", "--data.init_args.batch_size=4", "--data.init_args.limit_samples=8",
        "--model.init_args.generator.init_args.num_classes=3",
        "--model.init_args.discriminator.init_args.num_classes=3",
    ]
    with pytest.raises(GanZooError, match="num_classes=3 but MNISTDataModule has num_classes=10"):
        cli_main(args)


def _maxout_plain(x: torch.Tensor, linear: torch.nn.Linear, units: int, pieces: int) -> torch.Tensor:
    """max_j (x W_ij + b_ij), written out: unit i's pieces are rows i*pieces .. i*pieces + pieces - 1 of W."""
    w, b = linear.weight.double(), linear.bias.double()
    out = torch.empty(x.shape[0], units, dtype=torch.float64)
    for i in range(units):
        rows = slice(i * pieces, (i + 1) * pieces)
        out[:, i] = (x @ w[rows].T + b[rows]).max(dim=1).values
    return out


def test_paper_maxout_discriminator_is_two_maxout_towers_then_a_joint_maxout():
    """Mirza & Osindero Sec. 4.1: x -> maxout 240x5, y -> maxout 50x5, joint maxout 240x4, one sigmoid unit;
    recomputed here in float64 from the net's own weights, one unit at a time."""
    from gan_zoo.nets.conditional import ConditionalMaxoutDiscriminator

    torch.manual_seed(0)
    d = ConditionalMaxoutDiscriminator().eval()  # eval: dropout off
    from gan_zoo.nets.mlp import Maxout

    (x_maxout,), (y_maxout,), (joint_maxout,) = (
        [m for m in tower.modules() if isinstance(m, Maxout)] for tower in (d.x_tower, d.y_tower, d.joint)
    )
    assert [x_maxout.linear.out_features, y_maxout.linear.out_features, joint_maxout.linear.out_features] == [
        240 * 5, 50 * 5, 240 * 4
    ]
    x, labels = torch.randn(3, 1, 28, 28), torch.tensor([0, 4, 9])
    y = torch.nn.functional.one_hot(labels, 10).double()
    hx = _maxout_plain(x.flatten(1).double(), x_maxout.linear, 240, 5)
    hy = _maxout_plain(y, y_maxout.linear, 50, 5)
    h = _maxout_plain(torch.cat([hx, hy], 1), joint_maxout.linear, 240, 4)
    logit = h @ d.head.weight.double().T.squeeze(1) + d.head.bias.double()
    torch.testing.assert_close(d.features(x, labels).double(), h, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(d(x, labels).double(), logit, rtol=1e-5, atol=1e-5)
    dropouts = [m.p for m in d.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.5, 0.5, 0.5]  # the paper's dropout 0.5 after each hidden layer of D


def test_paper_tower_generator_maps_z_and_y_through_their_own_layers_first():
    """G: z -> 200 ReLU, y -> 1000 ReLU, joined -> 1200 ReLU -> 784 (tanh here); recomputed in float64."""
    from gan_zoo.nets.conditional import ConditionalTowerGenerator

    torch.manual_seed(0)
    g = ConditionalTowerGenerator().eval()
    z, labels = torch.randn(3, 100), torch.tensor([1, 2, 3])
    y = torch.nn.functional.one_hot(labels, 10).double()

    def dense(v, layer):
        return v @ layer.weight.double().T + layer.bias.double()

    (z_linear,), (y_linear,) = ([m for m in t if isinstance(m, torch.nn.Linear)] for t in (g.z_tower, g.y_tower))
    hz = dense(z.double(), z_linear).relu()
    hy = dense(y, y_linear).relu()
    assert hz.shape[1] == 200 and hy.shape[1] == 1000
    joint_linear, out_linear = [m for m in g.joint if isinstance(m, torch.nn.Linear)]
    h = dense(torch.cat([hz, hy], 1), joint_linear).relu()
    assert h.shape[1] == 1200
    expected = dense(h, out_linear).tanh().view(3, 1, 28, 28)
    torch.testing.assert_close(g(z, labels).double(), expected, rtol=1e-5, atol=1e-5)
    assert [m.p for m in g.modules() if isinstance(m, torch.nn.Dropout)] == [0.5, 0.5, 0.5]  # the paper's dropout
    # the label changes the sample: y reaches the output through its tower
    assert not torch.allclose(g(z, labels), g(z, (labels + 1) % 10))
