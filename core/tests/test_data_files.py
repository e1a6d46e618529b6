"""Local files through ``datasets.load_dataset``: every separator loads, every bad file says why."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attnzoo.data import load_local_files
from attnzoo.errors import DataError

#: characters ``str.splitlines`` breaks at that are not line ends in CSV or JSON lines
SEPARATORS = {
    "NEL": "\u0085",
    "LINE SEPARATOR": "\u2028",
    "PARAGRAPH SEPARATOR": "\u2029",
    "form feed": "\x0c",
    "vertical tab": "\x0b",
    "file separator": "\x1c",
    "group separator": "\x1d",
    "record separator": "\x1e",
}


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("sep", list(SEPARATORS.values()), ids=list(SEPARATORS))
def test_separator_inside_a_csv_field_loads(tmp_path, sep):
    text = f"great{sep}product"
    p = write(tmp_path / "a.csv", f"text,label\n{text},pos\nbad one,neg\n")
    ds = load_local_files(p)
    assert ds.splits["train"]["text"] == [text, "bad one"]
    assert ds.label_names == ["neg", "pos"]


@pytest.mark.parametrize("sep", list(SEPARATORS.values()), ids=list(SEPARATORS))
def test_separator_inside_a_json_string_loads(tmp_path, sep):
    text = f"great{sep}product"
    lines = [
        json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in [(text, 1), ("x", 0)]
    ]
    p = write(tmp_path / "a.jsonl", "\n".join(lines) + "\n")
    if ord(sep) >= 0x20:  # JSON escapes control characters; the others are written raw
        assert sep in p.read_text(encoding="utf-8")
    ds = load_local_files(p)
    assert ds.splits["train"]["text"] == [text, "x"]
    assert ds.splits["train"]["label"] == [1, 0]


def test_quoted_multiline_csv_fields_load(tmp_path):
    p = write(
        tmp_path / "a.csv", 'text,label\n"first line\nsecond, line",a\n"one\r\ntwo",b\nplain,a\n'
    )
    ds = load_local_files(p)
    assert ds.splits["train"]["text"] == ["first line\nsecond, line", "one\r\ntwo", "plain"]
    assert ds.splits["train"]["label"] == [0, 1, 0]


def test_tsv_keeps_commas_and_quotes(tmp_path):
    p = write(tmp_path / "a.tsv", 'text\tlabel\na, b and "c"\t1\nd\t0\n')
    assert load_local_files(p).splits["train"]["text"] == ['a, b and "c"', "d"]


def test_a_field_larger_than_the_python_csv_limit_loads(tmp_path):
    import csv

    big = "word " * (csv.field_size_limit() // 5 + 10)
    p = write(tmp_path / "a.csv", f'text,label\n"{big}",1\nsmall,0\n')
    ds = load_local_files(p)
    assert ds.splits["train"]["text"][0] == big


def test_every_column_is_kept_and_csv_text_stays_as_written(tmp_path):
    p = write(tmp_path / "a.csv", "id,text,label,source\n007,1234,b,web\n008,hello,a,app\n")
    train = load_local_files(p).splits["train"]
    assert train.column_names == ["id", "text", "label", "source"]
    assert train["id"] == ["007", "008"] and train["text"] == ["1234", "hello"]


def test_renamed_columns_and_a_clash_with_an_existing_name(tmp_path):
    p = write(tmp_path / "a.csv", "body,y,text\nhello,1,other\nbye,0,more\n")
    ds = load_local_files(p, text_column="body", label_column="y")
    assert ds.text_column == "body" and ds.label_column == "label"
    assert ds.splits["train"]["body"] == ["hello", "bye"]
    assert ds.splits["train"]["label"] == [1, 0]


def test_numeric_labels_sort_numerically(tmp_path):
    p = write(tmp_path / "a.csv", "text,label\na,10\nb,9\nc,2\n")
    ds = load_local_files(p)
    assert ds.label_names == ["2", "9", "10"]
    assert ds.splits["train"]["label"] == [2, 1, 0]


def test_a_parquet_text_column_of_integers_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": [1, 2, 3], "label": [0, 1, 0]}), p)
    with pytest.raises(DataError, match=r"column 'text' holds int64 values, not text.*text_column"):
        load_local_files(p)


def test_a_jsonl_text_column_of_integers_is_refused(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"text": 5, "label": 1}\n{"text": 6, "label": 0}\n')
    with pytest.raises(DataError, match="holds int64 values, not text"):
        load_local_files(p)


def test_missing_text_in_jsonl_names_the_row(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"text": "a", "label": 1}\n{"text": null, "label": 0}\n')
    with pytest.raises(DataError, match="row 2 has no text in column 'text'"):
        load_local_files(p)


def test_json_of_mixed_types_falls_back_row_by_row(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"}\n')
    assert load_local_files(p).label_names == ["x", "y"]


def test_missing_file_and_folder_without_train(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_local_files(tmp_path / "nope.csv")
    write(tmp_path / "d" / "test.csv", "text,label\na,1\n")
    with pytest.raises(DataError, match="no training file"):
        load_local_files(tmp_path / "d")


def test_unknown_input_kind_is_refused(tmp_path):
    p = write(tmp_path / "a.csv", "text,label\na,1\n")
    with pytest.raises(DataError, match="as 'image' data is not supported"):
        load_local_files(p, input_kind="image")


# -- tabular (ctr) ---------------------------------------------------------------------------


def ctr_csv(path, labels=("0", "1", "1", "0")):
    rows = [f"u{i % 2},item{i},{i * 0.5},{i},{y}" for i, y in enumerate(labels)]
    return write(path, "user,item,price,ts,click\n" + "\n".join(rows) + "\n")


def test_tabular_keeps_every_column_with_its_type(tmp_path):
    ds = load_local_files(ctr_csv(tmp_path / "a.csv"), label_column="click", input_kind="tabular")
    assert (ds.input_kind, ds.task, ds.label_names) == ("tabular", "ctr", ["0", "1"])
    train = ds.splits["train"]
    assert train.column_names == ["user", "item", "price", "ts", "label"]
    assert ds.label_column == "label" and train["label"] == [0, 1, 1, 0]
    assert train["price"] == [0.0, 0.5, 1.0, 1.5] and train["ts"] == [0, 1, 2, 3]


def test_tabular_parquet_and_missing_numeric_values(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "a.parquet"
    pq.write_table(pa.table({"f": [1.0, None, 3.0], "c": ["a", None, "b"], "label": [1, 0, 1]}), p)
    train = load_local_files(p, input_kind="tabular").splits["train"]
    assert train["f"] == [1.0, None, 3.0] and train["c"] == ["a", None, "b"]


@pytest.mark.parametrize(
    ("values", "ids"),
    [
        (("no", "yes", "yes", "no"), [0, 1, 1, 0]),
        (("-1", "1", "1", "-1"), [0, 1, 1, 0]),
        (("0", "0", "0", "0"), [0, 0, 0, 0]),  # one class loads; training on it is refused later
    ],
)
def test_tabular_labels_become_zero_one(tmp_path, values, ids):
    ds = load_local_files(
        ctr_csv(tmp_path / "a.csv", values), label_column="click", input_kind="tabular"
    )
    assert ds.splits["train"]["label"] == ids and ds.label_names == ["0", "1"]


def test_tabular_bool_labels(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"f": 1, "label": true}\n{"f": 2, "label": false}\n')
    assert load_local_files(p, input_kind="tabular").splits["train"]["label"] == [1, 0]


def test_tabular_label_with_three_values_is_refused(tmp_path):
    p = ctr_csv(tmp_path / "a.csv", ("0", "1", "2", "0"))
    with pytest.raises(DataError, match=r"needs a binary label.*'click' holds 3 distinct values"):
        load_local_files(p, label_column="click", input_kind="tabular")


def test_tabular_missing_label_and_column(tmp_path):
    p = ctr_csv(tmp_path / "a.csv", ("0", "1", "", "0"))
    with pytest.raises(DataError, match="row 3 has no label"):
        load_local_files(p, label_column="click", input_kind="tabular")
    with pytest.raises(DataError, match=r"no column 'label'.*data.label_column"):
        load_local_files(p, input_kind="tabular")


def test_tabular_validation_labels_use_the_training_mapping(tmp_path):
    ctr_csv(tmp_path / "d" / "train.csv", ("no", "yes", "no", "no"))
    ctr_csv(tmp_path / "d" / "validation.csv", ("yes", "no"))
    ds = load_local_files(tmp_path / "d", label_column="click", input_kind="tabular")
    assert ds.splits["validation"]["label"] == [1, 0]
    ctr_csv(tmp_path / "e" / "train.csv", ("no", "yes"))
    ctr_csv(tmp_path / "e" / "test.csv", ("maybe",))
    with pytest.raises(DataError, match="label 'maybe', never seen in the training data"):
        load_local_files(tmp_path / "e", label_column="click", input_kind="tabular")


def test_tabular_labels_are_int64(tmp_path):
    ds = load_local_files(ctr_csv(tmp_path / "a.csv"), label_column="click", input_kind="tabular")
    assert np.asarray(ds.splits["train"]["label"]).dtype == np.int64
