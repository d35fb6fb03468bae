"""Semi-supervised GAN — Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016, Sec. 5.

D is a K-class classifier with logits l_1..l_K(x); generated images are the implicit class K+1 (logit 0):

    D(x) = 1 − p(y = K+1 | x) = Z(x) / (Z(x) + 1),   Z(x) = Σ_k exp l_k(x)     so D(x) = σ(logsumexp l(x))

    L_D = L_supervised + w · L_unsupervised
    L_supervised   = −E_{(x,y) ~ labelled} log softmax(l(x))_y
    L_unsupervised = −E_{x ~ data} log D(x) − E_{z ~ p(z)} log(1 − D(G(z)))
    L_G = ‖E_x f(x) − E_z f(G(z))‖²₂      feature matching (Sec. 3.1) on D's last hidden layer f

(``losses.semi_supervised_losses``, ``losses.feature_matching_loss``). The classifier is D itself:
``classify(x)`` = l(x); ``gan-zoo validate`` / ``gan-zoo test`` report its error rate (``val/error``,
``test/error``) on held-out images and on the official test split, scored, as in the authors' code, with a
moving average of D's weights (``classifier_average_decay``; ``*/error_last`` scores D's current weights).

Per batch (``SemiSupervisedDataModule``: B unlabelled images, B_l labelled images with their classes):
    1. z ~ U(−1, 1);  x̃ = G(z), B of them, without gradients
    2. D step:  minimise L_supervised(x_l, y_l) + w · L_unsupervised(x_u, x̃)
    3. G step:  fresh z;  minimise FM(x_u, G(z))
A plain (x, y) batch (every image labelled) is read as x_u = x_l = x.

The paper's MNIST model (Sec. 5.1 and the authors' code), the defaults here: G = 100 → 500 → 500 → 784 with
batch norm and softplus, a weight-normed output layer; D = 784 → 1000 → 500 → 250 → 250 → 250 → 10, every
layer weight-normed, Gaussian noise (std 0.3 on the input, 0.5 after each hidden layer); z ~ U^100;
Adam(lr 0.003, β1 = 0.5); batches of 100 labelled + 100 unlabelled + 100 generated; 100 labels.

Deviations from the paper:
* Data in [−1, 1] with a tanh output (the authors: [0, 1] with sigmoid); D maps its input back to [0, 1],
  (x + 1) / 2, before the input noise (std 0.3, the paper's), so its first layer sees the authors' pixels.
  That matters: with Adam on weight-normed directions, training on [−1, 1] pixels is not equivalent
  (``SemiSupervisedMLPDiscriminator(unit_pixels=...)``; docs/studies.md: the error on either range).
* The data-dependent weight-norm init uses the first training batch of unlabelled images (100), the
  authors' the first 500 training images. G's batch norm has a learned scale (theirs: none).
* z ~ U(−1, 1) instead of U(0, 1) (a shift the first layer absorbs).
* The feature-matching loss is the *mean* of the squared differences of the feature means, as in the
  authors' code (the paper writes ‖·‖²₂, the sum); with Adam's ε (below) the scale is not neutral.
* Adam's ε is 1e-4 outside the square root (torch) for the authors' 1e-8 inside it (Theano code).
* G's feature-matching target E_x f(x) is taken on the unlabelled batch D just used; the authors' code
  takes it on a second, independently shuffled copy of the unlabelled images (same distribution).
* D scores the labelled, unlabelled and generated batches in one forward pass (concatenated); with no
  batch-dependent layer in D this equals three passes (``tests/test_semi_supervised.py``) and is faster.
* ``unsupervised_weight`` w = 1 (the paper's L = L_supervised + L_unsupervised); the authors' MNIST code
  weights the unsupervised term by 1/2 (the shipped config does).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from gan_zoo.losses import class_logits_to_real_logit, feature_matching_loss, semi_supervised_losses
from gan_zoo.models.base import GANModule, LatentPrior, LossOutput, StepStats, adam, update_ema_
from gan_zoo.registry import register_model

__all__ = ["SemiSupervisedGAN"]


@register_model(
    "semi_supervised_gan",
    defaults={
        "generator": {
            "class_path": "gan_zoo.nets.SemiSupervisedMLPGenerator",
            "init_args": {"latent_dim": 100, "image_shape": [1, 28, 28]},
        },
        "discriminator": {
            "class_path": "gan_zoo.nets.SemiSupervisedMLPDiscriminator",
            "init_args": {"image_shape": [1, 28, 28], "num_classes": 10},
        },
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "hidden": [16]}},
        "discriminator": {"init_args": {"hidden": [32, 16]}},
    },
)
class SemiSupervisedGAN(GANModule):
    """Salimans et al. 2016, Sec. 5: a (K+1)-class discriminator trained on few labels; see the module docstring.

    Args (beyond ``GANModule``'s, which pass through ``**kwargs``):
        unsupervised_weight: w, the weight of the real/fake term in D's loss.
        classifier_average_decay: decay of the (bias-corrected) moving average of D's weights that
            validation and test score (the authors' 0.9999); ``None`` scores D's current weights.
        latent_prior: the paper samples z uniformly.
    """

    # The authors' MNIST code: Adam(lr = 0.003, β1 = 0.5) for both players, with ε inside the square root,
    # p -= lr · m̂ / sqrt(v̂ + 1e-8), i.e. an effective ε of 1e-4 for small gradients. That matters here: most
    # of D's weight-norm gradients are below 1e-4 (median 4e-6 in the first layer), and with torch's
    # default ε = 1e-8 they take full-size noisy steps. (No error rate with either ε is measured yet: this
    # follows the authors' update rule, not a comparison.)
    default_g_optimizer = staticmethod(adam(3e-3, (0.5, 0.999), eps=1e-4))
    default_d_optimizer = staticmethod(adam(3e-3, (0.5, 0.999), eps=1e-4))

    def __init__(
        self,
        *,
        unsupervised_weight: float = 1.0,
        classifier_average_decay: float | None = 0.9999,
        latent_prior: LatentPrior = "uniform",
        **kwargs: Any,
    ) -> None:
        super().__init__(latent_prior=latent_prior, **kwargs)
        if unsupervised_weight < 0:
            raise ValueError(f"unsupervised_weight must be >= 0, got {unsupervised_weight}")
        # The authors test with an exponential moving average of D's parameters (rate 1e-4, from zero);
        # here the same average with its start-up bias corrected (so it is usable from the first step).
        self.classifier_average: AveragedModel | None = None
        if classifier_average_decay is not None:
            if not 0.0 < classifier_average_decay < 1.0:
                raise ValueError(f"classifier_average_decay must be in (0, 1), got {classifier_average_decay}")
            self.classifier_average = AveragedModel(
                self.discriminator, avg_fn=bias_corrected_ema(classifier_average_decay), use_buffers=True
            )

    # ------------------------------------------------------------------ data-dependent init (weight norm)
    def on_gan_fit_start(self) -> None:
        # A fresh fit initialises D's weight-normed layers from the first real batch (the authors' init);
        # a resumed fit has its weights already. A host flag, read in on_train_batch_start: no device sync.
        self._init_from_first_batch = self.num_d_updates == 0 and callable(getattr(self.discriminator, "init_from_data_", None))

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if getattr(self, "_init_from_first_batch", False):
            self.discriminator.init_from_data_(self.split_batch(batch)[0])
            self._init_from_first_batch = False
            if self.trainer.world_size > 1:
                # Each rank saw its own first batch: take rank 0's initialisation everywhere, so DDP starts
                # (and stays) with identical weights.
                for tensor in self.discriminator.state_dict().values():
                    torch.distributed.broadcast(tensor, src=0)

    def after_d_step(self, stats: StepStats) -> None:
        if self.classifier_average is not None:
            # Sync-free update (the host knows whether this is the first D step; AveragedModel would read
            # n_averaged back from the device twice per step).
            update_ema_(self.classifier_average, self.discriminator, first=self.num_d_updates == 1)

    # ------------------------------------------------------------------ the (K+1)-class discriminator
    def classify(self, x: Tensor) -> Tensor:
        """Class logits l_1..l_K, (B, K)."""
        return self.discriminator(x)

    def evaluation_classifier(self) -> nn.Module:
        """The net validation and test score: the averaged D when one is kept (the authors' protocol)."""
        return self.discriminator if self.classifier_average is None else self.classifier_average.module

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """The real/fake logit logsumexp(l(x)), (B,): D(x) = σ(·) = Z(x) / (Z(x) + 1)."""
        return class_logits_to_real_logit(self.classify(x))

    # ------------------------------------------------------------------ the players' costs
    def classifier_loss(self, unlabelled: Tensor, labelled: Tensor, labels: Tensor, fake: Tensor) -> LossOutput:
        """L_supervised + w · L_unsupervised on one batch (step 2)."""
        # One forward pass over the three batches: D has no batch-dependent layer (weight norm, per-element
        # noise), so this equals three separate passes in distribution, and the larger matrix products cost
        # less (benchmarks/semi_supervised_step.py).
        logits = self.classify(torch.cat([labelled, unlabelled, fake]))  # (B_l + 2B, K)
        labelled_logits, unlabelled_logits, fake_logits = logits.split([len(labelled), len(unlabelled), len(fake)])
        supervised, unsupervised = semi_supervised_losses(labelled_logits, labels, unlabelled_logits, fake_logits)
        loss = supervised + self.hparams.unsupervised_weight * unsupervised
        return loss, {
            "d_supervised": supervised.detach(),
            "d_unsupervised": unsupervised.detach(),
            "train_error": (labelled_logits.detach().argmax(1) != labels).float().mean(),
        }

    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        """The base protocol's D loss for an all-labelled batch (x, y): x serves as both batches."""
        if labels is None:
            raise ValueError("the semi-supervised GAN needs labels for at least part of each batch")
        return self.classifier_loss(real, real, labels, fake)

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        with torch.no_grad():  # E_x f(x) is the target: no graph into D through the real batch
            real_features = self.features(real)
        return feature_matching_loss(real_features, self.features(fake), reduction="mean")  # (step 3), the authors' mean

    # ------------------------------------------------------------------ the loop: two real batches
    @staticmethod
    def split_batch(batch: Any) -> tuple[Tensor, Tensor, Tensor]:
        """(x_u, x_l, y_l) from a semi-supervised batch, or (x, x, y) from an all-labelled (x, y) batch."""
        if isinstance(batch, (list, tuple)) and len(batch) == 3:
            return batch[0], batch[1], batch[2]
        if isinstance(batch, (list, tuple)) and len(batch) == 2:
            return batch[0], batch[0], batch[1]
        raise ValueError("semi-supervised batches are (x_unlabelled, x_labelled, y_labelled) or (x, y); use SemiSupervisedDataModule")

    def training_step(self, batch: Any, batch_idx: int) -> StepStats:
        unlabelled, labelled, labels = self.split_batch(batch)
        n = unlabelled.shape[0]
        with torch.no_grad():
            fake = self.generate(self.sample_latent(n))  # (B, C, H, W), no graph into G
        stats = self.d_update(lambda: self.classifier_loss(unlabelled, labelled, labels, fake))
        if self.generator_turn():
            stats |= self.g_update(lambda: self.g_loss(unlabelled, self.generate(self.sample_latent(n)), None))
        return stats

    # ------------------------------------------------------------------ classification error
    def _log_errors(self, batch: Any, stage: str) -> None:
        """``<stage>/error`` of the evaluation classifier and ``<stage>/error_last`` of D's current weights."""
        x, y = batch[0], batch[1]  # nets in eval mode: no noise
        for name, net in (("error", self.evaluation_classifier()), ("error_last", self.discriminator)):
            error = (net(x).argmax(1) != y).float().mean()
            self.log(f"{stage}/{name}", error, on_step=False, on_epoch=True, batch_size=len(y), sync_dist=True, prog_bar=name == "error")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._log_errors(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._log_errors(batch, "test")


def bias_corrected_ema(decay: float):
    """``avg_fn`` for ``AveragedModel``: the EMA with rate 1 − decay, divided by its weight 1 − decay^t.

    avg_t = Σ_{i≤t} (1 − d) d^{t−i} θ_i / (1 − d^t), updated as avg ← avg + (θ_t − avg) (1 − d) / (1 − d^t).
    (The authors' average starts from zero without the correction; for weight-normed directions the two
    agree, biases and scales differ by the factor 1 − d^t.)
    """

    def avg_fn(averaged: Tensor, current: Tensor, num_averaged: Tensor) -> Tensor:
        t = num_averaged + 1  # this update is the t-th (AveragedModel copies the first itself)
        weight = (1 - decay) / (1 - decay ** t.to(torch.float64))
        return averaged + (current - averaged) * weight.to(averaged.dtype)

    return avg_fn
