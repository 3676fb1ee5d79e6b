"""Writing result folders: exact numbers, fallbacks, atomicity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from salivaprot.io._files import EXACT_FLOATS
from salivaprot.io.results import write_json, write_table


def test_tables_round_trip_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000) * 10.0 ** rng.integers(-30, 30, 5000)
    frame = pd.DataFrame(
        {"value": values, "flag": values > 0, "label": [f"P{i}" for i in range(5000)]},
        index=pd.Index([f"s{i}" for i in range(5000)], name="sample_id"),
    )
    frame.iloc[3, 0] = np.nan
    path = write_table(frame, tmp_path / "t.tsv")
    lines = path.read_text().splitlines()
    assert lines[0] == "sample_id\tvalue\tflag\tlabel"  # no quoting
    back = pd.read_csv(path, sep="\t", index_col=0, **EXACT_FLOATS)
    np.testing.assert_array_equal(back["value"].to_numpy(), frame["value"].to_numpy())
    assert back["flag"].tolist() == frame["flag"].tolist()


def test_text_that_needs_quoting_falls_back_to_pandas(tmp_path: Path) -> None:
    frame = pd.DataFrame({"note": ["a\tb", 'say "hi"', ""], "x": [1.5, np.nan, 2.0]})
    path = write_table(frame, tmp_path / "t.tsv", index=False)
    back = pd.read_csv(path, sep="\t", keep_default_na=False, na_values={"x": [""]})
    assert back["note"].tolist() == ["a\tb", 'say "hi"', ""]
    assert np.isnan(back["x"][1])


def test_json_has_no_nan_and_sorted_keys(tmp_path: Path) -> None:
    path = write_json({"b": np.float64("nan"), "a": np.int64(3), "c": (1, 2)}, tmp_path / "r.json")
    assert path.read_text() == '{\n  "a": 3,\n  "b": null,\n  "c": [\n    1,\n    2\n  ]\n}\n'
