"""User-facing errors: one line that names the problem and the fix.

The CLI prints these without a traceback and exits with status 2 (see `gan_zoo.cli.main`).
"""

import argparse


class GanZooError(RuntimeError):
    """A problem with the user's input or environment, with the fix in its message."""


class DatasetNotFoundError(GanZooError):
    """The dataset files are not on disk and could not be downloaded."""


class DataError(GanZooError):
    """A training item could not be loaded (e.g. a truncated image). Raised while a batch is fetched, i.e.
    between two training steps, so the training state is consistent and ``GANCheckpoint`` saves it."""


class ArgumentParser(argparse.ArgumentParser):
    """The subcommands' parser: a bad option is a ``GanZooError`` (one line, exit 2), not argparse's usage block."""

    def error(self, message: str):  # argparse's hook for every parse error
        raise GanZooError(f"{self.prog}: {message}; see `{self.prog} --help`")
