"""The ``gan-zoo`` command: LightningCLI over every registered model and data module.

    gan-zoo fit --config configs/dcgan/digits.yaml [--config more.yaml] [--trainer.max_steps 200]

* Models and data modules are chosen by ``class_path`` (subclass mode), nets are injected modules.
* ``data.image_shape`` is linked into ``model.generator.init_args.image_shape`` and
  ``model.discriminator.init_args.image_shape``, so configs never repeat image sizes.
* ``num_classes`` is NOT linked. jsonargparse skips a link target that a net lacks while parsing, but
  LightningCLI still writes the linked value into the checkpoint's hparams, so an unconditional
  model's checkpoint would then fail to load ("Parser key model.generator ... num_classes").
  Conditional configs set ``num_classes`` on their nets (tests/test_cli.py pins the round trip).
* Always-on callbacks with their own config groups: ``--sample_grid.*`` (PNG grids from fixed noise)
  and ``--checkpoint.*`` (``GANCheckpoint``: ``last.ckpt`` on by default and always holding the final state).
* ``--optimizer``/``--lr_scheduler`` are removed: the models own two optimizers (G, D), set with
  ``--model.g_optimizer`` / ``--model.d_optimizer``.
* User errors (missing data, bad values) print one line and exit with status 2.
"""

from __future__ import annotations

import sys

from lightning.pytorch.cli import LightningCLI

import gan_zoo.data  # noqa: F401  (make the data modules importable by short class_path)
import gan_zoo.models  # noqa: F401  (register every model)
from gan_zoo.callbacks import GANCheckpoint, SampleGrid
from gan_zoo.data.base import GANDataModule
from gan_zoo.errors import GanZooError
from gan_zoo.models.base import GANModule

__all__ = ["GanZooCLI", "cli_main", "main"]


class GanZooCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.add_lightning_class_args(SampleGrid, "sample_grid")
        parser.add_lightning_class_args(GANCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.every_n_train_steps": 1000})
        for net in ("generator", "discriminator"):
            parser.link_arguments(
                "data.image_shape", f"model.init_args.{net}.init_args.image_shape", apply_on="instantiate"
            )


def cli_main(args: list[str] | dict | None = None, run: bool = True) -> GanZooCLI:
    """Run the CLI in-process and return it (tests and notebooks use this; ``args`` as on the shell)."""
    return GanZooCLI(
        GANModule,
        GANDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        auto_configure_optimizers=False,
        args=args,
        run=run,
        trainer_defaults={"default_root_dir": "runs"},
    )


def _export(argv: list[str]) -> None:
    from gan_zoo.commands import export_main

    export_main(argv)


def _sample(argv: list[str]) -> None:
    from gan_zoo.commands import sample_main

    sample_main(argv)


def _evaluate(argv: list[str]) -> None:
    from gan_zoo.evaluate import evaluate_main

    evaluate_main(argv)


def _reproduce(argv: list[str]) -> None:
    from gan_zoo.reproduce import reproduce_main

    code = reproduce_main(argv)
    if code:
        sys.exit(code)  # 1: a metric fell outside the ledger's tolerance


# Subcommands outside LightningCLI: name -> function(argv).
EXTRA_COMMANDS = {"export": _export, "sample": _sample, "evaluate": _evaluate, "reproduce": _reproduce}


def main(args: list[str] | None = None) -> None:
    """Console entry point ``gan-zoo``: LightningCLI subcommands plus the ones in ``EXTRA_COMMANDS``."""
    argv = list(sys.argv[1:] if args is None else args)
    try:
        if argv and argv[0] in EXTRA_COMMANDS:
            EXTRA_COMMANDS[argv[0]](argv[1:])
        else:
            if not argv or argv[0] in ("-h", "--help"):
                print(f"gan-zoo: LightningCLI subcommands below, plus {', '.join(EXTRA_COMMANDS)} "
                      "(gan-zoo <subcommand> --help)")
            cli_main(None if args is None else argv)  # None: LightningCLI reads sys.argv itself
    except GanZooError as err:
        print(f"gan-zoo: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
