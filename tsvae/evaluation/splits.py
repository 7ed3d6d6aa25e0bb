"""The split rule of the detection checks: interleaved time blocks for real windows.

Real windows cut with stride 1 overlap: window ``i`` shares ``T - 1`` steps with window
``i + 1``. A random train/test split would put near-copies of every test window into the
training set, and a flexible classifier would score memory, not fidelity. A single
chronological cut avoids that but, on a trending series (Stocks), scores the shift in level
between the early and the late part rather than the generator.

The rule used here: the real windows, taken in the order given (assumed to be time order), are
cut into contiguous blocks of :data:`BLOCK_GAPS` gaps each (four window lengths for stride-1
windows) that take turns in a repeating pattern of roles (``train, train, test`` for a
detection score: a third of the blocks test). Every block that follows a block of another
role loses its first ``gap`` windows (default: the window length), so that no training window
shares a step with a test window. Short blocks spread every role over the whole series, so a
trend or a slow seasonal drift reaches every role alike. The block boundaries start at a random
offset drawn from the seed, so that different seeds see different blocks. Synthetic windows are
independent draws and are split at random.
"""

from __future__ import annotations

import numpy as np

from tsvae.evaluation.base import NotApplicable

#: Roles of consecutive real blocks for a detection score: 0 = train, 1 = test.
TRAIN_TEST = (0, 0, 1)
#: Roles for the real-vs-real floor: 0/1 = first real side train/test, 2/3 = second side.
#: Each test block has one training block of either side next to it: with both neighbours
#: of one side, a classifier that only learned *when* a window is from (its level on a
#: trending series) would score the test blocks systematically wrong, and ``|accuracy -
#: 0.5|`` would count that as detection (Stocks' floor .22 instead of .15, ETTh1's .13
#: instead of .02).
FLOOR = (0, 2, 1, 0, 2, 3)
#: Block length in gaps (window lengths): a role change costs a quarter of a block.
BLOCK_GAPS = 4
#: Fewest windows a block keeps after its gap.
MIN_BLOCK_KEEP = 2


def block_roles(n: int, gap: int, *, pattern=TRAIN_TEST, block: int | None = None,
                seed: int | None = 0) -> np.ndarray:
    """Role of each of ``n`` time-ordered windows under the interleaved-block rule.

    Parameters
    ----------
    n : int
        Number of real windows, in time order.
    gap : int
        Windows dropped at the start of every block that follows a block of another role
        (the window length for stride-1 windows: no shared step across roles).
    pattern : sequence of int
        Roles given to consecutive blocks, repeated.
    block : int, optional
        Windows a block (default ``BLOCK_GAPS * gap``, at least ``gap + MIN_BLOCK_KEEP``);
        shortened for short data so that the pattern fits at least once.
    seed : int or None
        Draws the offset of the block boundaries (``None``: no offset).

    Returns
    -------
    numpy.ndarray
        ``int`` role per window, ``-1`` for a dropped (gap) window.

    Examples
    --------
    >>> roles = block_roles(30, 2, block=10, seed=None)
    >>> roles.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     -1, -1, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    pattern = np.asarray(pattern, dtype=int)
    if isinstance(gap, bool) or not isinstance(gap, int | np.integer) or gap < 0:
        raise ValueError(f"gap must be a non-negative integer (windows), got {gap!r}.")
    n_roles = len(np.unique(pattern))
    smallest = gap + MIN_BLOCK_KEEP
    size = max(BLOCK_GAPS * gap, smallest) if block is None else int(block)
    size = max(min(size, n // len(pattern)), 1)
    if size < smallest:
        need = len(pattern) * smallest
        raise NotApplicable(f"Too few real windows ({n}) to split into {len(pattern)} time "
                            f"blocks of {n_roles} roles with a gap of {gap} windows; pass at "
                            f"least {need} real windows (a longer series) or shorter windows.")
    offset = 0 if seed is None else int(np.random.default_rng(seed).integers(size))
    block = (np.arange(n) + offset) // size
    roles = pattern[block % len(pattern)]
    change = np.flatnonzero(roles[1:] != roles[:-1]) + 1
    out = roles.copy()
    for start in change:
        out[start:start + gap] = -1
    return out


def random_roles(n: int, shares, *, seed: int | None = 0) -> np.ndarray:
    """Random roles for ``n`` independent (synthetic) windows, role ``k`` for a share
    ``shares[k]`` of them.

    Examples
    --------
    >>> np.bincount(random_roles(9, [2 / 3, 1 / 3])).tolist()
    [6, 3]
    """
    shares = np.asarray(shares, dtype=float)
    counts = np.floor(shares / shares.sum() * n).astype(int)
    counts[-1] = n - counts[:-1].sum()
    roles = np.repeat(np.arange(len(shares)), counts)
    return np.random.default_rng(seed).permutation(roles)
