"""User-facing errors: one line that names the problem and the fix.

The CLI prints these without a traceback and exits with status 2 (see `gan_zoo.cli.main`).
"""


class GanZooError(RuntimeError):
    """A problem with the user's input or environment, with the fix in its message."""


class DatasetNotFoundError(GanZooError):
    """The dataset files are not on disk and could not be downloaded."""


class DataError(GanZooError):
    """A training item could not be loaded (e.g. a truncated image). Raised while a batch is fetched, i.e.
    between two training steps, so the training state is consistent and ``GANCheckpoint`` saves it."""
