"""Synthetic means new (issue 30): a model file cannot be decoded back into its training
windows, generation has one decode path, and copying a training window's movement is caught
by the ``authenticity`` check."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch
from safetensors.numpy import load as load_arrays

import tsvae
from tests.conftest import tiny_model
from tsvae.data.windows import sliding_windows
from tsvae.evaluation.privacy import closest_distances

N_PAST = 12
#: ETTh1 rows the model is fitted on, and later rows it never sees (held out).
TRAIN_ROWS, HELD_OUT_ROWS = slice(0, 600), slice(1200, 1800)


@pytest.fixture(scope="module")
def etth1():
    return tsvae.datasets.load_etth1().iloc[:, :4]


@pytest.fixture(scope="module")
def etth1_model(etth1):
    return tiny_model(n_past=N_PAST, max_epochs=3, hidden_size=8, latent_dim=2).fit(
        etth1.iloc[TRAIN_ROWS])


def _rebuild(path, model) -> np.ndarray:
    """Every window the file lets an attacker decode, in the model's scaled space: the
    decoded means of the aggregate mixture's components, of the per-dimension aggregate mean
    in the latent summary and of z = 0, then the stored codes and last rows when the file
    holds them."""
    with zipfile.ZipFile(path) as archive:
        arrays = load_arrays(archive.read("arrays.safetensors"))
    codes = [model.aggregate_sampler_.means_,
             np.asarray(model.latent_summary_["per_dimension"]["aggregate_mean"])[None],
             np.zeros((1, model.latent_dim))]
    if "latent_mu" in arrays:
        codes.append(arrays["latent_mu"])
    with torch.inference_mode():
        decoded = model.vae_.decode(torch.tensor(np.concatenate(codes), dtype=torch.float32))
    rebuilt = [decoded.numpy()]
    if "tails" in arrays:  # the last rows of each series, as they were
        rebuilt.append(arrays["tails"])
    return np.concatenate(rebuilt)


def test_a_saved_model_cannot_be_decoded_back_into_its_training_windows(
        etth1, etth1_model, tmp_path):
    """The rebuild attack: decode everything the file holds and compare with the training
    windows. Nothing may come back closer to a training window than the closest real window
    the model never saw; with keep_training_data=True the same attack finds training rows.

    The floor is the held-out windows' smallest distance, not their 5th percentile: the few
    decoded windows are mixture centres, typical windows in the densest region, and four of
    them land below a 5% quantile about one time in five without copying anything (the
    ``authenticity`` and ``dcr`` checks judge shares of many windows by that quantile)."""
    train = etth1_model.scaled_windows(etth1.iloc[TRAIN_ROWS])
    held_out = etth1_model.scaled_windows(etth1.iloc[HELD_OUT_ROWS])
    flat = train.reshape(len(train), -1)
    floor = closest_distances(flat, held_out.reshape(len(held_out), -1)).min()
    assert floor > 1e-3

    path = tmp_path / "default.tsvae"
    etth1_model.save(path)
    model = tsvae.TimeSeriesVAE.load(path)
    rebuilt = _rebuild(path, model)
    assert len(rebuilt) == len(model.aggregate_sampler_.means_) + 2  # nothing else to decode
    nearest = closest_distances(flat, rebuilt.reshape(len(rebuilt), -1))
    assert nearest.min() > floor, (nearest.min(), floor)

    kept = tmp_path / "kept.tsvae"
    etth1_model.save(kept, keep_training_data=True)
    rebuilt = _rebuild(kept, tsvae.TimeSeriesVAE.load(kept))
    nearest = closest_distances(flat, rebuilt.reshape(len(rebuilt), -1))
    assert nearest.min() < 1e-5  # the stored last rows are a training window, exactly


@pytest.mark.parametrize("n_future", [0, 4])
def test_reconstruct_is_noisy_posterior_at_scale_zero_without_noise(etth1, n_future, tmp_path):
    """One decode path (issue 31): the same values row for row, also after a default save
    and load (the windows are given as x=)."""
    model = tiny_model(n_past=N_PAST, n_future=n_future, max_epochs=1, hidden_size=8,
                       latent_dim=2).fit(etth1.iloc[:300])
    x = etth1.iloc[300:380]
    path = tmp_path / "m.tsvae"
    model.save(path)
    for candidate in (model, tsvae.TimeSeriesVAE.load(path)):
        rec = candidate.reconstruct(x, as_array=True)
        out, z = candidate.generate(method="noisy_posterior", x=x, noise_scale=0,
                                    observation_noise=False, random_state=0, as_array=True,
                                    return_latents=True)
        mu, _ = candidate.encode(x)
        # Posterior draws come in random order: match each to its window by its code.
        order = [int(np.flatnonzero((mu == row.astype(np.float32)).all(axis=1))[0])
                 for row in z]
        assert np.array_equal(out, rec[order])
        # The draws of p(x|z) are something else.
        noisy = candidate.generate(method="noisy_posterior", x=x, noise_scale=0,
                                   random_state=0, as_array=True)
        assert not np.array_equal(noisy, out)


# ----------------------------------------------------------------------- authenticity
def _interleaved_roles(frame, block: int = 96):
    """Windows of three interleaved sets of time blocks (one window length apart): training
    (two blocks of every 4), held-out and another held-out set (one block each, which one
    drawn at random in every group of 4: the two held-out sets are exchangeable)."""
    values = np.asarray(frame[:15360], dtype=np.float64)
    rng = np.random.default_rng(0)
    windows = {0: [], 1: [], 2: []}
    roles = np.concatenate([rng.permutation([0, 0, 1, 2]) for _ in range(len(values) // block
                                                                          // 4 + 1)])
    for b, start in enumerate(range(0, len(values), block)):
        chunk = values[start:start + block - 24]  # a gap before the next block
        windows[roles[b]].append(np.asarray(sliding_windows(chunk, 24)))
    return [np.concatenate(windows[r]) for r in range(3)]


@pytest.fixture(scope="module")
def interleaved(etth1):
    return _interleaved_roles(etth1.to_numpy())


def _shares(report) -> dict:
    rows = report.table[report.table["check"] == "authenticity"]
    return dict(zip(rows["feature"], rows["statistic"], strict=True))


def test_authenticity_passes_real_windows_the_model_never_saw(interleaved):
    train, held_out, other = interleaved
    report = tsvae.evaluate(train, other, holdout=held_out, checks=["authenticity"],
                            plots_in_report=False, random_state=0)
    shares = _shares(report)
    assert set(shares) == {"steps", "shapes"}
    # ETTh1 is recorded on a grid (steps of about .07): many windows share the 5th-percentile
    # distance exactly, and "closer than" leaves them out, so real data scores .01-.02 here.
    for view, share in shares.items():
        assert 0.0 <= share <= 0.10, (view, share)
    assert report.passed


def test_authenticity_of_continuous_real_data_is_about_five_percent():
    """On values without a grid, held-out real windows score .05 by construction."""
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(15360, 3))
    series = np.zeros_like(noise)
    for t in range(1, len(series)):  # an AR(1) per feature, correlated across features
        series[t] = 0.8 * series[t - 1] + noise[t] + 0.5 * noise[t, :1]
    train, held_out, other = _interleaved_roles(series)
    report = tsvae.evaluate(train, other, holdout=held_out, checks=["authenticity"],
                            plots_in_report=False, random_state=0)
    for view, share in _shares(report).items():
        assert share == pytest.approx(0.05, abs=0.03), (view, share)
    assert report.passed


@pytest.mark.parametrize("holdout", [True, False])
def test_authenticity_catches_training_movement_on_new_levels(interleaved, holdout):
    """The generator issue 30 found: a training window's steps pasted onto a shifted level.
    The whole-window distance (dcr) is fooled by the level; steps and shapes are not."""
    train, held_out, _ = interleaved
    rng = np.random.default_rng(0)
    picks = rng.choice(len(train), 800, replace=False)
    spread = train.std(axis=(0, 1))
    offsets = rng.normal(size=(800, 1, train.shape[2])) * spread
    copier = train[picks] + offsets
    report = tsvae.evaluate(train, copier, holdout=held_out if holdout else None,
                            checks=["authenticity", "dcr"], plots_in_report=False,
                            random_state=0)
    shares = _shares(report)
    if holdout:
        assert shares["steps"] > 0.95 and shares["shapes"] > 0.95, shares
    else:
        # Without holdout= the check holds out interleaved blocks of the real windows
        # themselves, and copies of those are not counted: the share is the copies' share
        # of the blocks it keeps (about 2/3), still far above the pass rule's 0.10.
        assert shares["steps"] > 0.5 and shares["shapes"] > 0.5, shares
    table = report.table
    assert not table.loc[table["check"] == "authenticity", "passed"].any()
    assert not report.passed


def test_authenticity_is_a_default_privacy_check():
    from tsvae.evaluation.evaluate import CHECKS, _select

    names = list(CHECKS)
    assert names.index("authenticity") == names.index("dcr") + 1
    assert CHECKS["authenticity"].group == "privacy"
    assert CHECKS["authenticity"] in _select(None)
    assert CHECKS["authenticity"] in _select(["privacy"])
