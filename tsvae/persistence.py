"""Model files: one zip holding JSON (parameters, columns, scaler, sampler state, version) and
safetensors (weights, training latents, series tails). Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays
from safetensors.torch import load as load_weights
from safetensors.torch import save as save_weights

from tsvae._version import __version__
from tsvae.data.conditions import ConditionEncoder
from tsvae.data.scaling import scaler_from_dict
from tsvae.data.schema import OutputSchema
from tsvae.generation.observation import noise_from_arrays
from tsvae.generation.samplers import AggregateSampler, Latents

logger = logging.getLogger(__name__)

FORMAT = "tsvae-model"
#: 2: the observation model is a VAR(p) with resampling pools (``noise_coefs`` ...); files of
#: format 1 (a diagonal Gaussian AR(1), ``noise_phi``) still load.
#: 3: the LSTM decoder reads each step's position beside the code; files of formats 1 and 2
#: load with a zero weight on it, which decodes exactly as they did.
FORMAT_VERSION = 3
_MEMBERS = ("model.json", "weights.safetensors", "arrays.safetensors")


def _json_safe(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return None


def _encode_index_value(value):
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        # The zone's name (Europe/Berlin), not only the offset: DST rules survive the file.
        return {"timestamp": value.isoformat(),
                **({"tz": str(value.tz)} if value.tz is not None else {})}
    return {"integer": int(value)}


def _decode_index_value(value):
    if value is None:
        return None
    if "timestamp" in value:
        stamp = pd.Timestamp(value["timestamp"])
        return stamp.tz_convert(value["tz"]) if value.get("tz") else stamp
    return value["integer"]


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model, path) -> None:
    """Serialise a fitted model to ``path`` (see module docstring for the layout)."""
    model._check_fitted()
    params = {}
    for key, value in model.get_params().items():
        safe = _json_safe(value)
        if safe is None and value is not None:
            logger.warning("parameter %s=%r is not JSON-serialisable and is not saved", key,
                           value)
        params[key] = safe
    latents = model.train_latents_
    arrays = {
        "latent_mu": latents.latents.mu.astype(np.float32),
        "latent_log_var": latents.latents.log_var.astype(np.float32),
        "latent_series": latents.series.astype(np.int64),
    }
    if latents.noise is not None:
        arrays.update(latents.noise.to_arrays())
    if latents.contexts is not None:
        arrays["latent_contexts"] = latents.contexts.astype(np.float32)
    if model.tails_ is not None:
        arrays["tails"] = np.stack(model.tails_).astype(np.float32)
    if latents.conditions is not None:
        arrays["latent_conditions"] = latents.conditions.astype(np.float32)
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tsvae_version": __version__,
        "params": params,
        "columns": [str(c) for c in model.columns_],  # readable; typed names: "schema"
        "n_features": model.n_features_,
        "feature_map": model.feature_map_.tolist(),
        "scaler": model.scaler_.to_dict(),
        "freq": model.freq_,
        "index_name": _json_safe(model.index_name_),
        "time_col": model.time_col_,
        "id_col": model.id_col_,
        "series_ids": [_json_safe(v) if _json_safe(v) is not None else str(v)
                       for v in model.series_ids_],
        "last_index": [_encode_index_value(v) for v in model.last_index_],
        "seed": model.seed_,
        "n_epochs": model.n_epochs_,
        "history": model.history_,
        "aggregate_sampler": model.aggregate_sampler_.to_dict(),
        "conditions": (model.condition_encoder_.to_dict()
                       if model.condition_encoder_ is not None else None),
        "schema": model.output_schema.to_dict(),
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.vae_.state_dict().items()}
    buffer = _zip_bytes({
        "model.json": json.dumps(meta, indent=2).encode("utf-8"),
        "weights.safetensors": save_weights(state),
        "arrays.safetensors": save_arrays(arrays),
    })
    atomic_write_bytes(Path(path), buffer)


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    import io

    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return stream.getvalue()


def _read_members(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise ValueError(f"No model file at {str(path)!r}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a tsvae model file (not a tsvae zip archive); "
                         "it may be truncated or another kind of file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            absent = [m for m in _MEMBERS if m not in names]
            if absent:
                raise ValueError(f"{str(path)!r} is not a tsvae model file (missing {absent[0]}).")
            return {m: archive.read(m) for m in _MEMBERS}
    except (zipfile.BadZipFile, EOFError, OSError, zipfile.LargeZipFile) as err:
        raise ValueError(f"{str(path)!r} is corrupted or truncated ({err}); save the model "
                         "again.") from None


def _without_step_position(weights: dict) -> dict:
    """Weights of a format 1-2 LSTM decoder given a zero weight on the step position input."""
    key = "decoder.lstm.weight_ih_l0"
    weights = dict(weights)
    weights[key] = torch.nn.functional.pad(weights[key], (0, 1))
    return weights


def load_model(cls, path):
    """Rebuild a model saved by :func:`save_model` (``cls(**params)`` then state)."""
    path = Path(path)
    members = _read_members(path)
    try:
        meta = json.loads(members["model.json"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r} has an unreadable model.json ({err}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a tsvae model file.")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(f"{str(path)!r} uses model format version {version!r}, newer than this "
                         f"tsvae ({__version__}, format {FORMAT_VERSION}) reads; upgrade tsvae.")
    try:
        model = cls(**meta["params"])
        model.columns_ = list(meta["columns"])
        model.n_features_ = int(meta["n_features"])
        model.feature_map_ = np.asarray(meta["feature_map"], dtype=np.int64)
        model.scaler_ = scaler_from_dict(meta["scaler"])
        model.freq_ = meta["freq"]
        model.index_name_ = meta["index_name"]
        model.time_col_, model.id_col_ = meta["time_col"], meta["id_col"]
        model.series_ids_ = meta["series_ids"]
        model.last_index_ = [_decode_index_value(v) for v in meta["last_index"]]
        model.seed_ = meta["seed"]
        model.n_epochs_ = meta["n_epochs"]
        model.history_ = meta["history"]
        model.aggregate_sampler_ = AggregateSampler.from_dict(meta["aggregate_sampler"])
        model.condition_encoder_ = (ConditionEncoder.from_dict(meta["conditions"])
                                    if meta.get("conditions") else None)
        # Files without a schema load unconstrained: outputs as before, names as stored.
        model.schema_ = OutputSchema.from_dict(meta["schema"]) if meta.get("schema") else None
        model.columns_ = model.schema_.names if model.schema_ else model.columns_
        arrays = load_arrays(members["arrays.safetensors"])
        vae = model._build_vae()
        weights = load_weights(members["weights.safetensors"])
        if version < 3 and model.architecture == "lstm":
            weights = _without_step_position(weights)
        vae.load_state_dict(weights)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file ({err}).") from None
    from tsvae.estimator import TrainingLatents

    model.vae_ = vae.eval()
    model.train_latents_ = TrainingLatents(
        Latents(arrays["latent_mu"], arrays["latent_log_var"]),
        arrays["latent_series"],
        arrays.get("latent_contexts"),
        noise_from_arrays(arrays),
        arrays.get("latent_conditions"),
    )
    model.tails_ = list(arrays["tails"]) if "tails" in arrays else None
    return model
