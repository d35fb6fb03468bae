"""BEGAN — Berthelot, Schumm & Metz, "BEGAN: Boundary Equilibrium Generative Adversarial Networks", 2017.

The discriminator D is an auto-encoder; a sample's "energy" is its L1 reconstruction error, and the
game matches the *distributions of reconstruction errors* of real and generated images:

    L(v)  = |v − D(v)|^η, η = 1, averaged over pixels                               (Eq. 1)
    L_D   = L(x) − k_t · L(G(z_D))                     for θ_D
    L_G   = L(G(z_G))                                  for θ_G                       (Eq. 4)
    k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1),  k_0 = 0, λ_k = 0.001
    M_global = L(x) + |γ L(x) − L(G(z))|               the convergence measure (Sec. 3.4.1)

γ = E[L(G(z))] / E[L(x)] is the diversity ratio: lower γ gives sharper but less diverse samples. The
paper shows γ ∈ {0.3, 0.5, 0.7}; 0.5 is the default here. Optimizer: Adam, lr 1e-4, which the paper
halves when the convergence measure stalls (Sec. 4.1): ``lr_decay_patience`` turns that on — when
M_global has not gone below its best value for that many D steps, both learning rates are multiplied by
``lr_decay_factor`` (0.5) and the count restarts. The rule runs on the device (``plateau_step``) and the
host, which holds the learning rates, applies a decay that fell due at D step t at D step t + 8
(``LR_DECAY_READ_DELAY``), through a non-blocking copy of the decay count, so no step waits for the GPU and
every device and DDP rank decays in the same step. The best value, the counts, the counts in flight and the
learning rates (optimizer state) are all in the checkpoint, so a resumed run continues the same schedule.

One training batch, the paper's simultaneous update (``update_order="simultaneous"``, the default): both
gradients are taken at (θ_D^t, θ_G^t) —

    x̃_D = G(z_D; θ_G^t)                                   drawn before either net moves
    θ_G ← θ_G − ∇_θG L(G(z_G; θ_G); θ_D^t)                 the G step runs first, so D is still at θ_D^t
    θ_D ← θ_D − ∇_θD [L(x) − k_t L(x̃_D)]                   x̃_D came from θ_G^t
    k_{t+1} from the D step's L(x) and L(x̃_D)              ``after_d_step(stats)``

— which two optimizer steps in that order compute exactly (``tests/test_began.py`` checks it against a
hand-written simultaneous step). ``update_order="sequential"`` is the base loop instead: the D step, then a G
step against the updated D. ``max_steps`` counts both optimizers' steps: ``max_steps: 2000`` is 1,000 batches.

``discriminate(x)`` returns the per-sample energy L(x) (B,) — lower means "more real", unlike the logits
of the other models.

Deviations from the paper:
* k_t and M_global use L(G(z_D)) of the D step instead of L(G(z_G)); z_D and z_G are independent draws
  from the same prior, so the expectation is the same, and both losses are then measured with the same θ_D
  (as in the paper's simultaneous update, where L(x) and L(G(z_G)) share θ_D).
* The learning-rate halving when M_global stalls (Sec. 4.1) is off unless ``lr_decay_patience`` is set: the paper
  gives no patience. The CIFAR-10 and CelebA configs set 5,000 D steps; ``configs/began/mnist.yaml`` and
  ``fashion_mnist.yaml`` leave it off (their 20,000 / 8,000 G updates at batch 16; a patience of 3,000 tried in
  a side branch never fired, docs/studies.md "BEGAN on MNIST").
* ``configs/began/mnist.yaml`` gives D half G's width (the paper: the same n for both nets), see its header.
* ``configs/began/mnist.yaml`` pads the 28x28 digits to the nets' 32x32 (``image_fit: pad``) instead of resizing
  them (the paper trains on faces, resized): every class >= 5 % and IS 8.2 against 9 classes and IS 7.4-7.7 at
  its 20,000 G updates (docs/studies.md "Padding MNIST to 32x32 instead of resizing it"); score it with
  ``gan-zoo evaluate --center-crop 28``. ``fashion_mnist.yaml`` pads too: every class covered and FID against
  Fashion-MNIST 47-53 against 73-78 resized at its ledger budget (docs/studies.md "Padding Fashion-MNIST to 32x32").
* ``configs/began/mnist.yaml`` and ``fashion_mnist.yaml`` use sequential updates (D, then G against the
  updated D), which is what they were measured with (their headers say why).
* Adam's β are PyTorch's defaults (0.9, 0.999): the paper names only the learning rate.
  (``configs/began/mnist.yaml`` and ``fashion_mnist.yaml`` set β1 = 0.5 for both nets: better FID and IS, see
  their headers.)
* The generator ends in tanh to stay in the data range (the paper names no output nonlinearity).
* Both nets start from Xavier/Glorot-uniform weights with zero biases (``weight_init="xavier"`` on the nets;
  the paper names no init). With PyTorch's default init (``"pytorch"``), the ~10 unnormalized conv layers
  shrink the signal about threefold each, so at the start G(z) is almost the same image for every z and D's
  auto-encoder output hardly depends on its input. Measured on MNIST 32×32 (n = 16, batch 16, 2,000 G
  updates): with the default init D learned late or not at all (L(x) stayed at 0.23 in seed 0, where a blank
  image scores 0.26; it started falling only after ~1,500 G updates in seed 1); with Xavier init L(x) fell
  from the start (0.062 / 0.061 at the end, seeds 0 / 1) and M_global fell. Init alone does not cure the
  MNIST collapse onto "1"; the defaults γ = 0.5, λ_k = 0.001 stay the paper's, and ``configs/began/mnist.yaml``
  and ``fashion_mnist.yaml`` depart from them (γ = 1.0, λ_k = 0.01) for the reason and with the measurements in their headers and in
  docs/studies.md ("BEGAN on MNIST").

What limits diversity on MNIST is the objective's equilibrium, not the update: where D cannot tell a class's
generated images from its real ones, ∂L_D/∂(that class's energy) ∝ p_data(c) − k_t p_G(c), so D keeps any class
with p_G(c) < p_data(c) / k_t cheap to reconstruct and G can fill the lowest-energy classes up to that bound.
With k_t ≈ 0.23-0.4 the thin "1" takes 30-50 % of the samples, near p_data("1") / k_t in most measured runs
(``scripts/began_share_bound.py``; docs/studies.md "BEGAN on MNIST"). k_t settles higher when D learns more slowly than
G, which is why ``configs/began/mnist.yaml`` (and ``fashion_mnist.yaml``) gives G Adam lr 2e-4 and D 2.5e-5 (k_t about 0.56, "1" 21 % at
4,000 G updates; with β1 0.5, k_t 0.52-0.58 at 8,000); the model's defaults stay the paper's 1e-4 for both.
The update order does not change this: with simultaneous updates at the same settings (n = 16, 8,000 G updates,
seeds 0 / 1) the top class "1" held 26.2 % / 23.6 % against its bound 22.4 % / 20.2 % (docs/studies.md, "Simultaneous vs
sequential updates").
The generator is not the cause either: BEGAN's generator trained by DCGAN's game (same batch 16, images and G
updates) gives every digit >= 5 % of its samples, while a DCGAN generator under this game collapses onto "1".
A D narrower than G (n = 8 against 16) raises k_t (0.76-0.86 at 8,000 G updates) and gave every digit >= 5 % in
three seeds (docs/studies.md, "The game, not the generator, leaves the rare digits short"), so ``configs/began/mnist.yaml``
gives D half G's width.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from gan_zoo.models.base import GANModule, LatentPrior, LossOutput, StepStats, adam
from gan_zoo.models.host_copies import DelayedHostRead
from gan_zoo.registry import register_model

__all__ = ["BEGAN", "update_k", "m_global", "reconstruction_energy", "plateau_step"]

# D steps between a learning-rate decay falling due on the device and the host applying it. Longer than the host
# runs ahead of a GPU (CUDA's launch queue holds a few steps of BEGAN's kernels), so the read never waits, and
# negligible against a patience of thousands of D steps.
LR_DECAY_READ_DELAY = 8


def reconstruction_energy(x: Tensor, reconstruction: Tensor) -> Tensor:
    """Per-sample L(v) = mean over pixels of |v − D(v)| (Eq. 1, η = 1): (B, ...) -> (B,)."""
    return (x - reconstruction).abs().flatten(1).mean(1)


def update_k(k: Tensor, gamma: float, lambda_k: float, loss_real: Tensor, loss_fake: Tensor) -> Tensor:
    """k_{t+1} = clip(k_t + λ_k (γ L(x) − L(G(z))), 0, 1) (Eq. 4, "proportional control")."""
    return (k + lambda_k * (gamma * loss_real - loss_fake)).clamp(0.0, 1.0)


def m_global(loss_real: Tensor, loss_fake: Tensor, gamma: float) -> Tensor:
    """M_global = L(x) + |γ L(x) − L(G(z))| (Sec. 3.4.1)."""
    return loss_real + (gamma * loss_real - loss_fake).abs()


def plateau_step(value: Tensor, best: Tensor, stalled: Tensor, patience: int) -> tuple[Tensor, Tensor, Tensor]:
    """One step of "decay when the measure stalls", on 0-d tensors without reading them back: returns
    (new best, new stall count, decay now?).

    A value below ``best`` resets the count; otherwise the count grows, and reaching ``patience``
    triggers a decay and restarts the count (the best value is kept).
    """
    improved = value < best
    stalled = torch.where(improved, 0, stalled + 1)
    due = stalled >= patience
    return torch.where(improved, value, best), torch.where(due, 0, stalled), due


@register_model(
    "began",
    defaults={
        "generator": {"class_path": "gan_zoo.nets.BEGANGenerator", "init_args": {"latent_dim": 64, "image_shape": [3, 64, 64], "num_filters": 64}},
        "discriminator": {"class_path": "gan_zoo.nets.BEGANDiscriminator", "init_args": {"image_shape": [3, 64, 64], "num_filters": 64, "hidden_dim": 64}},
    },
    tiny={
        "generator": {"init_args": {"latent_dim": 8, "image_shape": [3, 32, 32], "num_filters": 4}},
        "discriminator": {"init_args": {"image_shape": [3, 32, 32], "num_filters": 4, "hidden_dim": 8}},
    },
)
class BEGAN(GANModule):
    """Berthelot et al. 2017: auto-encoder D, L1 energies, equilibrium control k_t, M_global.

    ``max_steps`` counts D + G steps (two per batch).

    Args (beyond ``GANModule``'s, which pass through ``**kwargs``):
        latent_prior: the paper's uniform z ∈ [−1, 1]^N_z by default.
        gamma: γ > 0, the diversity ratio. The paper's range is (0, 1]; above 1 the controller asks generated
            images to be reconstructed *worse* than real ones, which raises k_t (measured on MNIST: docs/studies.md,
            "BEGAN on MNIST"; at 1.5 D stopped auto-encoding the data).
        lambda_k: λ_k, the learning rate of k_t.
        k_init: k_0.
        lr_decay_patience: if set, halve (``lr_decay_factor``) both learning rates when M_global has not
            improved for this many D steps; ``None`` keeps them constant.
        lr_decay_factor: the factor applied at each decay.
        update_order: ``"simultaneous"`` (the paper: both nets' gradients at the same (θ_D, θ_G)) or
            ``"sequential"`` (the base loop: D's step, then G's against the updated D).
    """

    default_g_optimizer = staticmethod(adam(1e-4))  # Sec. 4.1: lr 1e-4
    default_d_optimizer = staticmethod(adam(1e-4))

    def __init__(
        self,
        *,
        latent_prior: LatentPrior = "uniform",
        gamma: float = 0.5,
        lambda_k: float = 0.001,
        k_init: float = 0.0,
        lr_decay_patience: int | None = None,
        lr_decay_factor: float = 0.5,
        update_order: Literal["simultaneous", "sequential"] = "simultaneous",
        **kwargs: Any,
    ) -> None:
        super().__init__(latent_prior=latent_prior, **kwargs)
        if not gamma > 0.0:
            raise ValueError(f"gamma must be > 0, got {gamma}; the paper uses 0.3-0.7")
        if not 0.0 <= k_init <= 1.0:
            raise ValueError(f"k_init must be in [0, 1], got {k_init}")
        if lr_decay_patience is not None and lr_decay_patience < 1:
            raise ValueError(f"lr_decay_patience must be >= 1 or null, got {lr_decay_patience}")
        if update_order not in ("simultaneous", "sequential"):
            raise ValueError(f"update_order must be 'simultaneous' (the paper) or 'sequential', got {update_order!r}")
        if not 0.0 < lr_decay_factor < 1.0:
            raise ValueError(f"lr_decay_factor must be in (0, 1), got {lr_decay_factor}")
        self.register_buffer("k", torch.tensor(k_init, dtype=torch.float32))  # k_t, saved with the checkpoint
        self.register_buffer("best_m_global", torch.tensor(float("inf")))  # plateau detector state
        self.register_buffer("steps_since_best", torch.zeros((), dtype=torch.long))
        self.register_buffer("lr_decays_due", torch.zeros((), dtype=torch.long))  # decays the rule has called for
        self.register_buffer("lr_decays_applied", torch.zeros((), dtype=torch.long))  # ... and made to the rates
        # lr_decays_due after each of the last LR_DECAY_READ_DELAY D steps, oldest first: the copies in flight,
        # written from the host reader when a state dict is taken (no per-step work), read back after a load
        self.register_buffer("lr_decays_due_recent", torch.zeros(LR_DECAY_READ_DELAY, dtype=torch.long))
        self._lr_decays_applied = 0  # host mirror of lr_decays_applied
        self._lr_decay_reads = DelayedHostRead(LR_DECAY_READ_DELAY)
        self.register_state_dict_pre_hook(BEGAN._write_decays_in_flight)
        self.register_load_state_dict_pre_hook(BEGAN._zero_decay_counts_if_absent)
        self.register_load_state_dict_post_hook(BEGAN._read_decays_back)

    @staticmethod
    def _zero_decay_counts_if_absent(module: "BEGAN", state_dict: dict[str, Tensor], prefix: str, *args: Any) -> None:
        """Checkpoints written before the decay counts were buffers lack them: any decay they made is already in
        their optimizers' learning rates, so both counts start at 0 (missing keys would fail a strict load)."""
        for name in ("lr_decays_due", "lr_decays_applied"):
            state_dict.setdefault(prefix + name, torch.zeros((), dtype=torch.long))
        # Checkpoints written before the counts in flight were kept: what fell due is read at the first step.
        state_dict.setdefault(prefix + "lr_decays_due_recent", state_dict[prefix + "lr_decays_due"].repeat(LR_DECAY_READ_DELAY))

    @staticmethod
    def _write_decays_in_flight(module: "BEGAN", prefix: str, keep_vars: bool) -> None:
        """Buffer <- the host reader's copies in flight, whenever a state dict (a checkpoint) is taken."""
        module.lr_decays_due_recent.copy_(torch.tensor(module._lr_decay_reads.in_flight(), dtype=torch.long))

    @staticmethod
    def _read_decays_back(module: "BEGAN", incompatible_keys: Any) -> None:
        """Host mirror <- buffer after a load (a resumed fit): one read at load time, never inside a step."""
        module._lr_decays_applied = int(module.lr_decays_applied)
        module._lr_decay_reads.restart(module.lr_decays_due_recent.tolist())  # the counts in flight at the save

    def energy(self, x: Tensor) -> Tensor:
        """L(x) per sample (B,)."""
        return reconstruction_energy(x, self.discriminator(x))

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.energy(x)  # (B,) energies: lower is "more real"

    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        loss_real = self.energy(real).mean()  # L(x)
        loss_fake = self.energy(fake).mean()  # L(G(z_D)), G detached
        stats = {
            "loss_real": loss_real.detach(),
            "loss_fake": loss_fake.detach(),
            "k": self.k.clone(),  # k_t used in this step's L_D
            "m_global": m_global(loss_real.detach(), loss_fake.detach(), self.hparams.gamma),
        }
        return loss_real - self.k * loss_fake, stats  # L_D (Eq. 4)

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        return self.energy(fake).mean()  # L_G = L(G(z_G))

    def training_step(self, batch: Any, batch_idx: int) -> StepStats:
        if self.hparams.update_order == "sequential":
            return super().training_step(batch, batch_idx)
        # Simultaneous (the paper): both gradients at (θ_D^t, θ_G^t). D's fakes are drawn before G moves, and
        # G's step runs before D's, so each net's step sees the other at time t.
        real, labels = self.unpack_batch(batch)
        n = real.shape[0]
        with torch.no_grad():
            fake_for_d = self.generate(self.sample_latent(n), labels)  # x̃_D = G(z_D; θ_G^t), (B, C, H, W)
        stats = self.g_update(lambda: self.g_loss(real, self.generate(self.sample_latent(n), labels), labels))
        return stats | self.d_update(lambda: self.d_loss(real, fake_for_d, labels))

    def after_d_step(self, stats: StepStats) -> None:
        # Eq. 4 and M_global read L(x) and L(G(z)) of the whole minibatch; under DDP each rank measured its own
        # shard, and ranks with their own k_t (or their own lr decays) would train different models.
        loss_real, loss_fake = self.mean_over_ranks(stats["loss_real"], stats["loss_fake"])
        gamma = self.hparams.gamma
        self.k.copy_(update_k(self.k, gamma, self.hparams.lambda_k, loss_real, loss_fake))
        if self.hparams.lr_decay_patience is not None:
            self._decay_on_plateau(m_global(loss_real, loss_fake, gamma))

    def _decay_on_plateau(self, measure: Tensor) -> None:
        """``plateau_step`` on the device, so no D step waits for the GPU. Decays that fall due are counted in
        the buffer ``lr_decays_due``; the learning rates live on the host, which reads that count
        ``LR_DECAY_READ_DELAY`` D steps later (``DelayedHostRead``: a non-blocking copy, long landed by then) and
        multiplies the rates by the decays it has not applied yet. The delay is the same on the CPU, on a GPU
        and on every DDP rank (whose energies ``after_d_step`` averaged first), so the ranks decay in the same
        step and stay one model. ``lr_decays_applied`` is the host count's checkpointed copy and
        ``lr_decays_due_recent`` holds the counts in flight, so a run resumed from any step decays exactly when
        the straight run does."""
        best, stalled, due = plateau_step(measure, self.best_m_global, self.steps_since_best, self.hparams.lr_decay_patience)
        self.best_m_global.copy_(best)
        self.steps_since_best.copy_(stalled)
        self.lr_decays_due.add_(due.long())
        decays = int(self._lr_decay_reads.push(self.lr_decays_due)) - self._lr_decays_applied  # due 8 D steps ago
        if decays > 0:
            for optimizer in self.optimizers():
                for group in optimizer.param_groups:
                    group["lr"] *= self.hparams.lr_decay_factor**decays
            self._lr_decays_applied += decays
            self.lr_decays_applied.fill_(self._lr_decays_applied)  # host -> device write: no wait
