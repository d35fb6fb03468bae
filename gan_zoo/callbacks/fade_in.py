"""The progressive fade-in callback of Progressive GAN (Karras et al. 2018).

The model derives its stage and α from the real images it has shown (``ProGAN.growth``, a pure function
of a checkpointed counter), so growth itself survives any resume. This callback carries out the parts of
the schedule that live outside the model, before every batch and at every milestone:

* the per-resolution learning rate: every param group of both optimizers gets the schedule's lr for the
  current resolution, or its ``initial_lr`` (the factory's lr, recorded in the optimizer state on the
  first batch) where the schedule lists none;
* logging ``growth/stage``, ``growth/alpha``, ``growth/resolution``, ``growth/batch_size``,
  ``growth/images_shown`` on the batches Lightning writes to the loggers (``GANModule.logs_this_batch``), as
  host tensors: ``self.log`` of a Python float builds a tensor on the module's device, a host-to-device copy
  that waits for the GPU (found by ``torch.cuda.set_sync_debug_mode("error")`` on an H200);
* at every milestone — the middle of each fade-in and the end of each stage (``GrowthSchedule.milestones``)
  — a sample grid at the stage's own resolution, ``progan/<images shown>_<label>.png``, and optionally a
  checkpoint ``progan/<images shown>_<label>.ckpt`` (what ``benchmarks``/docs evaluate offline);
* every ``every_n_g_steps`` generator updates (and at the end of fit), the same grid at the current point.

A milestone fires after the first batch whose images take the count to or past it, so a grid labelled
"8x8 end" shows the 16×16 stage at α = b / F (≈ 0 and, at α = 0, identical to the finished 8×8 output).
"""

from __future__ import annotations

import lightning as L
import torch

from gan_zoo.callbacks.checkpoint import save_checkpoint_atomic
from gan_zoo.callbacks.periodic import PeriodicCallback, run_dir
from gan_zoo.callbacks.sample_grid import to_grid
from gan_zoo.sampling import sampling_inputs

__all__ = ["ProgressiveGrowing"]


class ProgressiveGrowing(PeriodicCallback):
    """Drive ProGAN's per-resolution learning rates, log the growth, and keep a grid per milestone.

    Args:
        every_n_g_steps: also save a grid every N generator updates (0: milestones and end of fit only).
        num_samples: samples per grid (fixed noise from ``seed``; the EMA generator when kept).
        seed: noise seed of the grids.
        milestone_checkpoints: also save a full checkpoint at every milestone.
    """

    def __init__(
        self, every_n_g_steps: int = 0, num_samples: int = 64, seed: int = 0, milestone_checkpoints: bool = False
    ) -> None:
        super().__init__(every_n_g_steps=every_n_g_steps)
        self.num_samples = num_samples
        self.seed = seed
        self.milestone_checkpoints = milestone_checkpoints
        self._shown_before_batch = 0

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule, batch, batch_idx: int) -> None:
        point = pl_module.growth
        self._shown_before_batch = pl_module.num_images_shown
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])  # saved with the optimizer state: resumes agree
                group["lr"] = point.lr if point.lr is not None else group["initial_lr"]
        if not pl_module.logs_this_batch():
            return
        values = {
            "growth/stage": point.stage,
            "growth/alpha": point.alpha,
            "growth/resolution": point.resolution,
            "growth/batch_size": point.batch_size,
            "growth/images_shown": pl_module.num_images_shown,
        }
        host = {name: torch.tensor(float(value)) for name, value in values.items()}  # CPU tensors: logged as is
        pl_module.log_dict(host, on_step=True, on_epoch=False, rank_zero_only=True)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args) -> None:
        super().on_train_batch_end(trainer, pl_module, *args)
        before, now = self._shown_before_batch, pl_module.num_images_shown
        for images, label in pl_module.schedule.milestones():
            if before < images <= now:
                name = f"progan/{images:09d}_{label.replace(' ', '_')}"
                if trainer.is_global_zero:
                    self.save_grid(trainer, pl_module, f"{name}.png", key=f"progan/{label}")
                if self.milestone_checkpoints:
                    save_checkpoint_atomic(trainer, run_dir(trainer) / f"{name}.ckpt")  # full state: resumable

    def run(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        point = pl_module.growth
        name = f"progan/{pl_module.num_images_shown:09d}_{point.resolution}x{point.resolution}_alpha{point.alpha:.3f}"
        self.save_grid(trainer, pl_module, f"{name}.png", key="progan/samples")

    @torch.no_grad()
    def save_grid(self, trainer: L.Trainer, pl_module: L.LightningModule, relative_path: str, key: str) -> None:
        """A grid of G at the current stage's own resolution (what D sees), EMA generator when kept."""
        net = pl_module.generator_ema.module if pl_module.generator_ema is not None else pl_module.generator
        z, _ = sampling_inputs(net, self.num_samples, pl_module.hparams.latent_prior, seed=self.seed)  # sample()'s z
        z = z.to(pl_module.device)
        was_training = net.training
        net.eval()
        try:
            samples = torch.cat([pl_module.generate_at_stage(chunk, net) for chunk in z.split(16)])  # (N, C, r, r)
        finally:
            net.train(was_training)
        grid = to_grid(samples)
        self.write_png(trainer, relative_path, grid)
        self.log_image(trainer, key, grid)
