"""Model files: one zip holding JSON (parameters, columns, scaler, sampler state, version) and
safetensors (weights, training latents, series tails). Nothing is ever unpickled.

A model file is untrusted input: members are read with a size cap (declared and actual), every
field is checked (``tsvae.model_checks``) and the weights' shapes are compared with the network
the parameters describe, built on the ``meta`` device, before anything is allocated for it.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays
from safetensors.torch import load as load_weights
from safetensors.torch import save as save_weights

from tsvae import model_checks as checks
from tsvae._version import __version__
from tsvae.data.conditions import ConditionEncoder
from tsvae.data.scaling import scaler_from_dict
from tsvae.data.schema import OutputSchema
from tsvae.generation.generate import MAX_SAVED_CONDITION_MIXTURES, condition_mixtures
from tsvae.generation.latents import TrainingLatents
from tsvae.generation.samplers import AggregateSampler, Latents
from tsvae.io import atomic_write
from tsvae.legacy.decoding import LegacyDecoding
from tsvae.legacy.files import LAST_LEGACY_FORMAT, legacy_decoding, legacy_params
from tsvae.parameters import TRAINING_PARAMS, refit_required

logger = logging.getLogger(__name__)

FORMAT = "tsvae-model"
#: 2: the observation model is a VAR(p) with resampling pools (``noise_coefs`` ...); files of
#: format 1 (a diagonal Gaussian AR(1), ``noise_phi``) still load.
#: 3: the LSTM decoder reads each step's position beside the code; files of formats 1 and 2
#: load with a zero weight on it, which decodes exactly as they did.
#: 4: a linear map from decoded windows onto the data (``mean_calibration_*``); files of
#: earlier formats load without one (``calibrate_means=False``) and decode as they did.
#: 5: a model with conditions may carry one map per condition value
#: (``mean_calibration_group*``); conditional files of earlier formats have none and decode
#: as they did.
#: 6: the decoder's likelihood head draws every value (no residual process, no mean map);
#: the training windows' codes and series tails are stored only with ``keep_training_data``;
#: the latent diagnostics are stored as a summary. Files of formats 1-5 load through
#: :mod:`tsvae.legacy` and generate as they did.
FORMAT_VERSION = 6
_MEMBERS = ("model.json", "weights.safetensors", "arrays.safetensors")
#: Largest decompressed ``model.json``: parameters, names and a mixture of at most tens of
#: components in JSON take kilobytes to a few MB; 16 MiB leaves room for many thousands of
#: columns or series ids.
MAX_JSON_BYTES = 16 * 2**20
#: Most values (numbers, strings, lists, objects) a JSON text may hold, counted before it is
#: parsed: Python spends up to about 150 bytes on each, so a crafted ``model.json`` of empty
#: lists costs at most about 150 MB to parse, whatever its byte size.
MAX_JSON_VALUES = 1_000_000
#: Largest decompressed safetensors member. The arrays member holds at most
#: ``MAX_STORED_LATENTS`` latents (and, in format 5 and older, residual pools), the weights a
#: network: a few hundred MB for the largest plausible models, so 4 GiB bounds what a hostile
#: file can make ``load`` allocate without refusing any real model.
MAX_TENSORS_BYTES = 4 * 2**30
#: Longest safetensors header (the JSON table of names, dtypes, shapes and offsets in front
#: of the data), checked before the rest of the member is inflated.
MAX_TENSOR_HEADER_BYTES = 16 * 2**20
#: Bytes read per step while decompressing, so that the cap is enforced as data arrives.
_CHUNK = 1 << 20


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


def save_model(model, path, *, overwrite: bool = False, keep_training_data: bool = False
               ) -> None:
    """Serialise a fitted model to ``path`` (see module docstring for the layout).

    Written with :func:`tsvae.io.atomic_write`: complete or absent, and an existing file
    is refused unless ``overwrite``. The file holds the weights, the scaler, the output
    schema and low-dimensional summaries of the latent space; the training windows' codes
    (and, with a past, their past contexts) and each series' last ``n_past`` rows only with
    ``keep_training_data`` (they decode back to near-copies of training windows).
    """
    model._check_fitted(f"Not saving {str(path)!r}")
    try:  # a parameter no fit would accept: named as fit names it (a refit would not help)
        model._check_params()
    except ValueError as err:
        raise ValueError(f"Not saving {str(path)!r}: {err}") from None
    if not isinstance(keep_training_data, bool):
        raise ValueError(f"keep_training_data must be True or False, got "
                         f"{checks.shown(keep_training_data)}.")
    if getattr(model, "legacy_", None) is not None:
        raise ValueError("This model was loaded from a file of format 5 or older, whose "
                         "generation pastes stored training residuals; it cannot be saved in "
                         "the current format. Refit it (model.fit(data)) and save the refit.")
    params = {}
    for key, value in model.get_params().items():
        safe = _json_safe(value)
        if safe is None and value is not None:
            logger.warning("parameter %s=%r is not JSON-serialisable and is not saved", key,
                           value)
        params[key] = safe
    latents = model.train_latents_
    arrays = {}
    if keep_training_data and latents is not None:
        arrays = {
            "latent_mu": latents.latents.mu.astype(np.float32),
            "latent_log_var": latents.latents.log_var.astype(np.float32),
            "latent_series": latents.series.astype(np.int64),
        }
        if latents.contexts is not None:
            arrays["latent_contexts"] = latents.contexts.astype(np.float32)
        if latents.conditions is not None:
            arrays["latent_conditions"] = latents.conditions.astype(np.float32)
    if keep_training_data and model.tails_ is not None:
        arrays["tails"] = np.stack(model.tails_).astype(np.float32)
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
        "latent_summary": model.latent_summary_,
        "condition_mixtures": _condition_mixtures(model),
    }
    state = {k: v.detach().cpu().contiguous() for k, v in model.vae_.state_dict().items()}
    members = {
        "model.json": json.dumps(meta, indent=2).encode("utf-8"),
        "weights.safetensors": save_weights(state),
        "arrays.safetensors": save_arrays(arrays),
    }
    _check_loadable(model, members, path)
    atomic_write(Path(path), lambda handle: _write_zip(handle, members), overwrite=overwrite)


def _check_loadable(model, members: dict[str, bytes], path) -> None:
    """Refuse to write what :func:`load_model` would refuse (sklearn's rule: the fitted state
    and the parameters agree), so that ``save`` never loses a model.

    The members are checked exactly as ``load`` checks them (sizes, parameters, every field,
    the weights against the network the parameters describe); parameters changed by
    ``set_params`` after fit were refused before, by ``model._check_fitted``.
    """
    try:
        for name, payload in members.items():
            if len(payload) > _member_cap(name):
                raise ValueError(f"{name} would be {len(payload)} bytes, above the limit "
                                 f"of {_member_cap(name)} bytes that load accepts")
        meta = parse_json(members["model.json"], "model.json")
        meta["params"] = checks.check_params(meta["params"], type(model)().get_params())
        _rebuild(type(model), meta, FORMAT_VERSION, members)
    except checks.ModelFileError as err:
        problem = f"{err.field} {err.problem}"
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
        problem = _cut(err)
    else:
        return
    raise ValueError(refit_required(f"Not saving {str(path)!r}", problem))


def _write_zip(handle, members: dict[str, bytes]) -> None:
    """The zip straight into the (temporary) file: no second copy of it in memory."""
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)


def _member_cap(name: str) -> int:
    return MAX_JSON_BYTES if name.endswith(".json") else MAX_TENSORS_BYTES


def parse_json(payload: bytes, what: str):
    """``payload`` parsed as UTF-8 JSON, its number of values capped before parsing.

    Every value but the first follows a comma or opens a list or object, so counting those
    bytes (in strings too: an overcount) bounds the objects ``json.loads`` would create.
    Errors (encoding, syntax, integers beyond Python's 4300 digits, nesting) raise a
    ValueError naming ``what`` and the place, in tsvae's words.
    """
    values = payload.count(b",") + payload.count(b"[") + payload.count(b"{") + 1
    if values > MAX_JSON_VALUES:
        raise ValueError(f"{what} holds more than {MAX_JSON_VALUES} values")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} is not UTF-8 text (byte {err.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} is not valid JSON ({err.msg} at line {err.lineno} column "
                         f"{err.colno})") from None
    except ValueError:  # int() of more digits than sys.get_int_max_str_digits()
        raise ValueError(f"{what} holds a number of more than "
                         f"{sys.get_int_max_str_digits()} digits") from None
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply") from None


def _read_exactly(stream, name: str, size: int) -> bytes:
    """``size`` bytes of ``stream``, refusing any more as they arrive (a forged header).

    Collected in a BytesIO, whose ``getvalue`` hands over its buffer without a copy: the
    peak is about ``size`` (checked against the cap before), not twice it.
    """
    out = io.BytesIO()
    while chunk := stream.read(min(_CHUNK, size - out.tell()) or 1):
        if out.tell() + len(chunk) > size:  # stop before the rest is inflated
            raise ValueError(f"member {name} inflates beyond the {size} bytes its header "
                             "declares")
        out.write(chunk)
    if out.tell() != size:
        raise ValueError(f"member {name} holds {out.tell()} bytes, not the {size} its header "
                         "declares")
    return out.getvalue()


def _check_tensor_header(stream, name: str, size: int) -> None:
    """A safetensors member's header, read before the data behind it is inflated: a length
    within the member, JSON within the value cap, and offsets that end where the member
    ends (so that the member's size is the tensors' size, not padding)."""
    first = stream.read(8)
    length = int.from_bytes(first, "little") if len(first) == 8 else -1
    if not 2 <= length <= min(size - 8, MAX_TENSOR_HEADER_BYTES):
        raise ValueError(f"member {name} has no valid safetensors header")
    header = parse_json(stream.read(length), f"the header of member {name}")
    if not isinstance(header, dict):
        raise ValueError(f"member {name} has no valid safetensors header")
    end = 0
    for key, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if key == "__metadata__":
            continue
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)):
            raise ValueError(f"member {name} has no valid safetensors header (entry "
                             f"{checks.shown(key)})")
        end = max(end, offsets[1])
    if 8 + length + end != size:
        raise ValueError(f"member {name} is {size} bytes, but its tensors need {8 + length + end}")


def _read_capped(archive: zipfile.ZipFile, name: str) -> bytes:
    """A member's bytes, refusing more than its cap whatever the zip header declares.

    The declared size is checked against the cap before anything is allocated; then at most
    that many bytes are inflated, and a byte more is refused (a forged header). A safetensors
    member's header is checked first, before its data is inflated. Peak memory: about the
    member's size.
    """
    cap = _member_cap(name)
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise ValueError(f"member {name} is encrypted")
    if info.file_size > cap:
        raise ValueError(f"member {name} declares {info.file_size} bytes, above the limit of "
                         f"{cap} bytes")
    if name.endswith(".safetensors"):
        with archive.open(info) as stream:
            _check_tensor_header(stream, name, info.file_size)
    with archive.open(info) as stream:
        return _read_exactly(stream, name, info.file_size)


def _read_members(path: Path) -> dict[str, bytes]:
    if not path.is_file():
        raise ValueError(f"No model file at {str(path)!r}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{str(path)!r} is not a tsvae model file (not a tsvae zip archive); "
                         "it may be truncated or another kind of file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
            if repeated is not None:  # zipfile reads the last copy, unzip shows the first
                raise ValueError(f"member {checks.shown(repeated)} is stored twice")
            absent = [m for m in _MEMBERS if m not in names]
            if absent:
                raise ValueError(f"{str(path)!r} is not a tsvae model file (missing {absent[0]}).")
            return {m: _read_capped(archive, m) for m in _MEMBERS}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, zipfile.LargeZipFile,
            NotImplementedError, RuntimeError) as err:
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file: it is corrupted or "
                         f"truncated ({checks.shown(str(err))}); save the model again."
                         ) from None
    except MemoryError:
        raise ValueError(f"{str(path)!r} could not be loaded: its members need more memory "
                         "than is available.") from None
    except ValueError as err:
        if str(err).startswith(repr(str(path))):
            raise
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file: {err}.") from None


def _without_step_position(weights: dict) -> dict:
    """Weights of a format 1-2 LSTM decoder given a zero weight on the step position input."""
    key = "decoder.lstm.weight_ih_l0"
    weights = dict(weights)
    if key in weights:
        weights[key] = torch.nn.functional.pad(weights[key], (0, 1))
    return weights


def _read_meta(path: Path, payload: bytes) -> tuple[dict, int]:
    """The parsed model.json and its format version, or a ValueError saying what is wrong."""
    try:
        meta = parse_json(payload, "model.json")
    except ValueError as err:
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file: {err}.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file: model.json does not "
                         f"say format {FORMAT!r}.")
    try:
        version = checks.check_format_version(meta.get("format_version"), FORMAT_VERSION)
    except checks.ModelFileError as err:
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file: {err}.") from None
    if version > FORMAT_VERSION:
        raise ValueError(f"{str(path)!r} uses model format version {version!r}, newer than this "
                         f"tsvae ({__version__}, format {FORMAT_VERSION}) reads; upgrade tsvae.")
    return meta, version


def _meta_network(model):
    """The network ``model``'s parameters describe, on the ``meta`` device: shapes only,
    nothing allocated, however large the parameters claim it is."""
    with torch.device("meta"):
        return model._build_vae()


def load_model(cls, path):
    """Rebuild a model saved by :func:`save_model` (``cls(**params)`` then state).

    Every field is checked first; any problem raises a ValueError that starts with the path
    and says "not a valid tsvae model file" (and names the field where one is at fault).
    """
    path = Path(path)
    members = _read_members(path)
    meta, version = _read_meta(path, members["model.json"])
    try:
        params = meta.get("params")
        if version <= LAST_LEGACY_FORMAT:
            params = legacy_params(params)
        # Plain, known values only, before any of them reaches a message or the estimator.
        meta["params"] = checks.check_params(params, cls().get_params())
        return _rebuild(cls, meta, version, members)
    except checks.ModelFileError as err:
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file: {_cut(err)}; it was "
                         "damaged or edited, or written by another program.") from None
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, OverflowError,
            AttributeError, SafetensorError, np.linalg.LinAlgError, RecursionError) as err:
        detail = f"missing field {checks.shown(err.args[0] if err.args else '')}" if \
            isinstance(err, KeyError) else _cut(err)
        raise ValueError(f"{str(path)!r} is not a valid tsvae model file ({detail}).") from None
    except MemoryError:
        raise ValueError(f"{str(path)!r} could not be loaded: it needs more memory than is "
                         "available.") from None


#: Longest explanation a load error carries (values in it are cut shorter, see
#: ``tsvae.model_checks.shown``): the message stays one readable line.
_MESSAGE_CHARACTERS = 400


def _cut(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= _MESSAGE_CHARACTERS else text[:_MESSAGE_CHARACTERS - 3] + "..."


def _rebuild(cls, meta: dict, version: int, members: dict):
    model = cls(**meta["params"])
    legacy = version <= LAST_LEGACY_FORMAT
    model.training_params_ = {k: getattr(model, k) for k in TRAINING_PARAMS}
    try:
        model._check_params()
    except ValueError as err:
        raise checks.ModelFileError("params", f"are invalid: {err}") from None
    checks.check_window_length(model)
    model.n_features_ = checks.check_columns(meta)
    model.columns_ = list(meta["columns"])
    model.feature_map_ = checks.check_feature_map(meta["feature_map"], model.n_features_)
    model.scaler_ = checks.check_scaler(scaler_from_dict(meta["scaler"]), model.n_features_)
    model.freq_ = checks.check_freq(meta["freq"])
    model.index_name_ = meta["index_name"]
    model.time_col_, model.id_col_ = meta["time_col"], meta["id_col"]
    n_series = checks.check_series(meta)
    model.series_ids_ = meta["series_ids"]
    model.last_index_ = checks.check_last_index(meta["last_index"], _decode_index_value)
    model.seed_ = checks.check_int("seed", meta["seed"], high=2**32 - 1)
    model.n_epochs_ = meta["n_epochs"]
    model.history_ = meta["history"]
    model.condition_encoder_ = checks.check_conditions(
        ConditionEncoder.from_dict(meta["conditions"]) if meta.get("conditions") else None)
    # Files without a schema load unconstrained: outputs as before, names as stored.
    model.schema_ = (checks.check_schema(OutputSchema.from_dict(meta["schema"]),
                                         model.n_features_) if meta.get("schema") else None)
    model.columns_ = model.schema_.names if model.schema_ else model.columns_
    model.aggregate_sampler_ = checks.check_aggregate(
        AggregateSampler.from_dict(meta["aggregate_sampler"]), model.latent_dim)

    # Tensors: bounded by the member caps; checked against the parameters before the network
    # is built, so absurd sizes in model.json never reach an allocation.
    arrays = load_arrays(members["arrays.safetensors"])
    if legacy:  # the format-5 network; its residual post-processing once the arrays are checked
        model.legacy_ = LegacyDecoding(None, None)
    weights = load_weights(members["weights.safetensors"])
    if version < 3 and model.architecture == "lstm":
        weights = _without_step_position(weights)
    checks.check_layer_count(model, weights)
    shapes = _meta_network(model)
    checks.check_weights(weights, {k: tuple(v.shape) for k, v in shapes.state_dict().items()})
    _check_arrays(model, arrays, n_series, shapes.past_dim, legacy)

    vae = model._build_vae()
    vae.load_state_dict(weights)
    model.vae_ = vae.eval()
    model.train_latents_ = None
    if "latent_mu" in arrays:
        model.train_latents_ = TrainingLatents(
            Latents(arrays["latent_mu"], arrays["latent_log_var"]),
            arrays["latent_series"],
            arrays.get("latent_contexts"),
            arrays.get("latent_conditions"),
        )
    if legacy:
        model.legacy_ = legacy_decoding(arrays)
        checks.check_noise(model.legacy_.noise, model.n_model_features, model.condition_dim,
                           model.latent_dim)
    model.tails_ = list(arrays["tails"]) if "tails" in arrays else None
    model.latent_summary_ = checks.check_latent_summary(meta.get("latent_summary"),
                                                        model.latent_dim)
    mixtures = checks.check_condition_mixtures(
        meta.get("condition_mixtures"), model.condition_dim, model.latent_dim,
        MAX_SAVED_CONDITION_MIXTURES, AggregateSampler.from_dict)
    if mixtures:
        model.__dict__["_condition_mixtures"] = mixtures
    return model


def _condition_mixtures(model) -> list | None:
    """The per-condition aggregate mixtures (latent summaries, never codes), or None."""
    if model.condition_encoder_ is None or getattr(model, "legacy_", None) is not None:
        return None
    return [{"condition": [float(v) for v in vector], "mixture": mixture.to_dict()}
            for vector, mixture in condition_mixtures(model)]


def _check_arrays(model, arrays: dict, n_series: int, context_dim: int, legacy: bool) -> None:
    if not legacy and "latent_mu" not in arrays:  # saved without the training data
        extra = sorted(set(arrays) - {"tails"})
        if extra:
            raise checks.ModelFileError(extra[0], "is stored without the training codes")
        checks.check_tails(arrays, n_series, model.n_past, model.n_model_features)
        return
    n = checks.check_latents(arrays, model.latent_dim, n_series)
    checks.check_optional(arrays, "latent_contexts", (n, context_dim), bool(model.n_future))
    checks.check_optional(arrays, "latent_conditions", (n, model.condition_dim),
                          model.condition_dim > 0)
    checks.check_tails(arrays, n_series, model.n_past, model.n_model_features)
    if legacy:
        # The arrays' presence says whether the model uses a map.
        checks.check_mean_calibration(arrays, model.n_past, model.n_model_features,
                                      _legacy_map_fits(model), model.condition_dim)
    else:
        retired = sorted(k for k in arrays if k.startswith(("noise_", "mean_calibration_")))
        if retired:
            raise checks.ModelFileError(retired[0], "belongs to format 5 and older")


def _legacy_map_fits(model) -> bool:
    from tsvae.legacy.mean_calibration import map_fits

    return not model.n_future and map_fits(model.n_past, model.n_model_features)
