"""Evaluation per condition value, and condition fidelity.

``evaluate(real, synthetic, by="machine")`` cuts both into windows labelled by the condition
(a window's label is its last row's value; generated windows carry the condition they were
generated for), runs the checks separately for each value, and measures *condition
fidelity*: a GRU classifier trained on real windows (class-balanced batches) to predict the
condition is applied to the synthetic windows; its balanced accuracy (mean recall over the
conditions, so guessing the majority scores 1/classes) there should be close to its balanced
accuracy on held-out real windows (much lower means the windows do not look like their
condition).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from tsvae.data.conditions import MAX_INTEGER_CATEGORIES
from tsvae.data.long_format import SAMPLE_COL, STEP_COL, is_long_format, with_index_columns
from tsvae.data.validate import validate_frame
from tsvae.data.windows import sliding_windows
from tsvae.evaluation.inputs import check_not_empty
from tsvae.evaluation.ml_scores import _GRUHead, _train
from tsvae.evaluation.report import EvaluationReport, dumps_strict


@dataclass
class ConditionalReport:
    """Checks per condition value plus condition fidelity.

    ``table``: one row per condition value (windows, verdict, pass rate, discriminative score,
    classifier accuracy on that value's synthetic windows); ``reports``: the full
    :class:`EvaluationReport` of each value; ``fidelity``: real held-out accuracy, synthetic
    accuracy and their gap.
    """

    table: pd.DataFrame
    reports: dict = field(default_factory=dict)
    fidelity: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """Every condition value with synthetic windows passes its checks."""
        verdicts = self.table["passed"].dropna()
        return bool(len(verdicts)) and bool(verdicts.all())

    def to_markdown(self) -> str:
        lines = ["| " + " | ".join(map(str, self.table.columns)) + " |",
                 "|" + "---|" * len(self.table.columns)]
        for _, values in self.table.iterrows():
            lines.append("| " + " | ".join(_cell(v) for v in values) + " |")
        lines.append("")
        lines.append("Condition fidelity: " + ", ".join(f"{k} {_cell(v)}"
                                                        for k, v in self.fidelity.items()))
        return "\n".join(lines)

    def to_html(self, path=None, *, overwrite: bool = False) -> str:
        """Self-contained HTML page; written if ``path`` (atomically; an existing file is
        refused unless ``overwrite``)."""
        from tsvae.evaluation.html import render_conditional

        text = render_conditional(self)
        if path is not None:
            from tsvae.io import atomic_write_bytes

            atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)
        return text

    def to_json(self, path=None, *, overwrite: bool = False) -> str:
        """Per-condition table and condition fidelity as strict JSON (NaN as ``null``);
        written if ``path`` (atomically; an existing file is refused unless ``overwrite``)."""
        import json

        text = dumps_strict({"passed": self.passed, "fidelity": self.fidelity,
                             "conditions": json.loads(self.table.to_json(orient="records"))})
        if path is not None:
            from tsvae.io import atomic_write_bytes

            atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)
        return text

    def __repr__(self) -> str:
        return f"ConditionalReport(passed={self.passed})\n{self.to_markdown()}"


def _cell(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def labelled_windows(data, by: list, n_past: int | None, name: str):
    """``(windows (N, T, F), labels frame (N rows), feature columns, blocked)`` of a frame.

    ``blocked`` is True for series frames, whose stride-1 windows overlap (a random hold-out
    would leak), False for independent windows (long frames).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"by= needs {name} as a DataFrame holding the condition column(s) "
                        f"{by!r} (a series frame, or the long frame that generate() returns).")
    check_not_empty(data, name)
    data = with_index_columns(data)
    missing = [c for c in by if c not in data.columns]
    if missing:
        raise ValueError(f"{name} has no column {missing[0]!r} to evaluate by; columns: "
                         f"{list(data.columns)!r}.")
    if is_long_format(data):
        features = [c for c in data.columns if c not in {SAMPLE_COL, STEP_COL, *by}
                    and pd.api.types.is_numeric_dtype(data[c])]
        ordered = data.sort_values([SAMPLE_COL, STEP_COL], kind="stable")
        sizes = ordered.groupby(SAMPLE_COL, sort=False).size()
        if sizes.nunique() != 1:
            raise ValueError(f"{name}: every sample needs the same number of steps.")
        steps = int(sizes.iloc[0])
        windows = ordered[features].to_numpy(dtype=np.float64).reshape(-1, steps, len(features))
        labels = ordered.groupby(SAMPLE_COL, sort=False)[by].last().reset_index(drop=True)
        return windows, labels, features, False
    if n_past is None:
        raise ValueError("Pass n_past: the series frames are cut into windows of n_past steps.")
    series = validate_frame(data, min_length=n_past, carry=by,
                            columns=[c for c in data.columns if c not in by
                                     and pd.api.types.is_numeric_dtype(data[c])])
    windows, label_rows = [], []
    for a, b in series.bounds:
        windows.append(sliding_windows(series.values[a:b], n_past).astype(np.float64))
        label_rows.append(np.arange(a + n_past - 1, b))
    labels = series.carried.iloc[np.concatenate(label_rows)].reset_index(drop=True)
    return np.concatenate(windows), labels, series.columns, True


#: Most distinct values of a numeric ``by=`` column: the rule by which a condition column is a
#: category (``tsvae.data.conditions.MAX_INTEGER_CATEGORIES``).
MAX_BY_VALUES = MAX_INTEGER_CATEGORIES


def continuous_by(values: pd.Series) -> str | None:
    """Why a ``by=`` column cannot split windows into classes (it is continuous), or None.

    A numeric column is continuous when it holds a non-integer number or more than
    :data:`MAX_BY_VALUES` distinct values (the rule that makes a condition column numeric);
    text, categorical and boolean columns are classes.

    Examples
    --------
    >>> continuous_by(pd.Series([0.5, 1.25, 0.5]))
    'it holds non-integer numbers (e.g. 0.5)'
    >>> continuous_by(pd.Series([1, 2, 2])) is None
    True
    """
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    numbers = values.dropna().to_numpy(dtype=np.float64)
    fractional = numbers[numbers != np.round(numbers)]
    if len(fractional):
        return f"it holds non-integer numbers (e.g. {fractional[0]:.6g})"
    count = len(np.unique(numbers))
    if count > MAX_BY_VALUES:
        return f"it holds {count:,} distinct values (at most {MAX_BY_VALUES} make classes)"
    return None


def _check_by(labels: pd.DataFrame, by: list) -> None:
    for name in by:
        reason = continuous_by(labels[name])
        if reason is not None:
            raise ValueError(
                f"by={name!r} is a continuous column: {reason}, and by= runs the checks once "
                "per value. Pass a column of classes: bin it first (e.g. pd.cut into a few "
                "ranges), or leave it out of by.")


def _keys(labels: pd.DataFrame) -> list:
    return [tuple(row) for row in labels.itertuples(index=False, name=None)]


def _balanced(rows: np.ndarray, labels: np.ndarray, rng, cap: int = 5_000) -> np.ndarray:
    """Training rows resampled to the same count per class (at most ``cap`` each), so a
    majority class cannot win by default."""
    per_class = [rows[labels[rows] == c] for c in np.unique(labels[rows])]
    size = min(max(len(p) for p in per_class), cap)
    return np.concatenate([rng.choice(p, size, replace=len(p) < size) for p in per_class])


def _balanced_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Mean recall over the classes present (0.5 for a majority guess with 2 classes)."""
    if len(truth) == 0:
        return float("nan")
    return float(np.mean([np.mean(predicted[truth == c] == c) for c in np.unique(truth)]))


def condition_fidelity(real, real_keys, synthetic, synthetic_keys, *, blocked: bool,
                       n_past: int, iterations: int = 1_000, seed: int = 0) -> dict:
    """Balanced accuracy of a real-trained condition classifier (trained on class-balanced
    batches) on held-out real and on synthetic windows (scaled by the real min and max)."""
    classes = sorted(set(real_keys), key=str)
    index = {k: i for i, k in enumerate(classes)}
    y_real = np.array([index[k] for k in real_keys])
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(len(classes)):
        members = np.flatnonzero(y_real == c)
        if not blocked:
            members = rng.permutation(members)
        cut = int(0.8 * len(members))
        # Overlapping windows: leave a gap of one window between the two parts.
        train.append(members[:max(cut - (n_past if blocked else 0), 1)])
        test.append(members[cut:])
    train, test = np.concatenate(train), np.concatenate(test)
    low = real.min(axis=(0, 1))
    span = np.where(real.max(axis=(0, 1)) - low > 0, real.max(axis=(0, 1)) - low, 1.0)

    def scale(w):
        return ((w - low) / span).astype(np.float32)

    known = np.array([k in index for k in synthetic_keys])
    y_synth = np.array([index.get(k, -1) for k in synthetic_keys])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _GRUHead(real.shape[2], max(real.shape[2], 8), per_step=False,
                         n_out=max(len(classes), 2))
        balanced = _balanced(train, y_real, rng)
        _train(model, scale(real[balanced]), y_real[balanced], nn.CrossEntropyLoss(),
               iterations, rng)
        with torch.inference_mode():
            pred_real = model(torch.from_numpy(scale(real[test]))).argmax(-1).numpy()
            pred_synth = model(torch.from_numpy(scale(synthetic[known]))).argmax(-1).numpy()
    real_acc = _balanced_accuracy(y_real[test], pred_real)
    synth_acc = _balanced_accuracy(y_synth[known], pred_synth)
    per_class = {classes[c]: float(np.mean(pred_synth[y_synth[known] == c] == c))
                 for c in range(len(classes)) if np.any(y_synth[known] == c)}
    return {"real_holdout_accuracy": real_acc, "synthetic_accuracy": synth_acc,
            "gap": real_acc - synth_acc, "per_condition": per_class}


def evaluate_by(real, synthetic, by, n_past: int | None, evaluate_one, *,
                fidelity_iterations: int = 1_000, seed: int = 0) -> ConditionalReport:
    """Run ``evaluate_one(real_windows, synthetic_windows)`` per condition value."""
    by = [by] if isinstance(by, str) else list(by)
    real_w, real_labels, columns, blocked = labelled_windows(real, by, n_past, "real")
    _check_by(real_labels, by)
    synth_w, synth_labels, synth_cols, _ = labelled_windows(synthetic, by, real_w.shape[1],
                                                           "synthetic")
    if synth_cols != columns:
        raise ValueError(f"synthetic features {synth_cols!r} differ from the real ones "
                         f"{columns!r}.")
    real_keys, synth_keys = _keys(real_labels), _keys(synth_labels)
    fidelity = condition_fidelity(real_w, real_keys, synth_w, synth_keys, blocked=blocked,
                                  n_past=real_w.shape[1], iterations=fidelity_iterations,
                                  seed=seed)
    per_class = fidelity.pop("per_condition")
    rows, reports = [], {}
    for key in sorted(set(real_keys), key=str):
        real_k = real_w[[k == key for k in real_keys]]
        synth_k = synth_w[[k == key for k in synth_keys]]
        label = key[0] if len(key) == 1 else key
        row = dict(zip(by, key, strict=True), real_windows=len(real_k),
                   synthetic_windows=len(synth_k), passed=None, pass_rate=float("nan"),
                   discriminative=float("nan"), condition_accuracy=per_class.get(key,
                                                                                 float("nan")))
        if len(synth_k) >= 10 and len(real_k) >= 10:
            report: EvaluationReport = evaluate_one(real_k, synth_k)
            reports[label] = report
            figures = report.key_figures()
            row.update(passed=report.passed, pass_rate=float(figures["pass_rate"]),
                       discriminative=figures.get("discriminative", float("nan")))
        rows.append(row)
    return ConditionalReport(pd.DataFrame(rows), reports, fidelity)
