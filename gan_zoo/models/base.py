"""``GANModule``: the alternating discriminator/generator loop, written once.

Per training batch (one real minibatch x of size B):

    1. z ~ p(z);  x̃ = G(z) without gradients                          # (B, ...)
    2. D step:   minimize d_loss(x, x̃) w.r.t. θ_D, then after_d_step()  # e.g. weight clipping
    3. once every ``critic_steps()`` D steps:
       G step:   z ~ p(z); minimize g_loss(x, G(z)) w.r.t. θ_G, then after_g_step()  # e.g. EMA update

A variant subclasses ``GANModule`` and writes ``d_loss``/``g_loss`` (and hooks) like its paper's
algorithm box. Every piece of training state is a buffer, so checkpoints carry it:
``d_updates``/``g_updates`` (optimizer steps taken per network), ``critic_streak`` (D steps since the
last G step) and the generator EMA (``AveragedModel``).

Units: with manual optimization Lightning's ``global_step`` counts the steps of *both* optimizers,
so ``trainer.max_steps`` = d_updates + g_updates, not generator iterations. With n_critic = 1,
``max_steps: 2000`` is 1000 batches.

Optimizers are fixed in the order (G, D). Each update runs inside ``toggled_optimizer`` (so the other
net's parameters get no gradients) and uses ``manual_backward`` (so AMP grad scaling and DDP gradient
sync go through Lightning's precision plugin and strategy).
"""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any, Callable, Literal

import lightning as L
import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

__all__ = ["GANModule", "LatentPrior", "sample_latent"]

# The nets are injected modules on purpose: LightningCLI/create_model store their class_path/init_args
# config in hparams (not the modules), which Lightning's "ignore nn.Module hparams" advice would strip.
warnings.filterwarnings("ignore", message=r"Attribute '(generator|discriminator)' is an instance of `nn.Module`")

LatentPrior = Literal["normal", "uniform"]


def sample_latent(
    n: int, latent_dim: int, prior: LatentPrior = "normal", generator: torch.Generator | None = None
) -> Tensor:
    """z ~ N(0, I) or U(-1, 1)^latent_dim, shape (n, latent_dim), on the CPU (move it after)."""
    if prior == "normal":
        return torch.randn(n, latent_dim, generator=generator)
    if prior == "uniform":
        return torch.rand(n, latent_dim, generator=generator) * 2 - 1
    raise ValueError(f"unknown latent prior {prior!r}; use 'normal' or 'uniform'")


def adam(lr: float, betas: tuple[float, float]) -> Callable[[Any], torch.optim.Optimizer]:
    """A default optimizer factory (a partial, so it is never stored in hparams: defaults are ``None``)."""
    return partial(torch.optim.Adam, lr=lr, betas=betas)


class GANModule(L.LightningModule):
    """Shared adversarial training loop with manual optimization.

    Args:
        generator: a net with an int ``latent_dim`` attribute mapping z (B, latent_dim) to samples.
        discriminator: a net mapping samples to one logit (or critic value) per sample, shape (B,).
        g_optimizer: optimizer factory for G; ``None`` means the paper's (``default_g_optimizer``).
        d_optimizer: optimizer factory for D; ``None`` means the paper's (``default_d_optimizer``).
        n_critic: D steps per G step.
        latent_prior: distribution of z.
        ema_decay: if set, keep an exponential moving average of G's weights (and buffers) with this
            decay, updated after every G step; ``sample`` then uses it by default.
    """

    # Paper defaults; a variant overrides these two factories. Radford et al. 2015: Adam(2e-4, β1=0.5).
    default_g_optimizer: Callable[[Any], torch.optim.Optimizer] = staticmethod(adam(2e-4, (0.5, 0.999)))
    default_d_optimizer: Callable[[Any], torch.optim.Optimizer] = staticmethod(adam(2e-4, (0.5, 0.999)))

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        n_critic: int = 1,
        latent_prior: LatentPrior = "normal",
        ema_decay: float | None = None,
    ) -> None:
        super().__init__()
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {n_critic}")
        if not isinstance(getattr(generator, "latent_dim", None), int):
            raise ValueError(f"{type(generator).__name__} needs an int attribute `latent_dim` (the size of z)")
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer_factory = g_optimizer or self.default_g_optimizer
        self.d_optimizer_factory = d_optimizer or self.default_d_optimizer
        self.register_buffer("d_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("g_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("critic_streak", torch.zeros((), dtype=torch.long))  # D steps since last G step
        self.generator_ema: AveragedModel | None = None
        if ema_decay is not None:
            if not 0.0 < ema_decay < 1.0:
                raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
            self.generator_ema = AveragedModel(
                generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True
            )

    # ------------------------------------------------------------------ what a variant writes
    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> Tensor:
        """Discriminator loss on a real batch and a detached fake batch. Log diagnostics with ``log_train``."""
        raise NotImplementedError

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> Tensor:
        """Generator loss; ``fake`` carries gradients to G. ``real`` is there for feature matching."""
        raise NotImplementedError

    def after_d_step(self) -> None:
        """Runs after every D update (weight clipping, k_t updates, ...)."""

    def after_g_step(self) -> None:
        """Runs after every G update. The base keeps the generator EMA."""
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)

    def critic_steps(self) -> int:
        """D steps before the next G step; a schedule may depend on ``self.g_updates``."""
        return self.hparams.n_critic

    # ------------------------------------------------------------------ generation
    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return sample_latent(n, self.latent_dim, self.hparams.latent_prior, generator).to(self.device)

    def generate(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G(z); conditional variants override this to use ``labels``."""
        return (net or self.generator)(z)

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """D(x) logits (B,); conditional variants override this to use ``labels``."""
        return self.discriminator(x)

    def grid_labels(self, n: int) -> Tensor | None:
        """Labels for sample grids; conditional variants return one class per row."""
        return None

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.generate(z, labels)

    @torch.no_grad()
    def sample(
        self, n: int, labels: Tensor | None = None, seed: int | None = None, use_ema: bool | None = None
    ) -> Tensor:
        """``n`` samples from G in eval mode (batch norm uses running statistics).

        Args:
            n: number of samples.
            labels: (n,) class indices for conditional models.
            seed: makes z (and so the samples) reproducible; ``None`` draws from the global RNG.
            use_ema: use the EMA generator; default: whenever one is kept.
        Returns:
            (n, ...) samples, e.g. (n, C, H, W) images in [-1, 1].
        """
        rng = torch.Generator().manual_seed(seed) if seed is not None else None
        z = self.sample_latent(n, generator=rng)
        if use_ema is None:
            use_ema = self.generator_ema is not None
        if use_ema and self.generator_ema is None:
            raise ValueError("use_ema=True but this model keeps no EMA; set ema_decay when training")
        net = self.generator_ema.module if use_ema else self.generator
        was_training = net.training
        net.eval()
        try:
            return self.generate(z, labels if labels is None else labels.to(self.device), net=net)
        finally:
            net.train(was_training)

    def on_fit_start(self) -> None:
        # Lightning seeds every DDP rank with the same seed, so each rank would draw the *same* z and the
        # all-reduced G gradient would see B distinct fakes instead of B x world_size. Offset the torch
        # RNG by the rank (data sharding uses the sampler's own seed and is unaffected).
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # The noise stream is training state too: with it, resuming from an epoch-end checkpoint
        # replays the uninterrupted run bit for bit (z, ε, shuffling all come from the torch RNG).
        checkpoint["gan_zoo_rng"] = {
            "cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # ``load_from_checkpoint`` rebuilds the injected nets/optimizer factories through Lightning's
        # instantiator, which leaves the built objects in ``hparams``. Put back the plain
        # class_path/init_args config the checkpoint stores, so this model can be saved (and exported) again.
        rng = checkpoint.get("gan_zoo_rng")
        if rng is not None and self._trainer is not None:  # resuming a fit; never on inference loads
            torch.set_rng_state(rng["cpu"])
            if torch.cuda.is_available() and len(rng["cuda"]) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(rng["cuda"])
        saved = checkpoint.get("hyper_parameters") or {}
        for key, value in saved.items():
            current = self.hparams.get(key)
            if key.startswith("_") and key not in self.hparams or isinstance(current, nn.Module) or (
                callable(current) and not isinstance(current, type)
            ):
                self.hparams[key] = value

    # ------------------------------------------------------------------ the loop
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        # Fixed order (G, D) for every model.
        return [
            self.g_optimizer_factory(self.generator.parameters()),
            self.d_optimizer_factory(self.discriminator.parameters()),
        ]

    @staticmethod
    def unpack_batch(batch: Any) -> tuple[Tensor, Tensor | None]:
        """(x, y), [x] or x -> (x, y or None)."""
        if isinstance(batch, (list, tuple)):
            return batch[0], (batch[1] if len(batch) > 1 else None)
        return batch, None

    def log_train(self, **values: Tensor | float) -> None:
        """Log scalars under ``train/`` once per step."""
        self.log_dict({f"train/{k}": v for k, v in values.items()}, on_step=True, on_epoch=False, prog_bar=True)

    def optimizer_step_on(self, optimizer: Any, loss_fn: Callable[[], Tensor]) -> Tensor:
        """One AMP/DDP-safe update: toggle, zero grads, backward through the precision plugin, step."""
        with self.toggled_optimizer(optimizer):
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn()
            self.manual_backward(loss)
            optimizer.step()
        return loss.detach()

    def d_update(self, loss_fn: Callable[[], Tensor]) -> None:
        """One D step with its bookkeeping: counters, ``after_d_step``, logging."""
        d_loss = self.optimizer_step_on(self.optimizers()[1], loss_fn)
        self.d_updates += 1
        self.critic_streak += 1
        self.after_d_step()
        self.log_train(d_loss=d_loss)

    def generator_turn(self) -> bool:
        """True once ``critic_steps()`` D steps have run since the last G step."""
        return int(self.critic_streak) >= self.critic_steps()

    def g_update(self, loss_fn: Callable[[], Tensor]) -> None:
        """One G step with its bookkeeping: counters, ``after_g_step`` (EMA), logging."""
        g_loss = self.optimizer_step_on(self.optimizers()[0], loss_fn)
        self.g_updates += 1
        self.critic_streak.zero_()
        self.after_g_step()
        self.log_train(g_loss=g_loss)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        real, labels = self.unpack_batch(batch)
        n = real.shape[0]
        with torch.no_grad():
            fake = self.generate(self.sample_latent(n), labels)  # (B, ...) no graph into G
        self.d_update(lambda: self.d_loss(real, fake, labels))
        if self.generator_turn():
            self.g_update(lambda: self.g_loss(real, self.generate(self.sample_latent(n), labels), labels))
