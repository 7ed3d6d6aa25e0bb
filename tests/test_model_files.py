"""Model files are untrusted input: tampered, damaged and hostile files fail with one clear
error, before any large allocation (issue 20, cases 7-12)."""

import io
import json
import resource
import struct
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.numpy import load as load_arrays
from safetensors.numpy import save as save_arrays
from safetensors.torch import load as load_weights
from safetensors.torch import save as save_weights

import tsvae
import tsvae.persistence as persistence
from tests.conftest import tiny_model

INVALID = "not a valid tsvae model file"


DATA = Path(__file__).parent / "data"
#: A file written by tsvae's format-5 code (see tests/data/README.md): residual windows,
#: their latents, the VAR and the mean map, all of which new files must never hold.
FORMAT_5 = DATA / "format5_lstm.tsvae"


@pytest.fixture(scope="module")
def fitted_small(energy_small):
    return tiny_model(max_epochs=1, hidden_size=8, latent_dim=2).fit(energy_small.iloc[:300])


@pytest.fixture(scope="module")
def saved(tmp_path_factory, fitted_small):
    """Saved the default way: weights and summaries, no training codes or rows."""
    path = tmp_path_factory.mktemp("model_files") / "m.tsvae"
    fitted_small.save(path)
    return path


@pytest.fixture(scope="module")
def saved_with_data(tmp_path_factory, fitted_small):
    """Saved with keep_training_data=True: the training codes and the series' last rows."""
    path = tmp_path_factory.mktemp("model_files") / "kept.tsvae"
    fitted_small.save(path, keep_training_data=True)
    return path


def array_names(path) -> set:
    with zipfile.ZipFile(path) as archive:
        return set(load_arrays(archive.read("arrays.safetensors")))


def rewrite(src, dst, *, meta=None, arrays=None, weights=None, raw=None):
    """A copy of ``src`` with members passed through edits (``raw``: name -> bytes)."""
    raw = raw or {}
    with zipfile.ZipFile(src) as source, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "model.json" and meta is not None:
                content = json.loads(data)
                meta(content)
                data = json.dumps(content).encode()
            if name == "arrays.safetensors" and arrays is not None:
                content = dict(load_arrays(data))
                arrays(content)
                data = save_arrays(content)
            if name == "weights.safetensors" and weights is not None:
                content = dict(load_weights(data))
                weights(content)
                data = save_weights(content)
            out.writestr(name, raw.get(name, data))
    return dst


def refused(path, *patterns):
    with pytest.raises(ValueError) as info:
        tsvae.TimeSeriesVAE.load(path)
    message = str(info.value)
    assert message.startswith(repr(str(path))), message
    for pattern in patterns:
        assert pattern in message, message
    return message


def test_untouched_file_loads(saved):
    assert tsvae.TimeSeriesVAE.load(saved).generate(2, as_array=True).shape == (2, 12, 6)


# ----------------------------------------------------------------------- 7: zip bombs
def test_member_declaring_more_than_the_cap_is_refused(saved, tmp_path, monkeypatch):
    text = json.loads(zipfile.ZipFile(saved).read("model.json"))
    padded = json.dumps(text).encode() + b" " * 2_000_000  # 2 MB of whitespace, deflates to KB
    bomb = rewrite(saved, tmp_path / "bomb.tsvae", raw={"model.json": padded})
    assert bomb.stat().st_size < 100_000
    monkeypatch.setattr(persistence, "MAX_JSON_BYTES", 1_000_000)
    refused(bomb, INVALID, "model.json declares 2", "above the limit of 1000000 bytes")


def test_member_inflating_past_its_declared_size_is_refused(saved, tmp_path, monkeypatch):
    """A forged header declaring 100 bytes for a member that inflates to 2 MB."""
    text = json.dumps(json.loads(zipfile.ZipFile(saved).read("model.json"))).encode()
    bomb = rewrite(saved, tmp_path / "forged.tsvae", raw={"model.json": text + b" " * 2_000_000})
    data = bytearray(bomb.read_bytes())
    info = zipfile.ZipFile(bomb).getinfo("model.json")
    struct.pack_into("<I", data, info.header_offset + 22, 100)  # local header: file size
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len("model.json")] != b"model.json":
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, 100)  # central directory: file size
    bomb.write_bytes(bytes(data))
    monkeypatch.setattr(persistence, "MAX_JSON_BYTES", 1_000_000)
    refused(bomb, INVALID)


def test_capped_reader_stops_when_the_stream_passes_the_cap(monkeypatch):
    """The stream cap itself, whatever the header declares (zipfile's own check aside): the
    declared size (within the cap) is read into one buffer, and the byte after it refused."""
    class Forged:
        reads = 0

        def getinfo(self, name):
            info = zipfile.ZipInfo(name)
            info.file_size = 1_000  # declares 1000 bytes
            return info

        def open(self, info):
            forged = self

            class Stream(io.BytesIO):
                def read(self, n=-1):
                    forged.reads += 1
                    return b"x" * n  # endless

            return Stream()

    monkeypatch.setattr(persistence, "MAX_JSON_BYTES", 2_000)
    monkeypatch.setattr(persistence, "_CHUNK", 256)
    archive = Forged()
    with pytest.raises(ValueError, match="inflates beyond the 1000 bytes its header declares"):
        persistence._read_capped(archive, "model.json")
    assert archive.reads == 5  # 256 + 256 + 256 + 232 bytes, then the one byte too many


# ----------------------------------------------------------------------- 8: absurd sizes
@pytest.mark.parametrize(("param", "value", "says"), [
    ("latent_dim", 10**6, "1000000)"),  # checked against the mixture's means, then the weights
    ("hidden_size", 3000, "weights["),
])
def test_huge_network_sizes_fail_before_allocating(saved, tmp_path, param, value, says):
    huge = rewrite(saved, tmp_path / "huge.tsvae", meta=lambda m: m["params"].update(
        {param: value}))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    refused(huge, INVALID, says)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100  # building either network would take 300 to 400 MB


def test_huge_window_fails_before_allocating(saved, tmp_path):
    huge = rewrite(saved, tmp_path / "long.tsvae",
                   meta=lambda m: m["params"].update(n_past=10**9))
    refused(huge, INVALID, "n_past + params.n_future", "above the limit")


def test_huge_layer_count_fails_before_building(saved, tmp_path):
    deep = rewrite(saved, tmp_path / "deep.tsvae",
                   meta=lambda m: m["params"].update(num_layers=10**6))
    refused(deep, INVALID, "params.num_layers", "weight tensors")


# ----------------------------------------------------------------------- 9: non-finite
@pytest.mark.parametrize("member", ["weights", "arrays", "scaler"])
def test_non_finite_values_are_refused(saved_with_data, tmp_path, member):
    def nan_weights(weights):
        for name in weights:
            weights[name] = torch.full_like(weights[name], float("nan"))

    def nan_latents(arrays):
        arrays["latent_mu"] = np.full_like(arrays["latent_mu"], np.nan)

    def inf_scale(meta):
        meta["scaler"]["scale"][0] = float("inf")

    edits = {"weights": dict(weights=nan_weights), "arrays": dict(arrays=nan_latents),
             "scaler": dict(meta=inf_scale)}
    path = rewrite(saved_with_data, tmp_path / f"{member}.tsvae", **edits[member])
    refused(path, INVALID, "NaN or infinite")


# ----------------------------------------------------------------------- 10: shapes
def _noise_coefs(arrays):
    arrays["noise_coefs"] = arrays["noise_coefs"][:, :1].copy()  # (lags, F, F): one row


#: Edits of what every file holds.
SHAPE_EDITS = {
    "scaler.offset": dict(meta=lambda m: m["scaler"].update(offset=[0.0, 1.0, 2.0])),
    "feature_map": dict(meta=lambda m: m.update(feature_map=[0, 1, 2])),
    "aggregate_sampler.means": dict(
        meta=lambda m: m["aggregate_sampler"].update(means=[[0.0, 0.0, 0.0]])),
    "aggregate_sampler.covariances": dict(
        meta=lambda m: m["aggregate_sampler"].update(
            covariances=[[[1.0, 2.0], [2.0, 1.0]]] * len(m["aggregate_sampler"]["weights"]))),
}
#: Edits of the training data a file holds only with keep_training_data=True.
KEPT_DATA_EDITS = {
    "latent_log_var": dict(arrays=lambda a: a.update(latent_log_var=a["latent_log_var"][:3])),
    "latent_series": dict(arrays=lambda a: a.update(latent_series=a["latent_series"] + 5)),
    "tails": dict(arrays=lambda a: a.update(tails=a["tails"][:, :5].copy())),
    "latent_contexts": dict(arrays=lambda a: a.update(latent_contexts=a["latent_mu"])),
}
#: Edits of the residual process and mean map of a format-5 file (loaded through
#: tsvae.legacy).
LEGACY_EDITS = {
    "noise_coefs": dict(arrays=_noise_coefs),
    "noise_residual_latents": dict(arrays=lambda a: a.update(
        noise_residual_latents=a["noise_residual_latents"][:, :, :1].copy())),
    "noise_residual_windows": dict(arrays=lambda a: a.update(
        noise_residual_windows=a["noise_residual_windows"][:, :1].copy())),
    "mean_calibration_weight": dict(arrays=lambda a: a.update(
        mean_calibration_weight=a["mean_calibration_weight"][:, :, :3].copy())),
    "mean_calibration_bias": dict(arrays=lambda a: a.pop("mean_calibration_bias")),
}


@pytest.mark.parametrize("field", list(SHAPE_EDITS))
def test_tampered_arrays_name_the_field(saved, tmp_path, field):
    path = rewrite(saved, tmp_path / "tampered.tsvae", **SHAPE_EDITS[field])
    refused(path, INVALID, "corrupted or incompatible model file", field)


@pytest.mark.parametrize("field", list(KEPT_DATA_EDITS))
def test_tampered_training_data_names_the_field(saved_with_data, tmp_path, field):
    path = rewrite(saved_with_data, tmp_path / "tampered.tsvae", **KEPT_DATA_EDITS[field])
    refused(path, INVALID, "corrupted or incompatible model file", field)


@pytest.mark.parametrize("field", list(LEGACY_EDITS))
def test_tampered_format_5_arrays_name_the_field(tmp_path, field):
    assert field in array_names(FORMAT_5)
    path = rewrite(FORMAT_5, tmp_path / "tampered.tsvae", **LEGACY_EDITS[field])
    refused(path, INVALID, "corrupted or incompatible model file", field)


def test_older_files_keep_their_mixture_fitted_to_posterior_draws(saved, tmp_path):
    older = rewrite(saved, tmp_path / "older.tsvae",
                    meta=lambda m: m["aggregate_sampler"].pop("fit_to"))
    model = tsvae.TimeSeriesVAE.load(older)
    assert model.aggregate_sampler_.fit_to == "draws"
    assert model.generate(5, random_state=0, as_array=True).shape[0] == 5
    tampered = rewrite(saved, tmp_path / "tampered.tsvae",
                       meta=lambda m: m["aggregate_sampler"].update(fit_to="medians"))
    refused(tampered, INVALID, "fit_to='medians' is not known")


def test_a_mean_calibration_too_large_for_the_model_is_refused(monkeypatch):
    import tsvae.legacy.mean_calibration as mean_calibration

    assert tsvae.TimeSeriesVAE.load(FORMAT_5).legacy_.mean_calibration is not None
    monkeypatch.setattr(mean_calibration, "MAX_MAP_VALUES", 10)
    refused(FORMAT_5, INVALID, "mean_calibration_weight", "cannot use one")


def test_format_3_files_load_without_a_mean_calibration(tmp_path):
    def as_format_3(arrays):
        del arrays["mean_calibration_weight"], arrays["mean_calibration_bias"]

    older = rewrite(FORMAT_5, tmp_path / "format3.tsvae", arrays=as_format_3,
                    meta=lambda m: m.update(format_version=3))
    model = tsvae.TimeSeriesVAE.load(older)
    assert model.legacy_.mean_calibration is None and model.legacy_.noise is not None
    assert not hasattr(model, "calibrate_means")  # a retired parameter, dropped at load
    assert model.generate(5, random_state=0, as_array=True).shape[0] == 5


@pytest.mark.parametrize("name", ["noise_residual_windows", "mean_calibration_weight"])
def test_a_current_file_with_format_5_arrays_is_refused(saved_with_data, tmp_path, name):
    """Residual windows and the mean map belong to format 5 and older: a format-6 file that
    carries them was not written by tsvae."""
    extra = {"noise_residual_windows": np.zeros((5, 12, 6), np.float32),
             "mean_calibration_weight": np.zeros((6, 12, 12), np.float32)}[name]
    path = rewrite(saved_with_data, tmp_path / "pasted.tsvae",
                   arrays=lambda a: a.update({name: extra}))
    refused(path, INVALID, name, "belongs to format 5 and older")


def test_training_arrays_without_the_codes_are_refused(saved_with_data, tmp_path):
    path = rewrite(saved_with_data, tmp_path / "half.tsvae",
                   arrays=lambda a: a.pop("latent_mu"))
    refused(path, INVALID, "latent_log_var", "is stored without the training codes")


# ----------------------------------------------------------------------- 11: damaged members
def _flip_a_byte_of(path, member):
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(member)
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damage", ["crc_json", "crc_arrays", "safetensors", "missing_key"])
def test_damaged_files_give_one_clear_error(saved, tmp_path, damage, capsys):
    target = tmp_path / f"{damage}.tsvae"
    if damage.startswith("crc"):
        target.write_bytes(saved.read_bytes())
        member = "model.json" if damage == "crc_json" else "arrays.safetensors"
        _flip_a_byte_of(target, member)
    elif damage == "safetensors":
        rewrite(saved, target, raw={"weights.safetensors": b"\x10\x00\x00\x00\x00\x00\x00\x00{"
                                                          b"not json}"})
    else:
        rewrite(saved, target, meta=lambda m: m.pop("scaler"))
    refused(target, INVALID)
    from tsvae.cli import main

    code = main(["generate", str(target), "-n", "2", "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2 and INVALID in err and len(err.strip().splitlines()) == 1


# ----------------------------------------------------------------------- 12: format version
def test_seed_of_the_wrong_type_is_refused(saved, tmp_path):
    path = rewrite(saved, tmp_path / "seed.tsvae", meta=lambda m: m.update(seed="0"))
    refused(path, INVALID, "seed must be a whole number")


@pytest.mark.parametrize(("version", "says"), [
    ("3", "must be a whole number, got '3' (a str)"),
    (2.5, "must be a whole number, got 2.5 (a float)"),
    (None, "format_version is missing"),
    (0, "versions start at 1"),
    (-2, "versions start at 1"),
])
def test_bad_format_version_says_what_is_wrong(saved, tmp_path, version, says):
    def edit(meta):
        if version is None:
            del meta["format_version"]
        else:
            meta["format_version"] = version

    message = refused(rewrite(saved, tmp_path / "v.tsvae", meta=edit), INVALID, says)
    assert "newer" not in message and "upgrade" not in message


# ----------------------------------------------------------------------- the output schema
def _schema_column(name):
    def edit(meta):
        column = next(c for c in meta["schema"]["columns"] if c["name"] == name)
        return column
    return edit


SCHEMA_EDITS = {
    "levels outside the range": (
        lambda m: _schema_column("lights")(m).update(levels=[1000.0, 2000.0]), "levels"),
    "repeated names": (
        lambda m: _schema_column("T1")(m).update(name="T2"), "repeat a column name"),
    "a reserved name": (
        lambda m: _schema_column("T1")(m).update(name="sample"), "reserved name"),
    "kind and dtype disagree": (
        lambda m: _schema_column("lights")(m).update(dtype="complex128"), "does not hold"),
    "range beyond the dtype": (
        lambda m: _schema_column("lights")(m).update(dtype="uint8", low=-500.0),
        "outside uint8's range"),
    "an integer too large for a float": (
        lambda m: _schema_column("T1")(m).update(low=10**400), INVALID),
}


@pytest.mark.parametrize("edit", list(SCHEMA_EDITS))
def test_tampered_schemas_are_refused(saved, tmp_path, edit):
    change, says = SCHEMA_EDITS[edit]
    path = rewrite(saved, tmp_path / "schema.tsvae", meta=change)
    refused(path, INVALID, says)


def test_huge_integers_in_json_numbers_are_one_clear_error(saved, tmp_path):
    path = rewrite(saved, tmp_path / "huge.tsvae",
                   meta=lambda m: m["scaler"]["offset"].__setitem__(0, 10**400))
    refused(path, INVALID)


# ----------------------------------------------------------------------- issue 31: round three
def _cli_error(path, tmp_path, capsys) -> str:
    from tsvae.cli import main

    code = main(["generate", str(path), "-n", "2", "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_a_member_stored_twice_is_refused(saved, tmp_path, capsys):
    """A clean model.json first, an edited one last: zipfile would load the last one while
    unzip shows the first."""
    path = tmp_path / "twice.tsvae"
    edited = json.loads(zipfile.ZipFile(saved).read("model.json"))
    edited["params"]["alpha"] = 99.0
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as out, \
            pytest.warns(UserWarning, match="Duplicate name"):
        for name in source.namelist():
            out.writestr(name, source.read(name))
        out.writestr("model.json", json.dumps(edited))
    refused(path, INVALID, "member 'model.json' is stored twice")
    assert INVALID in _cli_error(path, tmp_path, capsys)


def test_a_compressed_bomb_under_the_cap_is_refused_before_it_is_inflated(saved, tmp_path):
    """50 MB of zeros as the arrays member (50 KB compressed): its safetensors header (length
    0) is read first, so the rest is never inflated."""
    bomb = rewrite(saved, tmp_path / "zeros.tsvae", raw={"arrays.safetensors": bytes(50 << 20)})
    assert bomb.stat().st_size < 200_000
    reads = []
    real_read = persistence._read_exactly
    persistence._read_exactly = lambda *a: reads.append(a[1:]) or real_read(*a)
    try:
        refused(bomb, INVALID, "arrays.safetensors has no valid safetensors header")
    finally:
        persistence._read_exactly = real_read
    assert ("arrays.safetensors", 50 << 20) not in reads


def test_tensor_offsets_must_fill_the_member(saved, tmp_path):
    arrays = zipfile.ZipFile(saved).read("arrays.safetensors")
    path = rewrite(saved, tmp_path / "padded.tsvae", raw={"arrays.safetensors": arrays + bytes(64)})
    refused(path, INVALID, "but its tensors need")


PEAK_SCRIPT = """
import resource, sys
import tsvae, tsvae.persistence as persistence
persistence.MAX_TENSORS_BYTES = 64 << 20
tsvae.TimeSeriesVAE.load(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    tsvae.TimeSeriesVAE.load(sys.argv[2])
except ValueError as err:
    print("refused:", err, file=sys.stderr)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_peak_memory_of_a_crafted_member_stays_below_four_times_the_cap(saved, tmp_path):
    """A valid safetensors header over 60 MB of zeros, the cap lowered to 64 MiB: the member is
    read (it is within the cap), refused by its shape, and the process grows by less than 4x
    the cap."""
    import subprocess
    import sys

    n = (60 << 20) // 8
    header = json.dumps({"latent_mu": {"dtype": "F32", "shape": [n, 2],
                                       "data_offsets": [0, n * 8]}}).encode()
    member = struct.pack("<Q", len(header)) + header + bytes(n * 8)
    crafted = rewrite(saved, tmp_path / "crafted.tsvae", raw={"arrays.safetensors": member})
    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(saved), str(crafted)],
                         capture_output=True, text=True, timeout=300)
    assert "refused:" in run.stderr and INVALID in run.stderr, run.stderr
    assert int(run.stdout.split()[-1]) < 4 * 64, run.stdout


def test_model_json_with_too_many_values_is_refused_before_parsing(saved, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(persistence, "MAX_JSON_VALUES", 1_000)
    many = rewrite(saved, tmp_path / "many.tsvae",
                   meta=lambda m: m.update(history={"x": [[]] * 2_000}))
    refused(many, INVALID, "model.json holds more than 1000 values")


def test_a_huge_parameter_value_is_shown_cut_short(saved, tmp_path, capsys):
    path = rewrite(saved, tmp_path / "huge_param.tsvae",
                   meta=lambda m: m["params"].update(hidden_size=[0] * 200_000))
    message = refused(path, INVALID, "params.hidden_size must be a number",
                      "got a list [0, 0, 0, 0, 0, 0, ...]")
    assert len(message) < 500
    assert len(_cli_error(path, tmp_path, capsys)) < 500


@pytest.mark.parametrize(("edit", "says"), [
    (lambda m: m["params"].update({"x" * 10_000: 1}), "unknown parameter 'xxxxxxx"),
    (lambda m: m["params"].update(architecture="l" * 10_000), "got a str 'lllll"),
    (lambda m: m["params"].update(latent_dim=10**4000), "<an integer of about 4001 digits>"),
    (lambda m: m.update(seed=[1] * 100_000), "seed must be a whole number, got [1, 1, 1"),
])
def test_stored_values_are_type_checked_before_they_reach_a_message(saved, tmp_path, edit,
                                                                    says):
    message = refused(rewrite(saved, tmp_path / "param.tsvae", meta=edit), INVALID, says)
    assert len(message) < 500, message


def _weights_as(dtype):
    def edit(weights):
        name = next(iter(weights))
        weights[name] = weights[name].to(dtype)
    return edit


def _integer_levels(meta):
    _schema_column("lights")(meta).update(levels=[0.0, 10.5, 20.0])


WEAK_EDITS = {
    "int64 weights": (dict(weights=_weights_as(torch.int64)), "has dtype torch.int64"),
    "bool weights": (dict(weights=_weights_as(torch.bool)), "has dtype torch.bool"),

    "zero scale": (dict(meta=lambda m: m["scaler"]["scale"].__setitem__(2, 0.0)),
                   "scaler.scale[2] is 0; scales must be > 0"),
    "negative scale": (dict(meta=lambda m: m["scaler"]["scale"].__setitem__(0, -1.5)),
                       "scaler.scale[0] is -1.5"),
    "fractional integer levels": (dict(meta=_integer_levels),
                                  "schema.columns[1].levels must be whole numbers"),
    "unknown freq": (dict(meta=lambda m: m.update(freq="fortnightly")),
                     "freq is not a pandas frequency: 'fortnightly'"),
    "freq not text": (dict(meta=lambda m: m.update(freq=[10])), "freq must be a pandas"),
    "last_index not a date": (dict(meta=lambda m: m.update(last_index=[{"timestamp": "soon"}])),
                              "last_index[0] is not a valid timestamp"),
    "last_index unknown zone": (
        dict(meta=lambda m: m["last_index"][0].update(tz="Mars/Olympus_Mons")),
        "last_index[0] is not a valid timestamp"),
    "last_index of another shape": (dict(meta=lambda m: m.update(last_index=[[2016, 1, 13]])),
                                    "last_index[0] must be null"),
    "last_index integer as text": (dict(meta=lambda m: m.update(last_index=[{"integer": "7"}])),
                                   "last_index[0] must be a whole number"),
}


@pytest.mark.parametrize("case", list(WEAK_EDITS))
def test_values_that_used_to_load_are_refused_naming_the_field(saved, tmp_path, case):
    edits, says = WEAK_EDITS[case]
    path = rewrite(saved, tmp_path / "weak.tsvae", **edits)
    refused(path, INVALID, "corrupted or incompatible model file", says)


def test_int64_latents_are_refused_naming_the_field(saved_with_data, tmp_path):
    path = rewrite(saved_with_data, tmp_path / "weak.tsvae", arrays=lambda a: a.update(
        latent_mu=a["latent_mu"].astype(np.int64)))
    refused(path, INVALID, "corrupted or incompatible model file",
            "latent_mu has dtype int64, expected floating point")


def _flag_encrypted(path, member):
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(member)
    data[info.header_offset + 6] |= 0x1  # local header: general purpose flags
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(member)] != member.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 8] |= 0x1  # central directory: the same flag
    path.write_bytes(bytes(data))
    return path


UNREADABLE = {
    "encrypted member": (lambda p: _flag_encrypted(p, "model.json"),
                         "member model.json is encrypted"),
    "100,000-digit integer": (
        lambda p: rewrite(p, p.with_name("digits.tsvae"),
                          raw={"model.json": b'{"format": "tsvae-model", "seed": ' + b"9" * 100_000
                               + b"}"}),
        "model.json holds a number of more than 4300 digits"),
    "not UTF-8": (lambda p: rewrite(p, p.with_name("latin1.tsvae"),
                                    raw={"model.json": b'{"format": "tsvae-model\xff"}'}),
                  "model.json is not UTF-8 text (byte 23)"),
    "not JSON": (lambda p: rewrite(p, p.with_name("syntax.tsvae"), raw={"model.json": b"{,}"}),
                 "model.json is not valid JSON"),
}


@pytest.mark.parametrize("case", list(UNREADABLE))
def test_unreadable_files_give_the_same_one_line_error(saved, tmp_path, case, capsys):
    damage, says = UNREADABLE[case]
    copy = tmp_path / "copy.tsvae"
    copy.write_bytes(saved.read_bytes())
    path = damage(copy)
    message = refused(path, INVALID, says)
    assert "Exceeds the limit" not in message and "RuntimeError" not in message
    err = _cli_error(path, tmp_path, capsys)
    assert INVALID in err and says in err


def test_trainer_settings_that_write_files_are_not_restored(saved, tmp_path, caplog):
    elsewhere = str(tmp_path / "elsewhere")
    path = rewrite(saved, tmp_path / "trainer.tsvae", meta=lambda m: m["params"].update(
        trainer_kwargs={"accelerator": "cpu", "default_root_dir": elsewhere,
                        "enable_checkpointing": True, "logger": True, "max_steps": 3}))
    model = tsvae.TimeSeriesVAE.load(path)
    assert model.trainer_kwargs == {"accelerator": "cpu", "max_steps": 3}
    assert "default_root_dir" in caplog.text and "not restored" in caplog.text


# ----------------------------------------------------------------------- no unloadable saves
#: A changed value for each parameter (others: a bool flipped, a number raised).
OTHER_VALUES = {"alpha": 20.0, "architecture": "conv", "scaler": "standard",
                "likelihood": "student_t",
                "missing": "interpolate",
                "aggregate_fit": "draws", "aggregate_components": 2, "max_time": 60.0,
                "free_bits": 0.5,
                "early_stopping_patience": None, "random_state": 7, "val_fraction": 0.2,
                "trainer_kwargs": {"accelerator": "cpu", "max_steps": 5}}
#: Parameters that shape the fitted network: changed after fit, the model needs a refit.
NEEDS_REFIT = {"n_past", "n_future", "architecture", "latent_dim", "hidden_size", "num_layers",
               "head_rank", "head_lags", "alpha", "likelihood", "free_bits"}


def _other_value(name, value):
    if name in OTHER_VALUES:
        return OTHER_VALUES[name]
    if isinstance(value, bool):
        return not value
    return value * 2 if isinstance(value, float) else value + 1


@pytest.mark.parametrize("name", sorted(tsvae.TimeSeriesVAE().get_params()))
def test_save_after_set_params_writes_only_what_load_accepts(saved, tmp_path, name):
    model = tsvae.TimeSeriesVAE.load(saved)
    value = _other_value(name, model.get_params()[name])
    model.set_params(**{name: value})
    path = tmp_path / "changed.tsvae"
    if name in NEEDS_REFIT:
        with pytest.raises(ValueError, match="no longer match its fitted state .*A refit is "
                                             "required: call fit"):
            model.save(path)
        assert not path.exists()
        return
    model.save(path)
    again = tsvae.TimeSeriesVAE.load(path)
    assert again.get_params()[name] == value
    assert again.generate(2, random_state=0, as_array=True).shape == (2, 12, 6)


@pytest.mark.parametrize("name", sorted(NEEDS_REFIT))
def test_generate_after_set_params_refuses_as_save_does(saved, tmp_path, name):
    """A parameter that defines the fitted model, changed after fit: generate (and the other
    uses of the fitted model) refuse it with save's message instead of silently using the
    fitted value; set back, the model generates again."""
    model = tsvae.TimeSeriesVAE.load(saved)
    fitted = model.get_params()[name]
    value = _other_value(name, fitted)
    model.set_params(**{name: value})
    problem = (f"the model's parameters no longer match its fitted state ({name} was "
               f"{fitted!r} at fit, is now {value!r}). A refit is required: call fit() again, "
               "or set_params back to the values it was fitted with.")
    with pytest.raises(ValueError) as info:
        model.generate(2, random_state=0)
    assert str(info.value) == f"Cannot generate: {problem}"
    with pytest.raises(ValueError) as info:
        model.save(tmp_path / "changed.tsvae")
    assert str(info.value) == f"Not saving {str(tmp_path / 'changed.tsvae')!r}: {problem}"
    with pytest.raises(ValueError, match=f"Cannot use this model: .*{name} was"):
        model.reconstruct(np.zeros((1, 12, 6)))
    model.set_params(**{name: fitted})
    assert model.generate(2, random_state=0, as_array=True).shape == (2, 12, 6)


def test_free_bits_is_a_training_parameter_and_older_files_load(saved, tmp_path):
    """free_bits shaped the fitted network: a fitted model records it. A file written before
    it existed (no free_bits among its parameters) was trained without it and loads so."""
    model = tsvae.TimeSeriesVAE.load(saved)
    assert model.training_params_["free_bits"] == 0.0
    older = rewrite(saved, tmp_path / "older.tsvae",
                    meta=lambda m: m["params"].pop("free_bits"))
    loaded = tsvae.TimeSeriesVAE.load(older)
    assert loaded.free_bits == 0.0 and loaded.training_params_["free_bits"] == 0.0
    assert loaded.generate(2, random_state=0, as_array=True).shape == (2, 12, 6)
    loaded.save(tmp_path / "again.tsvae")
    loaded.set_params(free_bits=0.5)
    with pytest.raises(ValueError, match=r"free_bits was 0\.0 at fit, is now 0\.5\)\. A "
                                         "refit is required"):
        loaded.generate(2)


@pytest.mark.parametrize("name", ["enforce_bounds", "enforce_types", "enforce_resolution",
                                  "snap_discrete", "progress_bar"])
def test_output_switch_that_is_not_a_bool_is_named_not_sent_to_refit(saved, tmp_path, name):
    """An output switch set to "no" after fit: set_params refuses it; assigned directly,
    generate and save refuse it with what the switch takes, and save does not ask for a
    refit (a valid value is all it needs)."""
    model = tsvae.TimeSeriesVAE.load(saved)
    says = f"{name} must be True or False, got 'no'."
    with pytest.raises(ValueError) as info:
        model.set_params(**{name: "no"})
    assert str(info.value) == says
    assert getattr(model, name) in (True, False)
    setattr(model, name, "no")
    with pytest.raises(ValueError) as info:
        model.generate(2, random_state=0)
    assert str(info.value) == f"Cannot generate: {says}"
    path = tmp_path / "switch.tsvae"
    with pytest.raises(ValueError) as info:
        model.save(path)
    assert str(info.value) == f"Not saving {str(path)!r}: {says}"
    assert "refit" not in str(info.value) and not path.exists()
    model.set_params(**{name: False})
    model.save(path)
    assert getattr(tsvae.TimeSeriesVAE.load(path), name) is False


def test_save_after_a_refit_on_other_data_loads_back(saved, energy_small, tmp_path):
    model = tsvae.TimeSeriesVAE.load(saved)
    model.set_params(latent_dim=3, n_past=8).fit(energy_small.iloc[:200, :2])
    model.save(tmp_path / "refit.tsvae")
    again = tsvae.TimeSeriesVAE.load(tmp_path / "refit.tsvae")
    assert again.generate(2, random_state=0, as_array=True).shape == (2, 8, 2)


# ----------------------------------------------------------------------- issue 30: no data
#: Array names that hold training windows, their codes, rows or residuals.
TRAINING_DERIVED = ("latent_", "tails", "noise_", "mean_calibration_")


def test_a_default_save_holds_no_training_derived_arrays(saved, saved_with_data):
    names = array_names(saved)
    assert not [n for n in names if n.startswith(TRAINING_DERIVED)], names
    kept = array_names(saved_with_data)
    assert {"latent_mu", "latent_log_var", "latent_series", "tails"} <= kept
    assert not [n for n in kept if n.startswith(("noise_", "mean_calibration_"))], kept
    with zipfile.ZipFile(saved) as archive:
        meta = json.loads(archive.read("model.json"))
    assert meta["format_version"] == 6
    # The latent diagnostics travel as the summary computed at fit, not as codes.
    assert set(meta["latent_summary"]) == {"per_dimension", "summary"}


def test_a_model_loaded_without_its_training_data_says_what_it_cannot_do(
        saved, fitted_small, energy_small):
    model = tsvae.TimeSeriesVAE.load(saved)
    assert model.train_latents_ is None and model.tails_ is None
    for method in ("posterior", "noisy_posterior"):
        with pytest.raises(ValueError) as info:
            model.generate(3, method=method)
        message = str(info.value)
        assert f"method={method!r} without x=" in message
        assert "keep_training_data=True" in message and "pass the real windows" in message
    # With x= the posterior methods encode the windows given: the same as the fitted model.
    x = energy_small.iloc[:40]
    np.testing.assert_array_equal(
        model.generate(method="posterior", x=x, random_state=0, as_array=True),
        fitted_small.generate(method="posterior", x=x, random_state=0, as_array=True))
    # The diagnostics are the summary computed at fit; the PCA plot needs the codes.
    stored = model.latent_diagnostics()
    fresh = fitted_small.latent_diagnostics()
    assert stored.summary["active_units"] == fresh.summary["active_units"]
    assert stored.summary["prior_hole_score"] == pytest.approx(fresh.summary["prior_hole_score"])
    from tsvae.diagnostics import plot_latent_pca

    with pytest.raises(ValueError, match="The latent PCA plot needs the training windows' "
                                         "codes.*keep_training_data=True"):
        plot_latent_pca(model)


def test_a_conditional_model_loaded_without_its_training_data_needs_a_context(
        conditional_model, energy_small, tmp_path):
    path = tmp_path / "future.tsvae"
    conditional_model.save(path)
    assert not [n for n in array_names(path) if n.startswith(TRAINING_DERIVED)]
    model = tsvae.TimeSeriesVAE.load(path)
    with pytest.raises(ValueError) as info:
        model.generate_series(5)
    assert "pass context=" in str(info.value) and "keep_training_data=True" in str(info.value)
    with pytest.raises(ValueError) as info:
        model.generate(3, method="aggregate")
    assert "context=" in str(info.value) and "keep_training_data=True" in str(info.value)
    # With the past given, both work, and as the fitted model does.
    context = energy_small.iloc[-30:]
    same = np.testing.assert_array_equal
    same(model.generate_series(6, context=context, random_state=0).to_numpy(),
             conditional_model.generate_series(6, context=context, random_state=0).to_numpy())
    same(model.generate(4, context=context, random_state=0, as_array=True),
             conditional_model.generate(4, context=context, random_state=0, as_array=True))
    kept = tmp_path / "future_kept.tsvae"
    conditional_model.save(kept, keep_training_data=True)
    assert {"latent_contexts", "tails"} <= array_names(kept)
    same(tsvae.TimeSeriesVAE.load(kept).generate_series(6, random_state=0).to_numpy(),
             conditional_model.generate_series(6, random_state=0).to_numpy())


def test_keep_training_data_must_be_a_bool(fitted_small, tmp_path):
    with pytest.raises(ValueError, match="keep_training_data must be True or False"):
        fitted_small.save(tmp_path / "m.tsvae", keep_training_data="yes")
    assert not (tmp_path / "m.tsvae").exists()


# ----------------------------------------------------------------------- legacy files
def test_format_5_file_generates_what_it_generated(tmp_path):
    """A file of the last format that pasted residual windows (and mapped the decoded means)
    still generates exactly what tsvae's format-5 code generated from it: decoded means
    through its mean map, residual draws from its stored windows, posterior codes."""
    model = tsvae.TimeSeriesVAE.load(FORMAT_5)
    expected = np.loadtxt(DATA / "format5_lstm_windows.csv", delimiter=",").reshape(3, 4, -1)
    for rows, (method, noise) in zip(expected, [("prior", False), ("aggregate", True),
                                                 ("noisy_posterior", True)], strict=True):
        out = model.generate(4, method=method, random_state=0, as_array=True,
                             observation_noise=noise)
        np.testing.assert_allclose(out.reshape(4, -1), rows, rtol=1e-6, atol=1e-7)
    data = tsvae.datasets.make_sines(64, length=12, n_features=2, random_state=0)
    np.testing.assert_allclose(
        model.reconstruct(data[:4], as_array=True).reshape(4, -1),
        np.loadtxt(DATA / "format5_lstm_reconstruction.csv", delimiter=","), rtol=1e-6,
        atol=1e-7)


def test_format_5_conditional_file_continues_its_series_as_it_did():
    import pandas as pd

    model = tsvae.TimeSeriesVAE.load(DATA / "format5_future.tsvae")
    series = model.generate_series(10, random_state=0)
    expected = pd.read_csv(DATA / "format5_future_series.csv", index_col=0, parse_dates=True)
    assert list(series.index) == list(expected.index)
    np.testing.assert_allclose(series.to_numpy(), expected.to_numpy(), rtol=1e-6)
    windows = model.generate(3, method="aggregate", random_state=0, as_array=True)
    np.testing.assert_allclose(
        windows.reshape(3, -1), np.loadtxt(DATA / "format5_future_windows.csv", delimiter=","),
        rtol=1e-6)


@pytest.mark.parametrize("name", ["format5_lstm.tsvae", "format2_lstm.tsvae"])
def test_a_legacy_model_cannot_be_saved(tmp_path, name):
    model = tsvae.TimeSeriesVAE.load(DATA / name)
    with pytest.raises(ValueError) as info:
        model.save(tmp_path / "again.tsvae", keep_training_data=True)
    message = str(info.value)
    assert "format 5 or older" in message and "pastes stored training residuals" in message
    assert "Refit it (model.fit(data))" in message
    assert not (tmp_path / "again.tsvae").exists()


@pytest.mark.parametrize("value", [np.array([8, 9]), pd.NA])
def test_a_parameter_set_to_a_value_without_one_truth_gets_the_refit_message(saved, value):
    """An array or pd.NA set after fit: comparing it with the fitted value has no single
    truth (numpy's "truth value of an array ... is ambiguous" was raised instead)."""
    model = tsvae.TimeSeriesVAE.load(saved)
    fitted = model.hidden_size
    model.set_params(hidden_size=value)
    with pytest.raises(ValueError, match=f"Cannot generate: .*hidden_size was {fitted} at fit, "
                                         "is now .*A refit is required"):
        model.generate(2, random_state=0)
    model.set_params(hidden_size=fitted)
    assert model.generate(2, random_state=0, as_array=True).shape == (2, 12, 6)
