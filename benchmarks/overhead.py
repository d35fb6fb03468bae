"""Time per training step of DCGAN-MNIST inside the Lightning Trainer vs a plain PyTorch loop.

Both runs use the same nets (DCGAN 28x28, base_channels 64), batch (64), optimizers (Adam 2e-4, β1 0.5,
fused as the models' default), losses and data (an in-memory MNIST-shaped tensor, so data loading is identical and cheap), in the
same process. A "step" is one D update + one G update. Prints both and the ratio Lightning / plain.

    python benchmarks/overhead.py [--batches 40] [--warmup 5] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from gan_zoo.losses import d_bce_loss, g_nonsaturating_loss
from gan_zoo.models import DCGAN
from gan_zoo.models.base import fused_adam
from gan_zoo.registry import instantiate_from_config, model_config

NETS = {
    "generator": {"init_args": {"latent_dim": 100, "image_shape": [1, 28, 28], "base_channels": 64}},
    "discriminator": {"init_args": {"image_shape": [1, 28, 28], "base_channels": 64}},
}


def make_loader(n_batches: int, batch_size: int) -> DataLoader:
    x = torch.rand(n_batches * batch_size, 1, 28, 28) * 2 - 1
    y = torch.randint(10, (len(x),))
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False, drop_last=True)


def plain_loop(loader: DataLoader, warmup: int) -> float:
    """The floor: the same two updates written by hand. Returns seconds per step after warmup."""
    torch.manual_seed(0)
    model = instantiate_from_config(DCGAN, model_config("dcgan", **NETS))
    G, D = model.generator, model.discriminator
    g_opt = fused_adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))  # the models' default Adam
    d_opt = fused_adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))  # the models' default Adam
    start = None
    for i, (real, _) in enumerate(loader):
        if i == warmup:
            start = time.perf_counter()
        n = real.shape[0]
        with torch.no_grad():
            fake = G(torch.randn(n, 100))
        d_opt.zero_grad(set_to_none=True)
        d_bce_loss(D(real), D(fake)).backward()
        d_opt.step()
        for p in D.parameters():  # what toggled_optimizer does: no grads into D during the G step
            p.requires_grad_(False)
        g_opt.zero_grad(set_to_none=True)
        g_nonsaturating_loss(D(G(torch.randn(n, 100)))).backward()
        g_opt.step()
        for p in D.parameters():
            p.requires_grad_(True)
    return (time.perf_counter() - start) / (len(loader) - warmup)


class StepTimer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.batches = warmup, None, 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if batch_idx == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.batches = batch_idx + 1
        self.end = time.perf_counter()


def lightning_loop(loader: DataLoader, warmup: int) -> float:
    torch.manual_seed(0)
    model = instantiate_from_config(DCGAN, model_config("dcgan", **NETS))
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[timer],
    )
    trainer.fit(model, loader)
    return (timer.end - timer.start) / (timer.batches - warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loader = make_loader(args.batches, args.batch_size)
    plain, light = [], []
    for _ in range(args.repeats):  # interleaved so drifts in machine load hit both alike
        plain.append(plain_loop(loader, args.warmup))
        light.append(lightning_loop(loader, args.warmup))
    p, l = statistics.median(plain), statistics.median(light)
    print(f"threads={args.threads} batch={args.batch_size} steps/run={args.batches - args.warmup} repeats={args.repeats}")
    print(f"plain PyTorch loop : {p * 1000:8.1f} ms/step  (runs: {', '.join(f'{v * 1000:.1f}' for v in plain)})")
    print(f"Lightning GANModule: {l * 1000:8.1f} ms/step  (runs: {', '.join(f'{v * 1000:.1f}' for v in light)})")
    print(f"ratio Lightning / plain: {l / p:.3f}")


if __name__ == "__main__":
    main()
