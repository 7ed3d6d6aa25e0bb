"""Format 1-5 model files: which per-condition residual process or mean map a row uses.

Conditional models of those formats stored one residual process (``observation.py``) and one
mean map (``mean_calibration.py``) per condition value; rows of other values use the pooled
ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

#: More distinct condition vectors than this: the conditions are treated as continuous and
#: only the pooled fit is made.
MAX_CONDITION_GROUPS = 32


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
