"""The ``gan-zoo`` console entry point: ``fit`` (LightningCLI, built in ``gan_zoo.fit``) and the
subcommands outside LightningCLI (``export``, ``sample``, ``evaluate``, ``pretrained``, ``reproduce``).

This module only dispatches and turns errors into one line: user errors print ``gan-zoo: error: ...`` and
exit with status 2; Ctrl-C / SIGTERM print one line and exit 130 / 143. It sits on top of the import graph
(nothing in ``gan_zoo`` imports it), so any subcommand may use ``gan_zoo.fit.cli_main`` without a circle.
"""

from __future__ import annotations

import difflib
import re
import sys

from gan_zoo.errors import GanZooError
from gan_zoo.fit import UNOFFERED_SUBCOMMANDS, GanZooCLI, cli_main

__all__ = ["EXTRA_COMMANDS", "cli_main", "main"]


def _export(argv: list[str]) -> None:
    from gan_zoo.commands import export_main

    export_main(argv)


def _sample(argv: list[str]) -> None:
    from gan_zoo.commands import sample_main

    sample_main(argv)


def _pretrained(argv: list[str]) -> None:
    from gan_zoo.commands import pretrained_main

    pretrained_main(argv)


def _evaluate(argv: list[str]) -> None:
    from gan_zoo.evaluate import evaluate_main

    evaluate_main(argv)


def _reproduce(argv: list[str]) -> None:
    from gan_zoo.reproduce import reproduce_main

    code = reproduce_main(argv)
    if code:
        sys.exit(code)  # 1: a metric fell outside the ledger's tolerance


# Subcommands outside LightningCLI: name -> function(argv).
LIGHTNING_SUBCOMMANDS = tuple(GanZooCLI.subcommands())  # fit, validate, test
EXTRA_COMMANDS = {"export": _export, "sample": _sample, "evaluate": _evaluate, "pretrained": _pretrained, "reproduce": _reproduce}


def _one_line(err: BaseException) -> str:
    """The message of a user error as one line. An error raised in a DataLoader worker arrives re-raised
    with the worker's traceback in its message; its last line ("pkg.SomeError: message") is the original."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    if "Traceback (most recent call last)" in str(err):
        return re.sub(r"^[\w.]+Error: ", "", lines[-1])
    return " ".join(lines) if len(lines) <= 2 else lines[0]


def _error(message: str, status: int = 2) -> None:
    print(f"gan-zoo: error: {message}", file=sys.stderr)
    sys.exit(status)


def main(args: list[str] | None = None) -> None:
    """Console entry point ``gan-zoo``: LightningCLI's ``fit`` plus the ones in ``EXTRA_COMMANDS``."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from gan_zoo.callbacks.checkpoint import interrupt_report

    argv = list(sys.argv[1:] if args is None else args)
    try:
        if argv and argv[0] in EXTRA_COMMANDS:
            EXTRA_COMMANDS[argv[0]](argv[1:])
        elif argv and argv[0] in UNOFFERED_SUBCOMMANDS:
            raise GanZooError(f"`gan-zoo {argv[0]}` is not offered: {UNOFFERED_SUBCOMMANDS[argv[0]]}")
        elif argv and not argv[0].startswith("-") and argv[0] not in LIGHTNING_SUBCOMMANDS:
            known = [*LIGHTNING_SUBCOMMANDS, *EXTRA_COMMANDS]
            close = difflib.get_close_matches(argv[0], known, n=1)
            hint = f"did you mean `gan-zoo {close[0]}`? " if close else ""
            raise GanZooError(f"unknown subcommand {argv[0]!r}; {hint}the subcommands: {', '.join(known)}")
        else:
            if not argv or argv[0] in ("-h", "--help"):
                print(f"gan-zoo: `gan-zoo fit --help` trains; also {', '.join(EXTRA_COMMANDS)} "
                      "(gan-zoo <subcommand> --help)")
            cli_main(None if args is None else argv)  # None: LightningCLI reads sys.argv itself
    except GanZooError as err:
        _error(_one_line(err))
    except SIGTERMException as err:  # Ctrl-C or SIGTERM: GANCheckpoint wrote last.ckpt at a batch boundary
        status, message = interrupt_report(err)
        print(f"\ngan-zoo: {message}", file=sys.stderr)  # own line, also after a progress bar
        sys.exit(status)
    except KeyboardInterrupt:
        print("gan-zoo: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
