"""The input boundary: random frames, diverging training, atomic writes."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tsvae
from tests.conftest import tiny_model
from tsvae.model import TrainingDivergedError

# Values a user's CSV may hold, including the awkward ones.
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-10**6, 10**6),
    st.sampled_from(["x", "", None]),
)


@st.composite
def frames(draw):
    n_rows = draw(st.integers(0, 30))
    n_cols = draw(st.integers(0, 4))
    kind = draw(st.sampled_from(["float", "mixed", "int", "bool"]))
    data = {}
    for j in range(n_cols):
        if kind == "float":
            col = draw(hnp.arrays(np.float64, n_rows, elements=st.floats(
                allow_nan=True, allow_infinity=True, width=32)))
        elif kind == "int":
            col = draw(hnp.arrays(np.int64, n_rows, elements=st.integers(-1000, 1000)))
        elif kind == "bool":
            col = draw(hnp.arrays(np.bool_, n_rows))
        else:
            col = draw(st.lists(CELLS, min_size=n_rows, max_size=n_rows))
        data[f"c{j}"] = col
    frame = pd.DataFrame(data, index=pd.RangeIndex(n_rows))
    index_kind = draw(st.sampled_from(["range", "dates", "duplicate_dates", "unsorted_dates"]))
    if n_rows and index_kind != "range":
        dates = pd.date_range("2024-01-01", periods=n_rows, freq="h")
        if index_kind == "duplicate_dates" and n_rows > 1:
            dates = dates.insert(1, dates[0])[:n_rows]
        if index_kind == "unsorted_dates":
            dates = dates[::-1]
        frame.index = dates
    return frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), missing=st.sampled_from(["error", "interpolate", "ffill", "drop"]))
def test_fit_on_random_frames_works_or_raises_a_user_error(frame, missing):
    before = frame.copy()
    model = tiny_model(n_past=4, max_epochs=1, hidden_size=4, latent_dim=2, missing=missing)
    try:
        model.fit(frame)
    except (ValueError, TypeError):
        pass
    else:
        assert np.isfinite(model.generate(2, as_array=True, random_state=0)).all()
    pd.testing.assert_frame_equal(frame, before)


@settings(max_examples=40, deadline=None)
@given(real=frames(), synthetic=frames())
def test_evaluate_on_random_frames_works_or_raises_a_user_error(real, synthetic):
    try:
        tsvae.evaluate(real, synthetic, n_past=3, checks=["marginal", "correlation"],
                       plots_in_report=False)
    except (ValueError, TypeError):
        pass


def test_diverging_training_stops_with_a_clear_error(energy_small):
    model = tiny_model(alpha=1e38, max_epochs=1)
    with pytest.raises(TrainingDivergedError, match="learning rate"):
        model.fit(energy_small)
    assert not hasattr(model, "vae_")


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch, fitted_model):
    import tsvae.io

    target = tmp_path / "model.tsvae"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tsvae.io.os, "link", crash)  # the moment the file would appear
    with pytest.raises(KeyboardInterrupt):
        fitted_model.save(target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
