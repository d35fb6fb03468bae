"""The semi-supervised GAN (Salimans et al. 2016, Sec. 5): the (K+1)-class identities, the labelled subset,
the authors' weight-norm init, and classification error through `gan-zoo test` / `validate`."""

from __future__ import annotations

import math

import lightning as L
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


def test_classifier_loss_from_one_pass_equals_three_separate_passes():
    """The model scores labelled, unlabelled and generated images in one forward pass and splits the logits;
    with D's noise off that must equal the paper's loss from three passes, whatever the batch sizes."""
    torch.manual_seed(0)
    model = create_model("semi_supervised_gan", tiny=True, unsupervised_weight=0.5)
    model.discriminator.eval()  # Gaussian noise off: the passes are deterministic
    labelled, unlabelled, fake = torch.rand(3, 1, 28, 28), torch.rand(5, 1, 28, 28), torch.rand(4, 1, 28, 28)
    labels = torch.tensor([3, 0, 7])
    loss, stats = model.classifier_loss(unlabelled * 2 - 1, labelled * 2 - 1, labels, fake * 2 - 1)

    d = model.discriminator.double()
    l_lab, l_unl, l_fake = (d(x.double() * 2 - 1) for x in (labelled, unlabelled, fake))
    supervised = -(l_lab.log_softmax(1)[torch.arange(3), labels]).mean()  # −E log p(y | x, y ≤ K)
    lse_unl, lse_fake = l_unl.logsumexp(1), l_fake.logsumexp(1)
    log_d_real = lse_unl - F.softplus(lse_unl)  # log Z/(Z+1)
    log_one_minus_d_fake = -F.softplus(lse_fake)  # log 1/(Z+1)
    unsupervised = -log_d_real.mean() - log_one_minus_d_fake.mean()
    assert stats["d_supervised"].item() == pytest.approx(supervised.item(), rel=1e-5)
    assert stats["d_unsupervised"].item() == pytest.approx(unsupervised.item(), rel=1e-5)
    assert loss.item() == pytest.approx((supervised + 0.5 * unsupervised).item(), rel=1e-5)


def test_data_dependent_init_standardises_every_layer_on_its_batch():
    torch.manual_seed(0)
    d = SemiSupervisedMLPDiscriminator(hidden=(32, 16), input_noise=0.0, hidden_noise=0.0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    d.init_from_data_(x)
    h = d.pixels(x).flatten(1)  # the first layer's input: the authors' [0, 1] pixels
    for layer in [*d.body.children(), *d.head.children()]:
        if hasattr(layer, "v"):
            t = layer(h)  # pre-activations with the new g and b
            torch.testing.assert_close(t.mean(0), torch.zeros(t.shape[1]), atol=1e-4, rtol=0)
            torch.testing.assert_close(t.std(0, unbiased=False), torch.ones(t.shape[1]), atol=1e-3, rtol=0)
        h = layer(h)
    assert isinstance(d.head[1].g, torch.nn.Parameter) and not isinstance(d.body[2].g, torch.nn.Parameter)  # authors': only the output scale learns


def _blank_image_drift(d: SemiSupervisedMLPDiscriminator, steps: int = 5) -> float:
    """How far Adam steps on D (the model's optimizer settings, random images and classes) move the first
    layer's pre-activation of a blank image (all pixels −1), apart from what the bias moves."""
    torch.manual_seed(0)
    first = d.body[2]
    blank = torch.full((1, 1, 28, 28), -1.0)

    def response() -> torch.Tensor:  # W · (blank as the first layer sees it), without the bias
        return F.linear(d.pixels(blank).flatten(1), first.weight())

    before = response().detach().clone()
    optimizer = torch.optim.Adam(d.parameters(), lr=3e-3, betas=(0.5, 0.999), eps=1e-4)
    for _ in range(steps):
        x = torch.rand(16, 1, 28, 28) * 2 - 1
        loss = F.cross_entropy(d(x), torch.randint(0, 10, (16,)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (response().detach() - before).abs().max().item()


def test_discriminator_sees_the_authors_unit_pixels():
    """The authors train D on [0, 1] pixels; with Adam on weight-normed directions, [-1, 1] pixels are not an
    equivalent parametrisation: every step on a background pixel's weight shifts the first layer's
    pre-activations by that step times −1, a drift the bias has to chase. D maps x to (x + 1) / 2 first."""
    d = SemiSupervisedMLPDiscriminator(hidden=(32, 16), input_noise=0.0, hidden_noise=0.0)
    blank, white = torch.full((2, 1, 28, 28), -1.0), torch.ones(2, 1, 28, 28)
    assert d.pixels(blank).abs().max().item() == 0.0 and d.pixels(white).min().item() == 1.0
    assert _blank_image_drift(d) == 0.0  # a blank image reaches the first layer as zeros: nothing to drift
    legacy = SemiSupervisedMLPDiscriminator(hidden=(32, 16), input_noise=0.0, hidden_noise=0.0, unit_pixels=False)
    assert _blank_image_drift(legacy) > 0.01  # the mechanism the default avoids (0.11 here)
    defaults = SemiSupervisedMLPDiscriminator()
    assert defaults.body[1].std == 0.3 and defaults.unit_pixels  # the paper's input noise, in its units


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
    fit_config = (tmp_path / "config.yaml").read_bytes()
    for stage, images, targets in (("test", dm.test_images, dm.test_targets), ("validate", dm.val_images, dm.val_targets)):
        # In the fit's own (logger-less) folder, as a user would: the fit's config.yaml stays as it was.
        cli = cli_main([stage, *common, "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", ckpt])
        assert (tmp_path / "config.yaml").read_bytes() == fit_config
        reported = cli.trainer.callback_metrics[f"{'val' if stage == 'validate' else 'test'}/error"].item()
        last = cli.trainer.callback_metrics[f"{'val' if stage == 'validate' else 'test'}/error_last"].item()
        restored = type(model).load_from_checkpoint(ckpt).eval()
        with torch.no_grad():  # the averaged D (the authors' protocol) and D's last weights
            expected = (restored.classifier_average.module(images).argmax(1) != targets).double().mean().item()
            expected_last = (restored.classify(images).argmax(1) != targets).double().mean().item()
        assert reported == pytest.approx(expected, abs=1e-6) and last == pytest.approx(expected_last, abs=1e-6)
        assert 0.0 <= reported <= 1.0


def test_classifier_average_is_the_bias_corrected_ema_of_d(tmp_path):
    from helpers import random_loader

    decay = 0.6
    model = create_model("semi_supervised_gan", tiny=True, classifier_average_decay=decay)
    snapshots = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            snapshots.append([p.detach().double().clone() for p in pl_module.discriminator.parameters()])

    tiny_trainer(tmp_path, max_steps=8, callbacks=[Record()]).fit(model, random_loader((1, 28, 28), n=32, batch_size=8))
    assert len(snapshots) == 4
    for i, averaged in enumerate(model.classifier_average.module.parameters()):
        # Σ_t (1 − d) d^(T−t) θ_t / (1 − d^T), written plainly
        T = len(snapshots)
        expected = sum((1 - decay) * decay ** (T - t) * snapshots[t - 1][i] for t in range(1, T + 1)) / (1 - decay**T)
        torch.testing.assert_close(averaged.double(), expected, rtol=1e-5, atol=1e-6)


def test_mnist_images_are_the_raw_bytes_scaled_to_minus_one_one(data_dir):
    """The semi-supervised data module reads MNIST itself: its pixels must be the idx file's bytes mapped by
    b / 127.5 − 1, like G's tanh range (D maps them to its unit pixels itself). Read independently here."""
    raw = (data_dir / "MNIST" / "raw" / "t10k-images-idx3-ubyte").read_bytes()[16 : 16 + 2 * 784]
    expected = torch.tensor(list(raw), dtype=torch.float64).view(2, 1, 28, 28) / 127.5 - 1
    dm = SemiSupervisedDataModule(data_dir=str(data_dir), validation_size=1000, download=False)
    dm.setup("fit")
    torch.testing.assert_close(dm.test_images[:2].double(), expected, atol=1e-6, rtol=0)
    x_u, x_l, _ = next(iter(dm.train_dataloader()))
    for batch in (x_u, x_l):
        assert batch.min().item() == -1.0 and batch.max().item() == 1.0  # blank background, full ink


def test_g_loss_is_feature_matching_with_the_authors_mean():
    """Step 3's G loss, written out in float64: ||E f(x) − E f(G(z))||² averaged over the F features (the
    authors' mean, not the sum: the sum scales G's gradient by F, which Adam's ε = 1e-4 does not absorb)."""
    model = create_model("semi_supervised_gan", tiny=True)
    model.eval()  # D's Gaussian noise off: f is deterministic
    real = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fake = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        f_real, f_fake = model.features(real).double(), model.features(fake).double()
        loss = model.g_loss(real, fake, None)
    assert f_real.shape[1] >= 2  # with one feature, mean and sum agree
    by_hand = ((f_real.mean(0) - f_fake.mean(0)) ** 2).mean()
    assert loss.item() == pytest.approx(by_hand.item(), rel=1e-5)
