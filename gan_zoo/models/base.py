"""``GANModule``: the alternating discriminator/generator loop, written once.

Per training batch (one real minibatch x of size B):

    1. z ~ p(z);  x̃ = G(z) without gradients                              # (B, ...)
    2. D step:   (L_D, stats) = d_loss(x, x̃);  minimize L_D w.r.t. θ_D;  after_d_step(stats)
    3. once every ``critic_steps()`` D steps:
       G step:   z ~ p(z);  (L_G, stats) = g_loss(x, G(z));  minimize L_G w.r.t. θ_G;  EMA;  after_g_step(stats)

The contract a variant writes against (it reads like the paper's algorithm box):

* ``d_loss(real, fake, labels)`` / ``g_loss(real, fake, labels)`` return ``(loss, stats)``: the loss with its
  graph, and a small mapping of what the step measured (detached scalars on the device). A bare loss
  tensor is accepted too. The base logs the stats (``train/<name>``, one place) and hands them, with the
  loss under ``d_loss``/``g_loss``, to ``after_d_step(stats)`` / ``after_g_step(stats)``. Nothing a step
  measured is parked in buffers or attributes for a later hook, and no loss function logs.
* ``critic_steps()``: D steps per G step (a schedule may read the host counter ``num_g_updates``).
* ``on_gan_fit_start()``: the variant's checks at fit start (e.g. the nets against the data module).
* ``warm_start_resets`` / ``reset_on_warm_start()``: state derived from past weights (historical averages)
  that ``--weights_from`` does not load but restarts from the loaded weights, and constraints the loaded
  weights must meet (WGAN's clipping box).
* ``generate`` / ``discriminate`` / ``features``: how the nets are called (conditional variants pass
  labels). ``features(x, labels)`` are D's intermediate features for feature matching, minibatch
  discrimination and the semi-supervised GAN.
* A variant with a different loop (InfoGAN's codes, ProGAN's growth, BEGAN's simultaneous update) overrides ``training_step`` in its own
  file and reuses ``d_update`` / ``g_update`` / ``generator_turn``.

Base behaviour cannot be dropped: ``on_fit_start`` (the per-rank noise offset under DDP),
the checkpoint hooks (RNG state), ``configure_optimizers`` (fixed (G, D) order),
``optimizer_step_on``, ``d_update`` / ``g_update`` (counters, EMA) and ``sample`` are *final*: a subclass
that defines one of them fails at class creation with the hook to use instead.

Training state is in buffers, so checkpoints carry it: ``d_updates`` / ``g_updates`` (optimizer steps per
net), ``critic_streak`` (D steps since the last G step) and the generator EMA (``AveragedModel``). The
counters that decide control flow are mirrored on the host (``num_d_updates``, ``num_g_updates``), so no
step reads a device value back; the buffers are written alongside (in-place adds, no sync) and read back
only when a state dict is loaded.

**Rule for schedule state (ProGAN's stage and α, any counter a schedule reads): keep it off the
generator.** The EMA is ``AveragedModel(use_buffers=True)``, which averages G's *buffers* as well as its
parameters; an integer buffer averaged with decay truncates (a stage counter going 0 → 1 stays 0 in the EMA
copy). Keep such state on the ``GANModule`` (or derive it from its buffers) and pass it into G's forward.

Learning-rate schedules (``g_lr_scheduler`` / ``d_lr_scheduler``: any ``torch.optim.lr_scheduler`` class
built on that net's optimizer) step once after every update of *their* net, so their unit is that net's
updates (``g_updates`` / ``d_updates``), not Lightning's ``global_step``, and not epochs. Lightning saves
and restores their state with the optimizers'; with manual optimization it never steps them itself.

Units: with manual optimization Lightning's ``global_step`` counts the steps of *both* optimizers, so
``trainer.max_steps`` = d_updates + g_updates, not generator iterations: with n_critic = 1,
``max_steps: 2000`` is 1000 batches.

Each update runs inside ``trainable_only_by`` (Lightning's ``toggled_optimizer`` with the parameter lists
cached: the other net's parameters get no gradients) and uses
``manual_backward`` (so AMP grad scaling and DDP gradient sync go through Lightning's precision plugin
and strategy).
"""

from __future__ import annotations

import itertools
import warnings
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Union

import lightning as L
import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import Tensor, nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gan_zoo.models.host_copies import HostCopies
from gan_zoo.sampling import LatentPrior, class_rows, label_count, sample_latent, sampling_inputs

__all__ = ["GANModule", "LatentPrior", "StepStats", "LossOutput", "sample_latent", "adam"]

# The nets are injected modules on purpose: LightningCLI/create_model store their class_path/init_args
# config in hparams (not the modules), which Lightning's "ignore nn.Module hparams" advice would strip.
warnings.filterwarnings("ignore", message=r"Attribute '(generator|discriminator)' is an instance of `nn.Module`")

StepStats = dict[str, Tensor]
"""What one update measured: name -> detached scalar tensor (logged as ``train/<name>``)."""

LossOutput = Union[Tensor, tuple[Tensor, StepStats]]
"""What ``d_loss`` / ``g_loss`` return: ``(loss, stats)`` or a bare loss."""

# Methods that carry base behaviour; a subclass must use the hook named beside each instead.
FINAL_METHODS = {
    "on_fit_start": "on_gan_fit_start()",
    "on_save_checkpoint": "buffers (saved with the state dict)",
    "on_load_checkpoint": "buffers (restored with the state dict)",
    "configure_optimizers": "g_optimizer / d_optimizer (and g_lr_scheduler / d_lr_scheduler) arguments or "
    "default_g_optimizer / default_d_optimizer",
    "optimizer_step_on": "d_loss / g_loss",
    "trainable_only_by": "the optimizers' param groups (what each optimizer holds is what it trains)",
    "d_update": "d_loss and after_d_step(stats)",
    "g_update": "g_loss and after_g_step(stats)",
    "sample": "generate() and the generator net's draw_latent()",
}


def _fused_adam_device_types() -> list[str]:
    """The device types PyTorch has the fused Adam kernel for (floating-point tensors only)."""
    try:
        from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

        return _get_fused_kernels_supported_devices()
    except ImportError:  # the helper is private: if it moves, keep the two device types every release has
        return ["cpu", "cuda"]


def fused_adam(params: Iterable[Any], **kwargs: Any) -> torch.optim.Adam:
    """``torch.optim.Adam(params, fused=True, **kwargs)`` where every parameter's device and dtype have the
    one-kernel implementation (floating point on CPU, CUDA and the other devices PyTorch lists), else
    ``torch.optim.Adam(params, **kwargs)``. The check is made here because PyTorch only makes it at the first
    ``step()``, where it would be an error mid-run.

    The update rule is the same (Kingma & Ba 2015, Alg. 1); only rounding differs from PyTorch's default
    implementation (a Python loop over tensors on the CPU, grouped ``foreach`` kernels on CUDA). Why it is the
    zoo's default: one Adam step on DCGAN's G + D parameters took 0.26-0.38× the default's time at the paper's
    size and 0.30-0.35× at the tiny CPU proxy (``python benchmarks/optimizers_and_layout.py --device cpu``, two
    runs on the shared 2-core CPU; README "Benchmarks"). The optimizer state has the same keys either way;
    ``load_state_dict`` takes the saved param-group options, ``fused`` included, so a run resumed from a
    checkpoint keeps the implementation it was started with.
    """
    params = list(params)
    tensors = [p for group in params for p in (group["params"] if isinstance(group, dict) else [group])]
    devices = _fused_adam_device_types()
    if tensors and all(torch.is_floating_point(t) and t.device.type in devices for t in tensors):
        return torch.optim.Adam(params, fused=True, **kwargs)
    return torch.optim.Adam(params, **kwargs)


def adam(lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> Callable[[Any], torch.optim.Optimizer]:
    """A default optimizer factory: Adam, fused where supported (``fused_adam``). A partial, so it is never
    stored in hparams (defaults are ``None``)."""
    return partial(fused_adam, lr=lr, betas=betas, eps=eps)


def update_ema_(ema: AveragedModel, model: nn.Module, first: bool) -> None:
    """``ema.update_parameters(model)`` for an ``AveragedModel(use_buffers=True, multi_avg_fn=...)``, with the
    same arithmetic but without its two reads of ``ema.n_averaged`` (``bool(n_averaged == 0)`` and
    ``if n_averaged > 0``: two device syncs per G step on a GPU); the caller says on the host whether this is
    the first update. The first update copies the model's parameters and buffers; later ones apply
    ``multi_avg_fn`` per (device, dtype) group (EMA: an in-place lerp for floats)."""
    averaged = [t.detach() for t in itertools.chain(ema.module.parameters(), ema.module.buffers())]
    current = [t.detach() for t in itertools.chain(model.parameters(), model.buffers())]
    if first:
        for a, c in zip(averaged, current, strict=True):
            a.copy_(c)
    elif ema.multi_avg_fn is None:  # a per-tensor avg_fn (e.g. the semi-supervised GAN's bias-corrected EMA)
        for a, c in zip(averaged, current, strict=True):
            a.copy_(ema.avg_fn(a, c, ema.n_averaged.to(a.device)))
    else:
        groups: dict[tuple[torch.device, torch.dtype], tuple[list[Tensor], list[Tensor]]] = {}
        for a, c in zip(averaged, current, strict=True):
            group = groups.setdefault((a.device, a.dtype), ([], []))
            group[0].append(a)
            group[1].append(c)
        for (device, _), (a_list, c_list) in groups.items():
            ema.multi_avg_fn(a_list, c_list, ema.n_averaged.to(device))
    ema.n_averaged += 1  # in place on the device: no read


def split_loss_output(output: LossOutput) -> tuple[Tensor, StepStats]:
    """``(loss, stats)`` from what ``d_loss`` / ``g_loss`` returned."""
    if isinstance(output, Tensor):
        return output, {}
    loss, stats = output
    return loss, dict(stats)


def restart_point_of_epoch(fit_loop: dict[str, Any]) -> None:
    """Make a checkpoint's loop state say where the straight run goes on (Lightning's own resume misreads
    three kinds of epoch-boundary saves; ``tests/test_checkpoint.py`` replays each bit for bit):

    * written in ``on_train_epoch_end`` (``every_n_epochs`` checkpoints, a callback's save): the epoch is
      processed but not yet completed, and a resume would build the next epoch's data iterator while
      still counting the old epoch (one stale extra batch, the next epoch a batch short). Marked completed.
    * an epoch that Lightning closed after its last batch (a stop by max_steps or a signal there, or
      ``trainer.save_checkpoint`` after such a fit) keeps its batch count at the end: a resume would take
      the next epoch as already at its last batch and skip it. Saved as "the next epoch, batch 0".
    * an epoch that a max_steps stop cut short is marked closed too, though batches remain: a resume would
      drop them. Saved as "this epoch, still running, after its batches so far".
    """
    progress, batches = fit_loop["epoch_progress"], fit_loop["epoch_loop.batch_progress"]
    for part in ("current", "total"):
        epoch = progress[part]
        if epoch["ready"] == epoch["started"] == epoch["processed"] == epoch["completed"] + 1:
            epoch["completed"] = epoch["processed"]  # saved in on_train_epoch_end: as good as closed
    epoch = progress["current"]
    if not (epoch["completed"] == epoch["ready"] and batches["current"]["ready"] > 0):
        return  # mid-epoch: Lightning resumes it as it is
    if batches["is_last_batch"]:
        batches["current"] = {key: 0 for key in batches["current"]}
        batches["is_last_batch"] = False
    else:  # cut short: reopen the epoch
        for part in ("current", "total"):
            progress[part]["processed"] -= 1
            progress[part]["completed"] -= 1


class GANModule(L.LightningModule):
    """Shared adversarial training loop with manual optimization (see the module docstring).

    Args:
        generator: a net with an int ``latent_dim`` attribute mapping z (B, latent_dim) to samples.
        discriminator: a net mapping samples to one logit (or critic value) per sample, shape (B,).
        g_optimizer: optimizer factory for G; ``None`` means the paper's (``default_g_optimizer``).
        d_optimizer: optimizer factory for D; ``None`` means the paper's (``default_d_optimizer``).
        n_critic: D steps per G step.
        latent_prior: distribution of z.
        ema_decay: if set, keep an exponential moving average of G's weights (and buffers) with this
            decay, updated after every G step; ``sample`` then uses it by default.
        g_lr_scheduler: learning-rate schedule factory for G's optimizer (e.g. ``MultiStepLR`` with
            ``milestones`` in G updates); stepped after every G update. ``None``: a constant rate.
        d_lr_scheduler: the same for D's optimizer, in D updates. ``ReduceLROnPlateau`` is refused for both:
            it needs a measured value on the host every step (a host-device sync).

    Variants forward these with ``super().__init__(**kwargs)`` (jsonargparse reads the base signature
    through it, so ``--help`` and configs still see typed arguments); a variant whose paper changes a
    base default (WGAN's n_critic = 5) names that argument in its own signature and passes it on.
    """

    # Paper defaults; a variant overrides these two factories. Radford et al. 2015: Adam(2e-4, β1=0.5).
    # Nets the loss differentiates twice (a gradient penalty's create_graph=True): torch.compile cannot
    # (AOTAutograd has no double backward), so ``callbacks.CompileNets`` leaves them eager.
    nets_differentiated_twice: tuple[str, ...] = ()
    # State-dict prefixes of state derived from the weights' past (ImprovedGAN's historical averages): a warm
    # start (``--weights_from``) does not load it but calls ``reset_on_warm_start()`` on the loaded weights.
    warm_start_resets: tuple[str, ...] = ()
    default_g_optimizer: Callable[[Any], torch.optim.Optimizer] = staticmethod(adam(2e-4, (0.5, 0.999)))
    default_d_optimizer: Callable[[Any], torch.optim.Optimizer] = staticmethod(adam(2e-4, (0.5, 0.999)))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, instead in FINAL_METHODS.items():
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__}.{name} overrides GANModule.{name}, which carries base behaviour "
                    f"(counters, EMA, DDP noise, checkpoint state); use {instead} instead"
                )

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        n_critic: int = 1,
        latent_prior: LatentPrior = "normal",
        ema_decay: float | None = None,
        g_lr_scheduler: LRSchedulerCallable | None = None,
        d_lr_scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()  # the variant's values win (WGAN's n_critic = 5 even if not passed on)
        if self.hparams.n_critic < 1:
            raise ValueError(f"n_critic must be >= 1, got {self.hparams.n_critic}")
        if not isinstance(getattr(generator, "latent_dim", None), int):
            raise ValueError(f"{type(generator).__name__} needs an int attribute `latent_dim` (the size of z)")
        self.automatic_optimization = False
        self._frozen_during: dict[int, tuple[int, list[nn.Parameter]]] = {}  # trainable_only_by's cache
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer_factory = g_optimizer or self.default_g_optimizer
        self.d_optimizer_factory = d_optimizer or self.default_d_optimizer
        self.lr_scheduler_factories = (g_lr_scheduler, d_lr_scheduler)  # (G, D), the optimizers' order
        # The schedulers Lightning holds for this fit, per optimizer (G, D); found in on_fit_start.
        self._lr_schedulers_of: tuple[list[Any], list[Any]] = ([], [])
        self.register_buffer("d_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("g_updates", torch.zeros((), dtype=torch.long))
        self.register_buffer("critic_streak", torch.zeros((), dtype=torch.long))  # D steps since last G step
        # Host mirrors of the three counters: control flow and callbacks read these, never the buffers.
        self.num_d_updates = self.num_g_updates = self._critic_streak = 0
        self._host_copies = HostCopies()  # logged scalars for the progress bar, copied without a sync
        self._ema_updates = 0  # host mirror of generator_ema.n_averaged
        self.register_load_state_dict_post_hook(GANModule._read_counters_back)
        self.generator_ema: AveragedModel | None = None
        if ema_decay is not None:
            if not 0.0 < ema_decay < 1.0:
                raise ValueError(f"ema_decay must be in (0, 1), got {ema_decay}")
            self.generator_ema = AveragedModel(
                generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True
            )

    # ------------------------------------------------------------------ what a variant writes
    def d_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        """Discriminator loss on a real batch and a detached fake batch: ``(loss, stats)``."""
        raise NotImplementedError

    def g_loss(self, real: Tensor, fake: Tensor, labels: Tensor | None) -> LossOutput:
        """Generator loss; ``fake`` carries gradients to G. ``real`` is there for feature matching."""
        raise NotImplementedError

    def after_d_step(self, stats: StepStats) -> None:
        """Runs after every D update with what ``d_loss`` measured (weight clipping, k_t updates, ...)."""

    def after_g_step(self, stats: StepStats) -> None:
        """Runs after every G update (and after the base's EMA update) with what ``g_loss`` measured."""

    def critic_steps(self) -> int:
        """D steps before the next G step; a schedule may depend on the host counter ``num_g_updates``."""
        return self.hparams.n_critic

    def on_gan_fit_start(self) -> None:
        """The variant's fit-start hook; runs after the base's (``self.trainer`` is attached)."""

    def reset_on_warm_start(self) -> None:
        """After ``--weights_from`` loaded weights: restart the state named by ``warm_start_resets`` from them,
        and restore what the variant keeps true of its weights (WGAN's clipped critic)."""

    # ------------------------------------------------------------------ the nets
    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """G's input for ``n`` samples during training, on this module's device. Drawn there, not copied there
        (a copy from the host waits for the GPU); a ``generator`` draws on its own device."""
        draw = getattr(self.generator, "draw_latent", None)
        prior = self.hparams.latent_prior
        device = self.device if generator is None else generator.device
        if callable(draw):
            z = draw(n, prior, generator, device)
        else:
            z = sample_latent(n, self.latent_dim, prior, generator, device)
        return z.to(self.device)

    def generate(self, z: Tensor, labels: Tensor | None = None, net: nn.Module | None = None) -> Tensor:
        """G(z); conditional variants override this to use ``labels``."""
        return (net or self.generator)(z)

    def discriminate(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """D(x) logits (B,); conditional variants override this to use ``labels``."""
        return self.discriminator(x)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """D's intermediate features (B, F) for feature matching and friends (``discriminator.features``)."""
        features = getattr(self.discriminator, "features", None)
        if not callable(features):
            raise TypeError(
                f"{type(self.discriminator).__name__} has no features(x) method; feature matching, minibatch "
                "discrimination and the semi-supervised GAN need a discriminator that exposes one"
            )
        return features(x)

    def grid_labels(self, n: int) -> Tensor | None:
        """Labels for sample grids: one class per row for nets that take labels, else None."""
        k = label_count(self.generator)
        return None if k is None else class_rows(n, k).to(self.device)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.generate(z, labels)

    @torch.no_grad()
    def sample(
        self, n: int, labels: Tensor | None = None, seed: int | None = None, *, use_ema: bool | None = None
    ) -> Tensor:
        """``n`` samples from G in eval mode (batch norm uses running statistics).

        The protocol every callback, metric, notebook and pretrained generator shares
        (``gan_zoo.sampling.sampling_inputs``): z from the training prior, and for nets that take labels,
        ``labels`` or balanced classes.

        Args:
            n: number of samples.
            labels: (n,) class indices (conditional models, InfoGAN's categorical code); default: balanced.
            seed: makes z (and so the samples) reproducible; ``None`` draws from the global RNG.
            use_ema: use the EMA generator; default: whenever one is kept.
        Returns:
            (n, ...) samples, e.g. (n, C, H, W) images in [-1, 1].
        """
        if n < 1:
            raise ValueError(f"n must be at least 1 (the number of samples to draw), got {n!r}")
        if use_ema is None:
            use_ema = self.generator_ema is not None
        if use_ema and self.generator_ema is None:
            raise ValueError("use_ema=True but this model keeps no EMA; set ema_decay when training")
        net = self.generator_ema.module if use_ema else self.generator
        z, labels = sampling_inputs(net, n, self.hparams.latent_prior, labels, seed)
        was_training = net.training
        net.eval()
        try:
            return self.generate(z.to(self.device), None if labels is None else labels.to(self.device), net=net)
        finally:
            net.train(was_training)

    def mean_over_ranks(self, *scalars: Tensor) -> tuple[Tensor, ...]:
        """Each 0-d tensor averaged over the data-parallel ranks (one all-reduce on the device, no host sync):
        what a step measured on the whole minibatch, for state every rank must keep alike (BEGAN's k_t).
        Returned as given in a single process or outside a Trainer (no kernel added there)."""
        trainer = self._trainer
        if trainer is None or trainer.world_size == 1:
            return scalars
        return tuple(trainer.strategy.reduce(torch.stack(scalars), reduce_op="mean").unbind())  # (K,) in one reduce

    # ------------------------------------------------------------------ base behaviour (final)
    def on_fit_start(self) -> None:
        self._frozen_during.clear()  # a new fit has new optimizers (ids may be reused)
        # Lightning seeds every DDP rank with the same seed, so each rank would draw the *same* z and the
        # all-reduced G gradient would see B distinct fakes instead of B x world_size. Offset the torch
        # RNG by the rank (data sharding uses the sampler's own seed and is unaffected).
        if self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.global_rank)
        # Lightning built the optimizers and schedulers from configure_optimizers (and restores their state into
        # these same objects on a resume): pair each scheduler with its optimizer, (G, D).
        configs = self.trainer.lr_scheduler_configs
        self._lr_schedulers_of = tuple(
            [config.scheduler for config in configs if config.scheduler.optimizer is optimizer]
            for optimizer in self.trainer.optimizers
        )
        self.on_gan_fit_start()

    @staticmethod
    def _read_counters_back(module: "GANModule", incompatible_keys: Any) -> None:
        """Host counters <- buffers after any ``load_state_dict`` (a resumed fit, ``load_from_checkpoint``):
        one read at load time, never inside a step."""
        module.num_d_updates = int(module.d_updates)
        module.num_g_updates = int(module.g_updates)
        module._critic_streak = int(module.critic_streak)
        if module.generator_ema is not None:
            module._ema_updates = int(module.generator_ema.n_averaged)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        fit_loop = checkpoint.get("loops", {}).get("fit_loop")
        if fit_loop:
            restart_point_of_epoch(fit_loop)
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

    def configure_optimizers(self) -> Any:
        # Fixed order (G, D) for every model; a schedule per optimizer where one is given.
        optimizers = [
            self.g_optimizer_factory(self.generator.parameters()),
            self.d_optimizer_factory(self.discriminator.parameters()),
        ]
        schedulers = []
        for net, optimizer, factory in zip(("g", "d"), optimizers, self.lr_scheduler_factories):
            if factory is None:
                continue
            scheduler = factory(optimizer)
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(
                    f"{net}_lr_scheduler: ReduceLROnPlateau needs a measured value on the host every step (a "
                    "host-device sync); use a fixed schedule such as torch.optim.lr_scheduler.MultiStepLR"
                )
            schedulers.append({"scheduler": scheduler, "interval": "step", "name": f"{net}_lr"})
        return (optimizers, schedulers) if schedulers else optimizers

    # ------------------------------------------------------------------ the loop
    @staticmethod
    def unpack_batch(batch: Any) -> tuple[Tensor, Tensor | None]:
        """(x, y), [x] or x -> (x, y or None)."""
        if isinstance(batch, (list, tuple)):
            return batch[0], (batch[1] if len(batch) > 1 else None)
        return batch, None

    def log_stats(self, stats: StepStats) -> None:
        """Log what a step measured under ``train/`` (the one place the loop logs).

        Only on the batches whose metrics Lightning writes to the loggers (every ``log_every_n_steps``
        batches, ``Trainer(log_every_n_steps=...)``): ``self.log`` costs about 1 ms of host time per call
        (measured on the CPU proxy, ``benchmarks/throughput.py``), and the values logged on other batches
        would be overwritten unseen. The loggers and ``trainer.callback_metrics`` get the device tensors
        (the logger reads them once per write, outside the step); the progress bar gets host copies made
        without a sync (``HostCopies``), shown under the stat's short name a step or two later on a GPU.
        """
        if stats and self.logs_this_batch():
            self.log_dict({f"train/{k}": v for k, v in stats.items()}, on_step=True, on_epoch=False)
            self._host_copies.push(stats)
        shown = self._host_copies.ready()  # host tensors: the bar's .item() does not touch the device
        if shown:
            self.log_dict(shown, on_step=True, on_epoch=False, prog_bar=True, logger=False)

    def logs_this_batch(self) -> bool:
        """Whether Lightning writes this batch's metrics to the loggers (host arithmetic only): callbacks that
        log per step ask this too, so that they log nothing that would be overwritten unseen."""
        connector = getattr(self._trainer, "_logger_connector", None)
        return True if connector is None else connector.should_update_logs

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning assigns attributes such as ``_current_fx_name`` about 40 times a step (every hook call) and
        # the counters change twice per update; ``nn.Module.__setattr__`` looks each one up in the parameter,
        # module and buffer tables first. A name already in ``__dict__`` is none of those (registering one
        # removes it from ``__dict__``), so a plain value replacing it needs no lookup.
        if name in self.__dict__ and not isinstance(value, (Tensor, nn.Module)):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    @contextmanager
    def trainable_only_by(self, optimizer: Any) -> Iterator[None]:
        """Within the block, the parameters of the *other* optimizers do not require gradients; afterwards they
        are restored. What Lightning's ``toggled_optimizer`` does, without building a dict of every parameter
        on every call (Tensor hashes, about 0.4 ms a step on an H100, issue 11): the list of the other
        optimizers' parameters is made once per optimizer and remade if any optimizer's parameter count
        changes (a param group added)."""
        optimizers = self.trainer.optimizers
        raw = getattr(optimizer, "optimizer", optimizer)  # LightningOptimizer -> torch optimizer
        count = sum(len(group["params"]) for opt in optimizers for group in opt.param_groups)
        cached = self._frozen_during.get(id(raw))
        if cached is None or cached[0] != count:
            own = {id(p) for group in raw.param_groups for p in group["params"]}
            others, seen = [], set(own)
            for opt in optimizers:
                for group in opt.param_groups:
                    for p in group["params"]:
                        if id(p) not in seen:
                            seen.add(id(p))
                            others.append(p)
            cached = self._frozen_during[id(raw)] = (count, others)
        frozen = [p for p in cached[1] if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in frozen:
                p.requires_grad_(True)

    def optimizer_step_on(self, optimizer: Any, loss_fn: Callable[[], LossOutput]) -> tuple[Tensor, StepStats]:
        """One AMP/DDP-safe update: freeze the other nets, zero grads, backward through the precision plugin,
        step."""
        with self.trainable_only_by(optimizer):
            optimizer.zero_grad(set_to_none=True)
            loss, stats = split_loss_output(loss_fn())
            self.manual_backward(loss)
            optimizer.step()
        return loss.detach(), stats

    def d_update(self, loss_fn: Callable[[], LossOutput]) -> StepStats:
        """One D step with its bookkeeping: D's schedule, counters, logging, ``after_d_step(stats)``. Returns the
        stats."""
        loss, stats = self.optimizer_step_on(self.optimizers()[1], loss_fn)
        for scheduler in self._lr_schedulers_of[1]:
            scheduler.step()  # host arithmetic on the rates; counts D updates
        stats = {"d_loss": loss, **stats}
        self.num_d_updates += 1
        self._critic_streak += 1
        self.d_updates.add_(1)  # in-place on the device: no host sync
        self.critic_streak.add_(1)
        self.log_stats(stats)
        self.after_d_step(stats)
        return stats

    def generator_turn(self) -> bool:
        """True once ``critic_steps()`` D steps have run since the last G step (host counters only)."""
        return self._critic_streak >= self.critic_steps()

    def g_update(self, loss_fn: Callable[[], LossOutput]) -> StepStats:
        """One G step with its bookkeeping: G's schedule, counters, EMA, logging, ``after_g_step(stats)``."""
        loss, stats = self.optimizer_step_on(self.optimizers()[0], loss_fn)
        for scheduler in self._lr_schedulers_of[0]:
            scheduler.step()  # counts G updates
        stats = {"g_loss": loss, **stats}
        self.num_g_updates += 1
        self._critic_streak = 0
        self.g_updates.add_(1)
        self.critic_streak.zero_()
        if self.generator_ema is not None:
            update_ema_(self.generator_ema, self.generator, first=self._ema_updates == 0)
            self._ema_updates += 1
        self.log_stats(stats)
        self.after_g_step(stats)
        return stats

    def training_step(self, batch: Any, batch_idx: int) -> StepStats:
        """One D step and, on G's turn, one G step. Returns what they measured (callbacks receive it as
        ``outputs`` in ``on_train_batch_end``)."""
        real, labels = self.unpack_batch(batch)
        n = real.shape[0]
        with torch.no_grad():
            fake = self.generate(self.sample_latent(n), labels)  # (B, ...) no graph into G
        stats = self.d_update(lambda: self.d_loss(real, fake, labels))
        if self.generator_turn():
            stats |= self.g_update(lambda: self.g_loss(real, self.generate(self.sample_latent(n), labels), labels))
        return stats
