"""Output files of the CLI and the Python API: atomic, never clobbering, never replacing an
input, honouring the umask, cleaned up after signals (issue 20, cases 6 and 13-18)."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import tsvae
import tsvae.io
from tests.conftest import tiny_model

ENV = {**os.environ, "PYTHONWARNINGS": "ignore", "OMP_NUM_THREADS": "1"}
TINY_FIT = ["--n-past", "8", "--max-epochs", "1", "--hidden-size", "4", "--latent-dim", "2",
            "--random-state", "0", "--no-progress"]


def cli(capsys, *args):
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    from tsvae.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err, *patterns):
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for pattern in patterns:
        assert pattern in err, err


def temporaries(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture(scope="module")
def data(tmp_path_factory, energy_small):
    path = tmp_path_factory.mktemp("outputs") / "d.csv"
    energy_small.iloc[:200, :3].reset_index().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_file(data):
    path = data.with_name("m.tsvae")
    frame = pd.read_csv(data, index_col=0, parse_dates=True)
    tiny_model(n_past=8, max_epochs=1, hidden_size=4, latent_dim=2).fit(frame).save(path)
    return path


# ----------------------------------------------------------------------- 6: race-free create
def test_file_appearing_during_the_write_is_not_replaced(tmp_path):
    target = tmp_path / "out.bin"

    def slow_write(handle):
        handle.write(b"new")
        target.write_text("appeared meanwhile")

    with pytest.raises(ValueError, match="appeared while tsvae was working"):
        tsvae.io.atomic_write(target, slow_write)
    assert target.read_text() == "appeared meanwhile"
    assert temporaries(tmp_path) == []
    tsvae.io.atomic_write(target, lambda h: h.write(b"new"), overwrite=True)
    assert target.read_bytes() == b"new"


def test_without_hard_links_the_exclusive_create_still_refuses(tmp_path, monkeypatch):
    def no_links(*args):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(tsvae.io.os, "link", no_links)
    target = tmp_path / "out.bin"
    tsvae.io.atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first" and temporaries(tmp_path) == []

    def slow_write(handle):
        handle.write(b"second")
        target.write_text("appeared meanwhile")

    target.unlink()
    with pytest.raises(ValueError, match="appeared while tsvae was working"):
        tsvae.io.atomic_write(target, slow_write)
    assert target.read_text() == "appeared meanwhile" and temporaries(tmp_path) == []


def test_fit_does_not_overwrite_a_model_file_that_appears_during_training(
        data, tmp_path, monkeypatch, capsys):
    target = tmp_path / "race.tsvae"
    fit = tsvae.TimeSeriesVAE.fit

    def fit_then_someone_writes(self, *args, **kwargs):
        fitted = fit(self, *args, **kwargs)
        target.write_text("someone else's file")
        return fitted

    monkeypatch.setattr(tsvae.TimeSeriesVAE, "fit", fit_then_someone_writes)
    code, _, err = cli(capsys, "fit", data, "--time-col", "date", *TINY_FIT, "-o", target)
    one_line_error(code, err, "race.tsvae", "already exists", "--overwrite")
    assert target.read_text() == "someone else's file" and temporaries(tmp_path) == []


# ----------------------------------------------------------------------- 13: Ctrl-C in fit
def _cli_subprocess(script: str, tmp_path):
    path = tmp_path / "run.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path)


def _wait_for(process, word: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if word in line:
            return
        if not line and process.poll() is not None:
            raise AssertionError(f"exited {process.returncode}: {process.stderr.read()}")
    raise AssertionError(f"no {word!r} within 120 s")


def test_ctrl_c_during_fit_says_interrupted_and_exits_130(data, tmp_path):
    target = tmp_path / "never.tsvae"
    process = _cli_subprocess(f"""
        import sys
        from tsvae.model.lightning import VAELightningModule
        from tsvae.cli import main

        def started(self):
            print("TRAINING", flush=True)
        VAELightningModule.on_train_start = started
        sys.exit(main(["fit", {str(data)!r}, "--time-col", "date", "--n-past", "8",
                       "--max-epochs", "100000", "--hidden-size", "4", "--no-progress",
                       "-o", {str(target)!r}]))
    """, tmp_path)
    _wait_for(process, "TRAINING")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not target.exists() and temporaries(tmp_path) == []


# ----------------------------------------------------------------------- 14: killed writes
def test_sigterm_during_a_write_removes_the_temporary_file(model_file, tmp_path):
    target = tmp_path / "big.csv"
    process = _cli_subprocess(f"""
        import os, sys, time
        from tsvae.cli import main

        def slow_fsync(fd):  # the temporary file is written, not yet in place
            print("WRITING", flush=True)
            time.sleep(60)
        os.fsync = slow_fsync
        sys.exit(main(["generate", {str(model_file)!r}, "-n", "5", "-o", {str(target)!r}]))
    """, tmp_path)
    _wait_for(process, "WRITING")
    assert len(temporaries(tmp_path)) == 1  # the write is under way
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert not target.exists() and temporaries(tmp_path) == []


def test_next_write_removes_stale_temporaries_of_dead_writers(tmp_path):
    target = tmp_path / "out.csv"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = tmp_path / f".out.csv.{int(finished.stdout)}.abc123.tmp"
    running = tmp_path / f".out.csv.{os.getpid()}.def456.tmp"
    recent_dead = tmp_path / f".out.csv.{int(finished.stdout)}.recent.tmp"
    other = tmp_path / ".other.csv.1.abc.tmp"
    for path in (dead, running, recent_dead, other):
        path.write_text("partial")
    old = time.time() - 3600
    for path in (dead, running, other):
        os.utime(path, (old, old))
    tsvae.io.write_table(pd.DataFrame({"v": [1]}), target)
    assert not dead.exists()
    assert running.exists() and recent_dead.exists() and other.exists()
    assert tsvae.io.remove_stale_temporaries(target) == []


# ----------------------------------------------------------------------- 15: file modes
@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_outputs_honour_the_umask(tmp_path, umask, model_file):
    previous = os.umask(umask)
    try:
        table = tsvae.io.write_table(pd.DataFrame({"v": [1]}), tmp_path / "t.csv")
        model = tsvae.TimeSeriesVAE.load(model_file)
        model.save(tmp_path / "m.tsvae")
    finally:
        os.umask(previous)
    for path in (table, tmp_path / "m.tsvae"):
        assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_overwritten_output_keeps_its_mode(tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old")
    os.chmod(target, 0o604)
    tsvae.io.write_table(pd.DataFrame({"v": [1]}), target, overwrite=True)
    assert os.stat(target).st_mode & 0o777 == 0o604
    assert target.read_text() == "v\n1\n"


# ----------------------------------------------------------------------- 16: paths up front
def test_output_may_never_replace_an_input(data, capsys):
    before = data.read_bytes()
    code, _, err = cli(capsys, "fit", data, "--time-col", "date", *TINY_FIT, "-o", data,
                       "--overwrite")
    one_line_error(code, err, str(data), "is also an input")
    assert data.read_bytes() == before
    alias = data.parent / "sub" / ".." / data.name
    (data.parent / "sub").mkdir(exist_ok=True)
    code, _, err = cli(capsys, "evaluate", data, data, "--time-col", "date", "--n-past", 8,
                       "--json", alias, "--overwrite")
    one_line_error(code, err, "is also an input")
    assert data.read_bytes() == before


def test_output_problems_are_found_before_any_work(data, model_file, tmp_path, monkeypatch,
                                                    capsys):
    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the outputs were checked")

    monkeypatch.setattr(tsvae.evaluation, "evaluate", no_work)
    monkeypatch.setattr(tsvae.evaluation, "compare_methods", no_work)
    monkeypatch.setattr(tsvae.TimeSeriesVAE, "fit", no_work)
    existing = tmp_path / "r.html"
    existing.write_text("keep")
    a_file = tmp_path / "plain"
    a_file.write_text("")
    evaluate = ["evaluate", data, data, "--time-col", "date", "--n-past", 8]
    cases = [
        ([*evaluate, "--report", existing], [str(existing), "already exists"]),
        ([*evaluate, "--json", tmp_path / "no" / "s.json"], ["does not exist"]),
        ([*evaluate, "--report", a_file / "r.html"], ["is not a folder", "r.html"]),
        ([*evaluate, "--report", tmp_path / "x.html", "--json", tmp_path / "x.html"],
         ["another output"]),
        (["compare", model_file, data, "--report", existing], ["already exists"]),
        (["fit", data, "-o", tmp_path / "missing" / "m.tsvae"], ["does not exist"]),
    ]
    for args, patterns in cases:
        code, _, err = cli(capsys, *args)
        one_line_error(code, err, *patterns)
    monkeypatch.setattr(tsvae.io.os, "access", lambda *a: False)  # root ignores chmod
    code, _, err = cli(capsys, "fit", data, "-o", tmp_path / "m.tsvae")
    one_line_error(code, err, "is not writable", "m.tsvae")
    assert existing.read_text() == "keep"


def test_write_errors_name_the_users_path_not_the_temporary(tmp_path, monkeypatch):
    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tsvae.io.os, "fsync", disk_full)
    target = tmp_path / "out.csv"
    with pytest.raises(ValueError) as info:
        tsvae.io.write_table(pd.DataFrame({"v": [1]}), target)
    assert str(target) in str(info.value) and ".tmp" not in str(info.value)
    assert "No space left" in str(info.value)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------- 17: bad configs
@pytest.mark.parametrize(("name", "text", "says"), [
    ("bad.yaml", "n_past: [1, 2\nmax_epochs: 1\n", "is not valid YAML"),
    ("bad.yml", "a: b: c\n", "is not valid YAML"),
    ("bad.json", '{"n_past": 12,', "is not valid JSON"),
])
def test_malformed_config_is_one_line_exit_2(data, tmp_path, capsys, name, text, says):
    config = tmp_path / name
    config.write_text(text)
    code, _, err = cli(capsys, "fit", data, "--time-col", "date", "--config", config,
                       "-o", tmp_path / "m.tsvae")
    one_line_error(code, err, says, name)


# ----------------------------------------------------------------------- 18: Python API
def test_save_and_reports_refuse_existing_files_unless_overwrite(model_file, tmp_path):
    model = tsvae.TimeSeriesVAE.load(model_file)
    report = tsvae.evaluate(model.generate(20, random_state=0),
                            model.generate(20, random_state=1), n_past=8,
                            checks=["marginal"], plots_in_report=False)
    writers = {"m.tsvae": model.save, "r.json": report.to_json, "r.html": report.to_html}
    for name, write in writers.items():
        target = tmp_path / name
        target.write_text("precious")
        with pytest.raises(ValueError, match="already exists.*overwrite=True"):
            write(target)
        assert target.read_text() == "precious"
        write(target, overwrite=True)
        assert target.read_bytes() != b"precious"
    assert tsvae.TimeSeriesVAE.load(tmp_path / "m.tsvae").columns_ == model.columns_
    assert temporaries(tmp_path) == []
    np.testing.assert_array_equal(
        tsvae.TimeSeriesVAE.load(tmp_path / "m.tsvae").generate(2, random_state=0,
                                                                as_array=True),
        model.generate(2, random_state=0, as_array=True))


# ----------------------------------------------------------------------- issue 31: CSV injection
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(1)", "-2+3", "\tTAB"]


def test_csv_header_and_text_cells_cannot_start_a_formula(tmp_path):
    import csv

    frame = pd.DataFrame({name: [-1.5, 2.0] for name in FORMULAS})
    frame["label"] = ["=HYPERLINK(\"http://x\")", "-7"]  # a formula, and a plain number
    frame["plain"] = [-3, 4]
    tsvae.io.write_table(frame, tmp_path / "out.csv")
    with open(tmp_path / "out.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["'" + name for name in FORMULAS] + ["label", "plain"]
    assert [row[-2] for row in rows] == ["'=HYPERLINK(\"http://x\")", "-7"]
    assert [row[0] for row in rows] == ["-1.5", "2.0"] and [row[-1] for row in rows] == ["-3",
                                                                                         "4"]
    assert tsvae.io.escape_formula("\rCR") == "'\rCR"
    tsvae.io.write_table(frame, tmp_path / "raw.csv", escape=False)
    assert next(csv.reader(open(tmp_path / "raw.csv", newline="")))[0] == FORMULAS[0]


def test_a_lone_carriage_return_in_a_text_cell_keeps_the_row_whole(tmp_path):
    frame = pd.DataFrame({"label": ["a\rb", "plain"], "value": [1.5, 2.0]},
                         index=pd.date_range("2020-01-01", periods=2, name="time"))
    for name, escape in (("escaped.csv", True), ("raw.csv", False)):
        tsvae.io.write_table(frame, tmp_path / name, index=True, escape=escape)
        back = pd.read_csv(tmp_path / name, index_col=0, parse_dates=True)
        assert back.shape == (2, 2) and back["label"].tolist() == ["a\rb", "plain"]
        assert back["value"].dtype == np.float64 and back["value"].tolist() == [1.5, 2.0]
    # Tables without one are written as before: nothing quoted.
    tsvae.io.write_table(frame.assign(label=["ab", "plain"]), tmp_path / "plain.csv", index=True)
    assert '"' not in (tmp_path / "plain.csv").read_text()


def test_multiindex_tables_are_written_and_a_carriage_return_in_any_level_is_quoted(tmp_path):
    index = pd.MultiIndex.from_arrays([[0, 0, 1], [0, 1, 0]], names=["sample", "step"])
    frame = pd.DataFrame({"v": [1.5, 2.0, 3.0]}, index=index)  # generate(layout="multiindex")
    tsvae.io.write_table(frame, tmp_path / "plain.csv", index=True)  # raised NotImplementedError
    assert (tmp_path / "plain.csv").read_text() == frame.to_csv(index=True)
    labelled = frame.set_index(pd.MultiIndex.from_arrays(
        [["a\rb", "c", "c"], [0, 1, 0]], names=["id", "step"]))
    tsvae.io.write_table(labelled, tmp_path / "rows.csv", index=True)
    back = pd.read_csv(tmp_path / "rows.csv")
    assert back.shape == (3, 3) and back["id"].tolist() == ["a\rb", "c", "c"]
    wide = pd.DataFrame([[1.5, 2.0]], columns=pd.MultiIndex.from_tuples([("a\rb", "x"),
                                                                         ("c", "y")]))
    tsvae.io.write_table(wide, tmp_path / "wide.csv")  # was written bare: the header split
    back = pd.read_csv(tmp_path / "wide.csv", header=[0, 1])
    assert back.columns.tolist() == [("a\rb", "x"), ("c", "y")] and back.shape == (1, 2)
    repeated = pd.DataFrame([["a\rb", "c"]], columns=["s", "s"])  # a name twice
    tsvae.io.write_table(repeated, tmp_path / "repeated.csv")
    assert pd.read_csv(tmp_path / "repeated.csv").shape == (1, 2)


def test_generate_escapes_names_from_a_model_file_unless_told_not_to(tmp_path, capsys,
                                                                     energy_small):
    hostile = energy_small.iloc[:200, :3].set_axis(["=cmd|' /C calc'!A0", "+1+1", "@SUM(1)"],
                                                   axis=1)
    path = tmp_path / "hostile.tsvae"
    tiny_model(n_past=8, max_epochs=1, hidden_size=4, latent_dim=2).fit(hostile).save(path)
    code, _, err = cli(capsys, "generate", path, "-n", "2", "-o", tmp_path / "out.csv")
    assert code == 0, err
    header = (tmp_path / "out.csv").read_text().splitlines()[0]
    assert header == "sample,step,'=cmd|' /C calc'!A0,'+1+1,'@SUM(1)"
    code, _, err = cli(capsys, "generate", path, "-n", "2", "--no-csv-escape", "-o",
                       tmp_path / "raw.csv")
    assert code == 0 and (tmp_path / "raw.csv").read_text().startswith(
        "sample,step,=cmd|' /C calc'!A0,+1+1,@SUM(1)")


# ----------------------------------------------------------------------- issue 31: configs
def test_a_yaml_alias_bomb_is_refused(tmp_path, capsys, data):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
              f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
    lines.append("n_past: *i")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 400
    code, _, err = cli(capsys, "fit", data, "--config", bomb, "-o", tmp_path / "m.tsvae")
    one_line_error(code, err, "is not valid YAML: aliases (*a) are not allowed")


def test_a_config_file_has_a_size_cap(tmp_path, capsys, data, monkeypatch):
    monkeypatch.setattr(tsvae.io, "MAX_CONFIG_BYTES", 100)
    big = tmp_path / "big.json"
    big.write_text('{"n_past": 8, "comment": "' + "x" * 200 + '"}')
    code, _, err = cli(capsys, "fit", data, "--config", big, "-o", tmp_path / "m.tsvae")
    one_line_error(code, err, "above the limit of 100")


# ----------------------------------------------------------------------- issue 31: inputs
def test_a_repeated_csv_header_is_refused(tmp_path, capsys):
    path = tmp_path / "twice.csv"
    path.write_text("time,a,a\n" + "".join(f"2024-01-01 {h:02d}:00,{h},{-h}\n"
                                           for h in range(24)))
    code, _, err = cli(capsys, "fit", path, "--time-col", "time", *TINY_FIT,
                       "-o", tmp_path / "m.tsvae")
    one_line_error(code, err, "Column name 'a' appears twice in")
    assert not (tmp_path / "m.tsvae").exists()


def test_a_parquet_file_with_two_columns_of_one_name_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "twice.parquet"
    pq.write_table(pa.table([np.arange(50.0), np.ones(50)], names=["a", "a"]), path)
    with pytest.raises(ValueError, match="Column name 'a' appears twice in"):
        tiny_model(n_past=8, max_epochs=1).fit(path)


def test_iso_offsets_across_daylight_saving_time_are_read_as_utc(tmp_path, caplog):
    stamps = pd.date_range("2024-03-30 12:00", periods=60, freq="h", tz="Europe/Berlin")
    path = tmp_path / "dst.csv"
    pd.DataFrame({"time": [s.isoformat() for s in stamps],
                  "a": np.sin(np.arange(60.0))}).to_csv(path, index=False)
    assert {s.isoformat()[-6:] for s in stamps} == {"+01:00", "+02:00"}
    frame = tsvae.io.read_table(path, time_col="time")
    assert str(frame.index.tz) == "UTC" and (frame.index == stamps.tz_convert("UTC")).all()
    model = tiny_model(n_past=8, max_epochs=1, hidden_size=4, latent_dim=2).fit(
        path, time_col="time")
    assert model.freq_ == "h" and "mixes UTC offsets" in caplog.text


@pytest.mark.parametrize(("name", "error", "says"), [
    (pd.Timestamp("2024-01-01"), TypeError, "has type Timestamp"),
    (None, ValueError, "A column has a missing name"),
    (float("nan"), ValueError, "A column has a missing name"),
])
def test_column_names_a_model_file_cannot_keep_are_refused_at_fit(energy_small, name, error,
                                                                  says):
    frame = energy_small.iloc[:100, :2].copy()
    frame.columns = ["a", name]
    with pytest.raises(error, match=says):
        tiny_model(n_past=8, max_epochs=50).fit(frame)  # refused before any training


# ------------------------------------------------------------- issue 31: dangling symlinks
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_a_dangling_symlink_as_output_is_refused_before_any_work(data, model_file, tmp_path,
                                                                 monkeypatch, capsys,
                                                                 overwrite):
    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the outputs were checked")

    monkeypatch.setattr(tsvae.TimeSeriesVAE, "fit", no_work)
    monkeypatch.setattr(tsvae.TimeSeriesVAE, "load", no_work)
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "gone" / "target")
    for args in (["fit", data, *TINY_FIT], ["generate", model_file, "-n", 3]):
        code, _, err = cli(capsys, *args, "-o", link, *overwrite)
        one_line_error(code, err, f"'{link}' is a symbolic link to "
                       f"'{tmp_path / 'gone' / 'target'}', which does not exist; remove the "
                       "link or choose another output path.")
    assert link.is_symlink() and not (tmp_path / "gone").exists()


# --------------------------------------------------- issue 31: compare checks columns at once
def test_compare_finds_a_column_mismatch_before_generating(data, model_file, tmp_path,
                                                           monkeypatch, capsys):
    def no_work(*args, **kwargs):
        raise AssertionError("generated before the columns were checked")

    monkeypatch.setattr(tsvae.TimeSeriesVAE, "generate", no_work)
    other = tmp_path / "other.csv"
    pd.read_csv(data).rename(columns={"Appliances": "renamed"}).to_csv(other, index=False)
    code, _, err = cli(capsys, "compare", model_file, other, "--time-col", "date")
    one_line_error(code, err, "The real data has no column 'Appliances', which the model was "
                   "fitted on")
    model = tsvae.TimeSeriesVAE.load(model_file)
    frame = pd.read_csv(other, index_col=0, parse_dates=True)
    with pytest.raises(ValueError, match="real has no column 'Appliances', which the model "
                                         "was fitted on"):
        tsvae.compare_methods(model, frame)
    with pytest.raises(ValueError, match=r"real windows have 2 features but the model was "
                                         r"fitted on 3"):
        tsvae.compare_methods(model, np.zeros((20, 8, 2)))
