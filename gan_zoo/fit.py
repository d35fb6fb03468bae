"""``gan-zoo fit``: LightningCLI over every registered model and data module.

    gan-zoo fit --config configs/dcgan/digits.yaml [--config configs/logging/wandb.yaml] [--trainer.max_steps 200]

* Models and data modules are chosen by ``class_path`` (subclass mode), nets are injected modules.
* ``data.image_shape`` is linked into ``model.generator.init_args.image_shape`` and
  ``model.discriminator.init_args.image_shape``, so configs never repeat image sizes.
* ``num_classes`` is NOT linked. jsonargparse skips a link target that a net lacks while parsing, but
  LightningCLI still writes the linked value into the checkpoint's hparams, so an unconditional
  model's checkpoint would then fail to load ("Parser key model.generator ... num_classes").
  Conditional configs set ``num_classes`` on their nets (tests/test_cli.py pins the round trip).
* Always-on callbacks with their own config groups: ``--sample_grid.*`` (PNG grids from fixed noise),
  ``--checkpoint.*`` (``GANCheckpoint``: ``last.ckpt`` on by default, always holding the final state,
  written atomically, and written on Ctrl-C/SIGTERM), ``--nonfinite_guard.*`` (stops on a NaN/inf loss) and
  ``--compile.*`` (``CompileNets``: opt-in ``torch.compile`` of the nets, off by default), ``--channels_last.enabled``
  (``ChannelsLast``: opt-in channels-last layout of the convolution weights, off by default).
* ``--optimizer``/``--lr_scheduler`` are removed: the models own two optimizers (G, D), set with
  ``--model.g_optimizer`` / ``--model.d_optimizer``, and a learning-rate schedule for each,
  ``--model.g_lr_scheduler`` / ``--model.d_lr_scheduler`` (stepped per update of that net).
* Every run writes into its own folder (``<save_dir>/<name>/<version>`` for loggers such as W&B), so an
  identical second run never collides with the first.
* ``--weights_from`` (fit only) starts a new run from a checkpoint's or a pretrained generator's weights with
  the config's hyperparameters (``gan_zoo.warm_start``); ``--ckpt_path`` resumes a run unchanged.
* Before the first step: ``--ckpt_path`` must hold the same model (class, nets, options) as the config,
  the output folders must be writable, the optimizers must build, and a W&B logger must be able to start.
* User errors (bad values, bad files, missing data, unwritable folders, a wrong checkpoint) print one line
  ``gan-zoo: error: ...`` and exit with status 2; Ctrl-C / SIGTERM print one line and exit 130 / 143.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import lightning as L
from jsonargparse import DefaultHelpFormatter
from lightning.pytorch.callbacks import ProgressBar, TQDMProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.profilers import PassThroughProfiler

import gan_zoo.data  # noqa: F401  (make the data modules importable by short class_path)
import gan_zoo.models  # noqa: F401  (register every model)
from gan_zoo.callbacks import GANCheckpoint, SampleGrid
from gan_zoo.callbacks.compile import CompileNets
from gan_zoo.callbacks.dispatch import NoOpProfiler, skip_inherited_step_hooks
from gan_zoo.callbacks.memory_format import ChannelsLast
from gan_zoo.callbacks.nonfinite import NonFiniteGuard
from gan_zoo.callbacks.progress import ThrottledProgressBar
from gan_zoo.data.base import GANDataModule
from gan_zoo.errors import GanZooError
from gan_zoo.hub import read_checkpoint
from gan_zoo.outputs import check_writable
from gan_zoo.models.base import GANModule
from gan_zoo.warm_start import load_initial_weights

__all__ = ["GanZooCLI", "GanZooTrainer", "cli_main"]

# Noise for a gan_zoo user, printed before the progress bar of every fit. Actionable warnings stay.
NOISE_WARNINGS = (
    r".*LeafSpec.*",  # torch.utils._pytree deprecation raised inside Lightning
    r".*is smaller than the logging interval.*",  # GAN runs count steps across epochs; logging still happens
    r".*tensorboardX.*",  # "tensorboardX has been removed as a dependency ... using CSVLogger"
    r".*does not have many workers.*",  # digits/toy data live in memory; folders set --data.num_workers
    r".*args parameter is intended to run from within Python.*",  # cli_main(args) in a notebook/test: intended
)


def _silence_noise() -> None:
    for pattern in NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)


class _DropTips(logging.Filter):
    """Lightning's advertisements ("💡 Tip: ... try installing litlogger/litmodels") and the TPU line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("💡 Tip", "TPU available: False"))


for _handler in logging.getLogger("lightning.pytorch").handlers:
    _handler.addFilter(_DropTips())

# Lightning's start-up notes ("Seed set to 0", "GPU available: ...") are held back until the checks before
# the first step pass, so a user error prints one line, not notes and then the line.
_LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")


def _quiet_lightning() -> dict[str, int]:
    levels = {name: logging.getLogger(name).level for name in _LIGHTNING_LOGGERS}
    for name in _LIGHTNING_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return levels


def _restore_lightning(levels: dict[str, int]) -> None:
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)

FIT_DESCRIPTION = """\
Train a GAN. What you usually set:
  --config FILE                       a model/data config (configs/<model>/<data>.yaml); repeat to compose
  --trainer.max_steps N               optimizer steps of BOTH nets (n_critic=1: N/2 batches)
  --trainer.accelerator/devices/precision   e.g. gpu, 1, 16-mixed
  --trainer.default_root_dir DIR      where runs go (default: runs/)
  --data.batch_size N, --data.data_dir DIR   (or set $GAN_ZOO_DATA)
  --model.init_args.n_critic N        D steps per G step (model options: --model.help CLASS)
  --model.init_args.g_optimizer torch.optim.Adam --model.init_args.g_optimizer.lr 1e-4   (d_optimizer alike)
  --model.init_args.g_lr_scheduler torch.optim.lr_scheduler.MultiStepLR --model.init_args.g_lr_scheduler.milestones [N]
                                      a schedule in G updates (d_lr_scheduler alike, in D updates)
  --sample_grid.every_n_g_steps N     PNG grids of samples; --checkpoint.every_n_train_steps N
  --ckpt_path PATH                    resume a run from its last.ckpt (same config)
  --print_config                      show the merged config and exit
  --model.help CLASS                  options of one model, e.g. --model.help WGANGP
Everything else below is LightningCLI's full option list."""

UNOFFERED_SUBCOMMANDS = {
    "predict": "draw samples with `gan-zoo sample --ckpt PATH --out grid.png`",
}
# validate/test run only for models that define a held-out measure (the semi-supervised GAN's
# classification error); for the others they end in one line pointing at `gan-zoo evaluate`.
NO_HELD_OUT_MEASURE = "{model} has no {stage} measure (only the semi-supervised GAN has one); score a checkpoint with `gan-zoo evaluate --ckpt PATH --dataset NAME`"


class GanZooHelpFormatter(DefaultHelpFormatter):
    """Lists gan_zoo's nets where jsonargparse would list every importable ``nn.Module``.

    A net typed ``nn.Module`` would otherwise list every torch and torchvision module (about 1,380 of the
    1,439 lines of ``--model.help WGANGP``); any ``nn.Module`` still works when given by its full class_path.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "".join(indent + line for line in text.splitlines(keepends=True))  # descriptions keep their layout

    NET = re.compile(r"^gan_zoo\.nets\.[\w.]*(Generator|Discriminator|Critic)$")

    def _get_help_string(self, action) -> str:
        text = super()._get_help_string(action)
        marker = ", known subclasses: "
        if marker not in text or "torch.nn." not in text:
            return text
        head, _, tail = text.partition(marker)
        paths, _, rest = tail.rpartition(")")
        nets = [p.strip() for p in paths.split(",") if self.NET.match(p.strip())]
        return f"{head}, gan_zoo nets: {', '.join(nets)}; or any nn.Module by its class_path){rest}"


def summarize_parse_error(message: str) -> str:
    """jsonargparse's multi-line parse error -> one line: the key and the innermost reason.

    E.g. 'Parser key "model": ... Union subtypes ... - Problem with given class_path ...: Option 'n_critics'
    is not accepted ...' -> '--model: Option 'n_critics' is not accepted'; a nested option is named down to the
    innermost key ('--model.init_args.g_lr_scheduler.milestones: Expected ...').
    """
    lines = [line.strip().lstrip("- ").strip() for line in message.splitlines() if line.strip()]
    # A factory argument's (optimizer, schedule) reason is prefixed with its whole typing.Callable[...] signature.
    lines = [re.sub(r"^Type typing\.Callable\[.*? expects a function or a callable class: ", "", line) for line in lines]
    lines = [re.sub(r"\. Got value: Namespace\(.*$", "", line) for line in lines]  # the parsed object, repeated
    # The key the message opens with, then the nested keys down to the innermost one (each indented deeper than
    # the last): model > g_lr_scheduler > milestones names the option --model.init_args.g_lr_scheduler.milestones.
    chain, depth = [], -1
    for raw in message.splitlines() if lines and lines[0].startswith("Parser key") else []:
        found = re.search(r'Parser key "([^"]+)"', raw)
        indent = len(raw) - len(raw.lstrip(" -"))
        if found and indent > depth:
            chain.append(found.group(1))
            depth = indent
    name = ".init_args.".join(chain[:2]) + "".join(f".{k}" for k in chain[2:]) if chain else None
    noise = ("Parser key", "Does not validate against any of the Union", "Subtypes:", "Errors:",
             "Expected a <class 'NoneType'>", "Given value", "Problem with given class_path", "Expected a path but")
    reasons = [line for line in lines if not line.startswith(noise)] or lines[1:] or lines
    reason = reasons[0] if reasons else "invalid arguments"
    if "class_path='torch.optim.Optimizer'" in message:  # an optimizer's option given before (without) its class
        reason = ("an optimizer option needs the optimizer's class first, e.g. --model.init_args.g_optimizer "
                  "torch.optim.Adam --model.init_args.g_optimizer.lr 1e-4 (likewise d_optimizer)")
    elif "class_path='typing.Union'" in message and "lr_scheduler" in message:  # likewise a schedule's option
        reason = ("a learning-rate schedule option needs the schedule's class first, e.g. --model.init_args."
                  "g_lr_scheduler torch.optim.lr_scheduler.MultiStepLR --model.init_args.g_lr_scheduler.milestones "
                  "[10000] (likewise d_lr_scheduler)")
    return f"--{name}: {reason}" if name else reason


class GanZooArgumentParser(LightningArgumentParser):
    """Help lists gan_zoo's classes (see ``GanZooHelpFormatter``); a parse error is one line and exit 2."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", GanZooHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error:  # a nested parser: its caller handles the error
            return super().error(message, ex)
        prog = self.prog.replace(" [options]", "")
        print(f"gan-zoo: error: {summarize_parse_error(message)} (options: {prog} --help)", file=sys.stderr)
        sys.exit(2)


class GanZooTrainer(L.Trainer):
    """``Trainer`` whose ``log_dir`` is a folder of this run only, for every logger.

    Lightning's ``log_dir`` is ``save_dir`` itself for loggers without version folders (W&B, MLflow), so two
    runs would write ``config.yaml`` and sample grids into the same place (the second run then stops on
    "SaveConfigCallback expected .../config.yaml to NOT exist"). Here it is ``save_dir/name/version``, the
    folder where ``ModelCheckpoint`` already puts that run's ``checkpoints/``.
    """

    @property
    def log_dir(self) -> str | None:
        logger = self.logger
        if logger is None or isinstance(logger, (TensorBoardLogger, CSVLogger)) or len(self.loggers) > 1:
            return super().log_dir
        version = logger.version if isinstance(logger.version, str) else f"version_{logger.version}"
        dirpath = os.path.join(logger.save_dir or self.default_root_dir, str(logger.name), version)
        return self.strategy.broadcast(dirpath)


def _first_line(err: BaseException) -> str:
    """The first non-empty line of an exception's message (torch/PIL errors run to paragraphs)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err


def _plain(value: Any) -> Any:
    """Namespaces/tuples -> dicts/lists, so a config and a checkpoint's hparams compare as plain data."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# Options the CLI fills in from the data module at instantiation (link targets); before that the parsed
# config holds the nets' defaults there, so they are compared as tensor shapes in ``before_fit`` instead.
LINKED_NET_OPTIONS = ("image_shape",)


def model_differences(checkpoint_hparams: dict, config: dict, skip: tuple[str, ...] = ()) -> list[str]:
    """How the model a checkpoint holds differs from the model a config asks for (empty: the same).

    Compares the class, then every option both sides name (nets by class_path and init args), except the
    dotted keys in ``skip``. Options that only one side names are skipped too.
    """
    saved = _plain(checkpoint_hparams)
    wanted = _plain(config)
    saved_class, wanted_class = checkpoint_hparams.get("_class_path"), wanted.get("class_path")
    if saved_class and wanted_class and saved_class != wanted_class:
        return [f"model {saved_class} (config: {wanted_class})"]
    diffs: list[str] = []

    def walk(a: Any, b: Any, key: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            if "class_path" in a and "class_path" in b and a["class_path"] != b["class_path"]:
                diffs.append(f"{key} {a['class_path']} (config: {b['class_path']})")
                return
            for k in a.keys() & b.keys():
                walk(a[k], b[k], f"{key}.{k}" if key else k)
        elif a != b and b is not None and key not in skip:
            diffs.append(f"{key}={a!r} (config: {b!r})")

    walk(saved, wanted.get("init_args", {}), "")
    return sorted(diffs)


class GanZooCLI(LightningCLI):
    def __init__(self, *args, **kwargs) -> None:
        _silence_noise()
        self._log_levels = _quiet_lightning()  # restored once the checks before the first step pass
        try:
            super().__init__(*args, **kwargs)
        finally:
            _restore_lightning(self._log_levels)

    def instantiate_trainer(self, **kwargs: Any) -> L.Trainer:
        """Lightning's trainer, with its default per-batch tqdm bar swapped for ``ThrottledProgressBar`` (a bar
        the config names in ``trainer.callbacks`` is kept as it is) and without the ``compile`` and ``channels_last``
        callbacks when they are off. Lightning dispatches every callback's per-step hooks whether it overrides them
        or not, so the ones a callback inherits empty are set aside, and Lightning's default profiler is replaced by
        one without a context manager per hook call (``gan_zoo.callbacks.dispatch``)."""
        trainer = super().instantiate_trainer(**kwargs)
        optional = (CompileNets, ChannelsLast)
        trainer.callbacks[:] = [c for c in trainer.callbacks if not (isinstance(c, optional) and not c.enabled)]
        named = self._get(self.config_init, "trainer", default={}).get("callbacks") or []
        if not any(isinstance(c, ProgressBar) for c in (named if isinstance(named, list) else [named])):
            callbacks = trainer.callbacks
            for i, callback in enumerate(callbacks):
                if type(callback) is TQDMProgressBar:  # the one Trainer added for enable_progress_bar=True
                    callbacks[i] = ThrottledProgressBar()
        skip_inherited_step_hooks(trainer.callbacks)
        if type(trainer.profiler) is PassThroughProfiler:  # the default: none chosen with --trainer.profiler
            trainer.profiler = NoOpProfiler()
        return trainer

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """``fit``, and ``validate``/``test`` for models with a held-out measure (``gan-zoo evaluate``
        scores the samples of any checkpoint)."""
        return {
            "fit": {"model", "train_dataloaders", "val_dataloaders", "datamodule"},
            "validate": {"model", "dataloaders", "datamodule"},
            "test": {"model", "dataloaders", "datamodule"},
        }

    def _before_held_out_run(self, subcommand: str, hook: str, stage: str) -> None:
        """validate/test: fit-only options refused, a logger-less run folder's config.yaml kept, and the model
        must have a held-out measure."""
        if self.config[subcommand].get("weights_from"):
            raise GanZooError(f"--weights_from is for `gan-zoo fit`; `gan-zoo {subcommand}` takes the weights with --ckpt_path")
        callback = self._save_config()
        if callback is not None and self._previous_run_config() is not None:
            callback.save_to_log_dir = False  # leave the fit's config.yaml as it is
        from lightning.pytorch.utilities.model_helpers import is_overridden

        if not is_overridden(hook, self.model):
            raise GanZooError(NO_HELD_OUT_MEASURE.format(model=type(self.model).__name__, stage=stage))

    def _previous_run_config(self) -> Path | None:
        """With no logger, ``log_dir`` is ``default_root_dir`` itself, shared by every run: the config.yaml a
        previous run wrote there, if any (Lightning's SaveConfigCallback would stop on it with a traceback)."""
        if self.trainer.logger is not None:
            return None
        path = Path(self.trainer.default_root_dir) / "config.yaml"
        return path if path.is_file() else None

    def _save_config(self) -> SaveConfigCallback | None:
        return next((c for c in self.trainer.callbacks if isinstance(c, SaveConfigCallback)), None)

    def before_validate(self) -> None:
        self._before_held_out_run("validate", "validation_step", "validation")

    def before_test(self) -> None:
        self._before_held_out_run("test", "test_step", "test")

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_lightning_class_args(SampleGrid, "sample_grid")
        parser.add_lightning_class_args(GANCheckpoint, "checkpoint")
        parser.add_lightning_class_args(NonFiniteGuard, "nonfinite_guard")
        parser.add_lightning_class_args(CompileNets, "compile")
        parser.add_lightning_class_args(ChannelsLast, "channels_last")
        parser.add_argument(
            "--weights_from", type=Optional[str], default=None,
            help="fit only: start from these weights with the config's hyperparameters and fresh optimizers "
            "(a .ckpt: the whole model; a pretrained name/folder/hf:// source: G only). See gan_zoo.warm_start",
        )
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.every_n_train_steps": 1000})
        for net in ("generator", "discriminator"):
            for option in LINKED_NET_OPTIONS:
                parser.link_arguments(
                    f"data.{option}", f"model.init_args.{net}.init_args.{option}", apply_on="instantiate"
                )

    # ------------------------------------------------------------------ resuming the right model
    def _parse_ckpt_path(self) -> None:
        """Refuse a ``--ckpt_path`` that is missing, unreadable, or holds another model than the config.

        LightningCLI itself would replace the config's model by the checkpoint's hparams without a word: a
        DCGAN config resumed from a WGAN-GP checkpoint trained WGAN-GP into the DCGAN run folder.
        """
        subcommand = self.config.get("subcommand")
        ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
        self._resume_state: dict | None = None
        if ckpt_path and ckpt_path not in ("last", "best", "hpc", "registry"):
            path = Path(ckpt_path)
            checkpoint = read_checkpoint(path, "--ckpt_path", required=("hyper_parameters",))
            hparams = checkpoint["hyper_parameters"]
            linked = tuple(f"{net}.init_args.{o}" for net in ("generator", "discriminator") for o in LINKED_NET_OPTIONS)
            diffs = model_differences(hparams, self.config[subcommand]["model"], skip=linked)
            if diffs:
                raise GanZooError(
                    f"--ckpt_path {path} holds a different model than the config: {'; '.join(diffs)}. Resume with "
                    "the config the run was trained with (config.yaml in its run folder), or drop --ckpt_path"
                )
            self._resume_state = {k: tuple(v.shape) for k, v in checkpoint.get("state_dict", {}).items()}
        if subcommand and "weights_only" in self.config[subcommand] and self.config[subcommand]["weights_only"] is None:
            # Lightning leaves an unset weights_only at False (a full unpickle of the resumed file, "last" and
            # "hpc" included); checkpoints are untrusted input, and the zoo's own load with weights_only=True.
            self.config[subcommand]["weights_only"] = True
        super()._parse_ckpt_path()

    # ------------------------------------------------------------------ bad values -> one line
    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except GanZooError:
            raise
        except Exception as err:
            cause = _root_cause(err)
            if isinstance(cause, GanZooError):
                raise cause from None
            message = _first_line(cause)
            if "No supported gpu backend" in message or "is not available" in message and "accelerator" in message:
                message += " (this machine has none: use --trainer.accelerator auto or cpu)"
            raise GanZooError(f"invalid configuration: {message}") from None

    def before_fit(self) -> None:
        """Checks that would otherwise fail after the run folder exists, or after every step has run."""
        trainer, model = self.trainer, self.model
        weights_from, ckpt_path = self.config["fit"].get("weights_from"), self.config["fit"].get("ckpt_path")
        if weights_from:
            if ckpt_path:
                raise GanZooError(
                    "--weights_from and --ckpt_path both given: --ckpt_path resumes a run as it was, "
                    "--weights_from starts a new one from its weights; pass one"
                )
            loaded = load_initial_weights(model, weights_from)
            if trainer.is_global_zero:
                print(f"gan-zoo: weights from {loaded}", file=sys.stderr)
        previous = self._previous_run_config()
        if previous is not None:
            folder = previous.parent
            # Only resuming *that* run may reuse its folder; any other run would write over its checkpoints.
            if not ckpt_path or folder.resolve() not in Path(ckpt_path).resolve().parents:
                raise GanZooError(
                    f"{folder} already holds a run ({previous.name}, checkpoints/) and --trainer.logger is off, so "
                    f"this run would write over it: pass another --trainer.default_root_dir, keep a logger (each run "
                    f"then gets a version folder), or resume that run with --ckpt_path {folder / 'checkpoints' / 'last.ckpt'}"
                )
            callback = self._save_config()
            if callback is not None:
                callback.overwrite = True  # resuming in its own folder: the same model (checked below)
        if self._resume_state is not None:
            current = {k: tuple(v.shape) for k, v in model.state_dict().items()}
            mismatched = [
                f"{k} {self._resume_state[k]} (config: {current[k]})"
                for k in current.keys() & self._resume_state.keys()
                if current[k] != self._resume_state[k]
            ]
            if mismatched:
                raise GanZooError(
                    f"--ckpt_path holds nets of other sizes than the config builds: {mismatched[0]}"
                    f"{f' and {len(mismatched) - 1} more' if len(mismatched) > 1 else ''}; check --data "
                    "(image size, channels) and the nets' options against the run's config.yaml"
                )
            self._resume_state = None
        try:
            model.configure_optimizers()
        except (ValueError, TypeError) as err:
            raise GanZooError(f"invalid optimizer settings: {_first_line(err)}") from None
        datamodule = getattr(self, "datamodule", None)
        if datamodule is not None:
            # the data modules read their files in setup, which fit calls after the run folder exists: a missing
            # dataset is refused before it (setup runs once; fit's own call then finds the data loaded)
            datamodule.setup("fit")
        check_writable(trainer.default_root_dir, "--trainer.default_root_dir")
        for logger in trainer.loggers:
            if getattr(logger, "save_dir", None):
                check_writable(logger.save_dir, "--trainer.logger.init_args.save_dir")
        for callback in trainer.checkpoint_callbacks:
            if getattr(callback, "dirpath", None):
                check_writable(callback.dirpath, "--checkpoint.dirpath")
        self._start_loggers()
        _restore_lightning(self._log_levels)

    def _start_loggers(self) -> None:
        """Start W&B now (it would start in the first step anyway): a missing API key is one line, not a
        traceback from inside fit, and the run's version (its folder name) is known before anything is written."""
        import contextlib
        import io

        from lightning.pytorch.loggers import WandbLogger

        for logger in self.trainer.loggers:
            if not isinstance(logger, WandbLogger):
                continue
            printed = io.StringIO()
            try:
                with contextlib.redirect_stderr(printed):
                    logger.experiment  # noqa: B018  (starts the run)
            except Exception as err:
                if type(err).__name__ == "UsageError" and "API key" in str(err):
                    raise GanZooError(
                        "W&B has no API key: run `wandb login` (or set WANDB_API_KEY), or set "
                        "WANDB_MODE=offline to keep the logs on disk (sync later with `wandb sync`)"
                    ) from None
                sys.stderr.write(printed.getvalue())
                raise
            # W&B warns that Lightning's (unset) `anonymous` argument "has no effect" on every run: noise.
            kept = [line for line in printed.getvalue().splitlines(keepends=True) if "anonymous setting" not in line]
            sys.stderr.write("".join(kept))


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
        trainer_class=GanZooTrainer,
        parser_class=GanZooArgumentParser,
        parser_kwargs={
            "prog": "gan-zoo",
            "description": "Train GANs (fit); export, sample and evaluate are the other subcommands.",
            "fit": {"usage": "gan-zoo fit --config FILE [--config FILE ...] [--section.option VALUE ...]",
                    "description": FIT_DESCRIPTION},
        },
        seed_everything_default=0,  # explicit: Lightning warns "No seed found" for its implicit default
        trainer_defaults={"default_root_dir": "runs"},
    )
