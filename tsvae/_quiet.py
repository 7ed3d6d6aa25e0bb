"""Keep Lightning's chatter out of a tsvae user's console, only while tsvae runs it.

Lightning logs hardware and tips at every ``Trainer`` ("GPU available: ...", "TPU available:
...", a litlogger advertisement), announces "``Trainer.fit`` stopped: ..." and, with recent
torch, warns about ``LeafSpec`` from its own code. None of it is about the user's model. The
context manager :func:`lightning_quiet` drops exactly those messages: a filter on Lightning's
loggers and a ``warnings.catch_warnings`` block, both removed on exit, so nothing outlives
the call and any other Lightning message still gets through.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import warnings

#: Lightning's loggers of ``rank_zero_info`` and friends.
LIGHTNING_LOGGERS = ("pytorch_lightning.utilities.rank_zero",
                     "lightning.pytorch.utilities.rank_zero",
                     "lightning_fabric.utilities.rank_zero",
                     "lightning.fabric.utilities.rank_zero")
#: Messages that say nothing about the user's model.
CHATTER = re.compile(r"^(GPU available|TPU available|HPU available|💡 Tip|`Trainer\.fit` stopped"
                     r"|Trainer already configured|You are using a CUDA device)")
#: Warnings raised from Lightning's own code or about tsvae's deliberate settings.
WARNINGS = (r".*LeafSpec.*", r".*does not have many workers.*", r".*GPU available but not used.*")


class _DropChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not CHATTER.match(str(record.getMessage()))


@contextlib.contextmanager
def lightning_quiet():
    """Silence Lightning's hardware lines, tips, stop notice and its own warnings inside.

    Examples
    --------
    >>> import logging
    >>> with lightning_quiet():
    ...     logging.getLogger(LIGHTNING_LOGGERS[0]).warning("GPU available: False")
    """
    drop = _DropChatter()
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    for logger in loggers:
        logger.addFilter(drop)
    try:
        with warnings.catch_warnings():
            for message in WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(drop)


def interactive() -> bool:
    """True when a person is likely watching: stderr is a terminal, or a Jupyter kernel runs.

    Examples
    --------
    >>> isinstance(interactive(), bool)
    True
    """
    try:
        if sys.stderr is not None and sys.stderr.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return "ipykernel" in sys.modules
