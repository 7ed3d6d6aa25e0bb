"""Per-condition fits: one accumulator per distinct condition vector of a conditional model.

A model fitted with conditions that take a few distinct values (labels, categorical static
attributes) gets some of its post-training fits once per value, the observation noise
(``observation.py``) and the mean calibration (``mean_calibration.py``): a "fast" class and a
"slow" one differ in what a pooled fit would average away. Values with too few training
windows fall back to the pooled fit; more distinct values than :data:`MAX_CONDITION_GROUPS`
mean the conditions are continuous, and only the pooled fit is made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

#: More distinct condition vectors than this: the conditions are treated as continuous and
#: only the pooled fit is made.
MAX_CONDITION_GROUPS = 32
#: A condition value needs this many training windows for a fit of its own.
MIN_GROUP_WINDOWS = 100


class ByCondition:
    """Accumulators kept per distinct condition vector, made on first sight by ``make(i)``
    (``i``: how many groups exist already). ``groups`` becomes ``None`` once more than
    ``limit`` distinct vectors have been seen.

    Examples
    --------
    >>> import numpy as np
    >>> counts = ByCondition(lambda i: [])
    >>> for rows_of, rows in counts.rows(np.array([[0.0], [1.0], [0.0]])):
    ...     rows_of.append(int(rows.sum()))
    >>> [(float(key[0]), n) for key, n in counts.entries()]
    [(0.0, [2]), (1.0, [1])]
    """

    def __init__(self, make: Callable[[int], object], limit: int = MAX_CONDITION_GROUPS) -> None:
        self.make, self.limit = make, limit
        self.groups: dict[bytes, tuple[np.ndarray, object]] | None = {}

    def rows(self, conditions: np.ndarray) -> Iterator[tuple[object, np.ndarray]]:
        """For each distinct vector among ``conditions`` (one row per window): its group's
        accumulator and the boolean mask of its rows. Yields nothing once the conditions
        count as continuous."""
        if self.groups is None:
            return
        keys, inverse = np.unique(np.asarray(conditions, np.float32), axis=0,
                                  return_inverse=True)
        inverse = inverse.reshape(-1)
        for index, key in enumerate(keys):
            entry = self.groups.get(key.tobytes())
            if entry is None:
                if len(self.groups) >= self.limit:
                    self.groups = None
                    return
                entry = (key.copy(), self.make(len(self.groups)))
                self.groups[key.tobytes()] = entry
            yield entry[1], inverse == index

    def entries(self) -> list[tuple[np.ndarray, object]]:
        """``(condition vector, accumulator)`` of every group (none for continuous
        conditions)."""
        return list((self.groups or {}).values())


def matching_rows(keys: np.ndarray, conditions) -> Iterator[tuple[int, np.ndarray]]:
    """For each key ``i`` that some rows of ``conditions`` equal: ``(i, row mask)``.

    Examples
    --------
    >>> import numpy as np
    >>> [(i, rows.tolist()) for i, rows in matching_rows(np.array([[1.0], [2.0]]),
    ...                                                  np.array([[2.0], [3.0]]))]
    [(1, [True, False])]
    """
    conditions = np.asarray(conditions, np.float32)
    for i, key in enumerate(np.asarray(keys, np.float32)):
        rows = (conditions == key).all(axis=1)
        if rows.any():
            yield i, rows
