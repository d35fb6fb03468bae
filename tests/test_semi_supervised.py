"""The semi-supervised GAN (Salimans et al. 2016, Sec. 5): the (K+1)-class identities, the labelled subset,
the authors' weight-norm init, and classification error through `gan-zoo test` / `validate`."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_zoo import create_model
from gan_zoo.data import SemiSupervisedDataModule, balanced_labelled_subset
from gan_zoo.errors import GanZooError
from gan_zoo.losses import class_logits_to_real_logit, semi_supervised_losses
from gan_zoo.nets import SemiSupervisedMLPDiscriminator
from helpers import tiny_trainer

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [-3.0, -4.0, -2.5], [10.0, 9.0, -20.0], [0.0, 0.0, 0.0]], dtype=torch.float64)


def test_log_d_is_logsumexp_minus_softplus_of_logsumexp():
    lse = class_logits_to_real_logit(LOGITS)
    for row, value in zip(LOGITS.tolist(), lse):
        z = sum(math.exp(v) for v in row)  # Z(x) = Σ_k exp l_k
        assert (value - F.softplus(value)).item() == pytest.approx(math.log(z / (z + 1)), rel=1e-12)  # log D(x)
        assert (-F.softplus(value)).item() == pytest.approx(math.log(1 / (z + 1)), rel=1e-12)  # log(1 − D(x))


def test_semi_supervised_losses_are_the_papers_equations():
    labels = torch.tensor([0, 2, 1, 1])
    unlabelled, fake = LOGITS.flip(0), LOGITS * 0.5
    supervised, unsupervised = semi_supervised_losses(LOGITS, labels, unlabelled, fake)

    def log_p(row, k):  # log p(y = k | x, y < K+1), softmax over the K real classes
        return row[k] - math.log(sum(math.exp(v) for v in row))

    def log_d(row):  # log D(x) = log(Z / (Z + 1))
        z = sum(math.exp(v) for v in row)
        return math.log(z / (z + 1))

    expected_sup = -sum(log_p(r, k) for r, k in zip(LOGITS.tolist(), labels.tolist())) / 4
    expected_unsup = -sum(log_d(r) for r in unlabelled.tolist()) / 4 - sum(math.log(1 - math.exp(log_d(r))) for r in fake.tolist()) / 4
    assert supervised.item() == pytest.approx(expected_sup, rel=1e-12)
    assert unsupervised.item() == pytest.approx(expected_unsup, rel=1e-10)


def test_model_uses_logsumexp_as_its_real_fake_logit():
    model = create_model("semi_supervised_gan", tiny=True).eval()
    x = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(model.discriminate(x), torch.logsumexp(model.classify(x), dim=1))
    assert model.classify(x).shape == (5, 10)


def test_data_dependent_init_standardises_every_layer_on_its_batch():
    torch.manual_seed(0)
    d = SemiSupervisedMLPDiscriminator(hidden=(32, 16), input_noise=0.0, hidden_noise=0.0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    d.init_from_data_(x)
    h = x.flatten(1)
    for layer in [*d.body.children(), *d.head.children()]:
        if hasattr(layer, "v"):
            t = layer(h)  # pre-activations with the new g and b
            torch.testing.assert_close(t.mean(0), torch.zeros(t.shape[1]), atol=1e-4, rtol=0)
            torch.testing.assert_close(t.std(0, unbiased=False), torch.ones(t.shape[1]), atol=1e-3, rtol=0)
        h = layer(h)
    assert isinstance(d.head[1].g, torch.nn.Parameter) and not isinstance(d.body[2].g, torch.nn.Parameter)  # authors': only the output scale learns


# ------------------------------------------------------------------------------ the labelled subset
def test_balanced_subset_is_seeded_and_balanced():
    labels = torch.arange(200) % 10
    a, b = balanced_labelled_subset(labels, 3, 10, seed=4), balanced_labelled_subset(labels, 3, 10, seed=4)
    assert torch.equal(a, b) and len(a.unique()) == 30
    assert torch.bincount(labels[a], minlength=10).tolist() == [3] * 10
    assert not torch.equal(a, balanced_labelled_subset(labels, 3, 10, seed=5))
    with pytest.raises(GanZooError, match="fewer"):
        balanced_labelled_subset(labels, 30, 10, seed=0)


def test_mnist_labelled_subset_batches_and_splits(data_dir):
    dm = SemiSupervisedDataModule(data_dir=str(data_dir), num_labelled=100, label_seed=3, validation_size=1000, download=False)
    dm.setup("fit")
    again = SemiSupervisedDataModule(data_dir=str(data_dir), num_labelled=100, label_seed=3, validation_size=1000, batch_size=7, download=False)
    again.setup("fit")
    assert torch.equal(dm.labelled_indices, again.labelled_indices)  # the seed alone fixes the subset
    train = dm.train_set
    assert len(train) == 59_000 and len(dm.val_images) == 1000 and len(dm.test_images) == 10_000
    assert torch.bincount(train.labelled_targets, minlength=10).tolist() == [10] * 10
    # the labelled images are training-pool images, none of them held out for validation
    pool = train.images.flatten(1)
    for i in dm.labelled_indices[:5].tolist():
        assert torch.equal(train.labelled[dm.labelled_indices.tolist().index(i)], train.images[i])
    held_out = {tuple(v) for v in dm.val_images.flatten(1)[:50].mul(127.5).round().long().tolist()}
    assert not held_out & {tuple(v) for v in pool[dm.labelled_indices].mul(127.5).round().long().tolist()}
    x_u, x_l, y_l = next(iter(dm.train_dataloader()))
    assert x_u.shape == (100, 1, 28, 28) and x_l.shape == (100, 1, 28, 28)
    assert torch.bincount(y_l, minlength=10).tolist() == [10] * 10  # B_l = num_labelled: each labelled image once
    other = SemiSupervisedDataModule(data_dir=str(data_dir), label_seed=4, validation_size=1000, download=False)
    other.setup("fit")
    assert not torch.equal(other.labelled_indices, dm.labelled_indices)


def test_bad_label_counts_are_one_line_errors():
    with pytest.raises(GanZooError, match="multiple of 10"):
        SemiSupervisedDataModule(num_labelled=15)


# ------------------------------------------------------------------------------ training and the error reports
def test_fit_then_test_and_validate_report_classification_error(data_dir, tmp_path):
    from gan_zoo.cli import cli_main

    common = [
        "--config", "configs/semi_supervised_gan/mnist_100labels.yaml",
        "--model.init_args.generator.init_args.hidden", "[16]",
        "--model.init_args.discriminator.init_args.hidden", "[32, 16]",
        "--data.init_args.data_dir", str(data_dir), "--data.init_args.download", "false",
        "--data.init_args.limit_samples", "400", "--data.init_args.validation_size", "300",
        "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
    ]
    fit = cli_main(["fit", *common, "--trainer.default_root_dir", str(tmp_path), "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "1"])
    model, dm = fit.model, fit.datamodule
    assert model.num_d_updates == 4 and model.num_g_updates == 4  # 400 unlabelled images / 100 per batch
    ckpt = str(tmp_path / "checkpoints" / "last.ckpt")
    for stage, images, targets in (("test", dm.test_images, dm.test_targets), ("validate", dm.val_images, dm.val_targets)):
        cli = cli_main([stage, *common, "--trainer.default_root_dir", str(tmp_path / stage), "--ckpt_path", ckpt])
        reported = cli.trainer.callback_metrics[f"{'val' if stage == 'validate' else 'test'}/error"].item()
        restored = type(model).load_from_checkpoint(ckpt).eval()
        with torch.no_grad():
            expected = (restored.classify(images).argmax(1) != targets).double().mean().item()
        assert reported == pytest.approx(expected, abs=1e-6)
        assert 0.0 <= reported <= 1.0
