"""Train the MNIST-family domain classifier shipped in gan_zoo/weights/ (used by domain FID / IS / coverage).

    python scripts/train_domain_classifier.py --dataset mnist --data-dir $GAN_ZOO_DATA --out gan_zoo/weights/
    python scripts/train_domain_classifier.py --dataset fashion_mnist --data-dir $GAN_ZOO_DATA --out gan_zoo/weights/

Trains ``gan_zoo.metrics.classifier.DomainClassifier`` on the train split only (Adam, learning rate decayed
linearly to 0, no augmentation), reports accuracy on the test split, and writes
``domain_classifier_<dataset>.safetensors`` (float32) and ``domain_classifier_<dataset>.json`` (sha256, test
accuracy, this command). Single-threaded by default: one epoch takes about a minute on one CPU core.
The sha256 is reproducible only on the same torch build and hardware; the accuracy should be.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from gan_zoo.metrics.classifier import DomainClassifier
from gan_zoo.metrics.reference import DOMAINS, load_split
from gan_zoo.provenance import sha256_file


def evaluate(model: DomainClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(chunk).argmax(1) for chunk in x.split(1000)])
    return float((pred == y).float().mean())


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=sorted(DOMAINS), required=True)
    p.add_argument("--data-dir", default=None, help="data root (default: $GAN_ZOO_DATA)")
    p.add_argument("--out", default="gan_zoo/weights/", help="folder for the .safetensors and .json")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_train, y_train = load_split(args.dataset, "train", args.data_dir)  # (60000, 1, 28, 28) in [-1, 1]
    x_test, y_test = load_split(args.dataset, "test", args.data_dir)
    model = DomainClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = len(x_train) // args.batch_size
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / total)  # linear decay to 0
    rng = torch.Generator().manual_seed(args.seed)
    start = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(x_train), generator=rng)
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if i % 100 == 0:
                print(f"epoch {epoch} step {i}/{steps_per_epoch} loss {loss.item():.4f} ({time.time() - start:.0f} s)", flush=True)
        print(f"epoch {epoch}: test accuracy {evaluate(model, x_test, y_test):.4f}", flush=True)

    test_acc = evaluate(model, x_test, y_test)
    train_acc = evaluate(model, x_train[:10000], y_train[:10000])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"domain_classifier_{args.dataset}.safetensors"
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"dataset": args.dataset, "format": "pt"})
    cmd = ["python", "scripts/train_domain_classifier.py"] + (sys.argv[1:] if argv is None else argv)
    record = {
        "dataset": args.dataset,
        "file": weights.name,
        "sha256": sha256_file(weights),
        "dtype": "float32",
        "num_parameters": sum(v.numel() for v in state.values()),
        "test_accuracy": round(test_acc, 4),
        "train_accuracy_first_10k": round(train_acc, 4),
        "train_split": "train (60000 images)",
        "test_split": "test (10000 images)",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "threads": args.threads,
        "train_seconds": round(time.time() - start, 1),
        "torch": torch.__version__,
        "command": shlex.join(cmd).replace(str(args.data_dir), "$GAN_ZOO_DATA") if args.data_dir else shlex.join(cmd),
    }
    weights.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
