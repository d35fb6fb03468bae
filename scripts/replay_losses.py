"""Record a seeded short CPU run of every registered model (tiny nets) and compare two recordings bitwise.

Used to show that a change leaves the arithmetic alone: run it with PYTHONPATH pointing at each checkout,
then compare.

    PYTHONPATH=<before> python scripts/replay_losses.py record before.pt
    PYTHONPATH=<after>  python scripts/replay_losses.py record after.pt
    python scripts/replay_losses.py compare before.pt after.pt

Each run: ``seed_everything(0)``, ``create_model(name, tiny=True)`` (DCGAN also with an EMA), 6 batches of a
fixed random data set through a plain ``DataLoader`` (shuffle on), a bare Trainer with 1 thread. Recorded:
every step's returned stats (losses and what the step measured), the final state dict (nets, EMA,
counters) and, for MNIST through the CLI's data module with ``in_memory: false``, the same for DCGAN.
"""

from __future__ import annotations

import sys

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset


class Outputs(L.Callback):
    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append({k: v.detach().clone() for k, v in (outputs or {}).items()})


def trainer(callback: Outputs, **kwargs) -> L.Trainer:
    return L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                     enable_model_summary=False, callbacks=[callback], **kwargs)


def record(path: str) -> None:
    from gan_zoo import create_model, list_models

    torch.set_num_threads(1)
    out = {}
    for name in list_models():
        for extra in ({}, {"ema_decay": 0.9}) if name == "dcgan" else ({},):
            L.seed_everything(0, verbose=False)
            model = create_model(name, tiny=True, **extra)
            g = torch.Generator().manual_seed(1)
            x = torch.rand(24, *model.generator.image_shape, generator=g) * 2 - 1
            y = torch.randint(10, (24,), generator=g)
            callback = Outputs()
            trainer(callback, max_epochs=2).fit(model, DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True))
            key = name + ("+ema" if extra else "")
            out[key] = {"steps": callback.steps, "state": {k: v.clone() for k, v in model.state_dict().items()}}
    # the real data path, DataLoader flavour (the in-memory path draws its order differently, by design)
    from gan_zoo.data import MNISTDataModule

    L.seed_everything(0, verbose=False)
    model = create_model("dcgan", generator={"init_args": {"image_shape": [1, 28, 28], "base_channels": 8, "latent_dim": 8}},
                         discriminator={"init_args": {"image_shape": [1, 28, 28], "base_channels": 8}})
    kwargs = {"batch_size": 8, "limit_samples": 64, "download": False, "num_workers": 0}
    try:
        dm = MNISTDataModule(in_memory=False, **kwargs)
    except TypeError:  # before the in-memory path existed
        dm = MNISTDataModule(**kwargs)
    callback = Outputs()
    trainer(callback, max_epochs=1).fit(model, datamodule=dm)
    out["dcgan/mnist-dataloader"] = {"steps": callback.steps, "state": {k: v.clone() for k, v in model.state_dict().items()}}
    torch.save(out, path)
    print(f"recorded {len(out)} runs to {path}")


def compare(a_path: str, b_path: str) -> None:
    a, b = torch.load(a_path, weights_only=True), torch.load(b_path, weights_only=True)
    failures = 0
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            print(f"{key:28s} only in {'after' if key not in a else 'before'}")
            failures += 1
            continue
        sa, sb = a[key]["steps"], b[key]["steps"]
        same_steps = len(sa) == len(sb) and all(
            da.keys() == db.keys() and all(torch.equal(da[k], db[k]) for k in da) for da, db in zip(sa, sb)
        )
        same_state = a[key]["state"].keys() == b[key]["state"].keys() and all(
            torch.equal(a[key]["state"][k], b[key]["state"][k]) for k in a[key]["state"]
        )
        failures += not (same_steps and same_state)
        print(f"{key:28s} {len(sa):3d} steps  stats {'identical' if same_steps else 'DIFFER'}  "
              f"final state {'identical' if same_state else 'DIFFERS'}")
    print("bitwise identical" if not failures else f"{failures} run(s) differ")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2])
    else:
        compare(sys.argv[2], sys.argv[3])
