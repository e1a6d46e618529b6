"""ctr-table: a CTR file with a declared schema, from schema.yaml beside it or from Python."""

from __future__ import annotations

import pyarrow.csv as pacsv
import pytest

from attnzoo.errors import ConfigError, DataError
from attnzoo.testing import make_ctr_table
from attnzoo_datasets.ctr_table import load_ctr_table

SCHEMA = """\
label: clicked
categorical: [user_id, item_id, category]
numeric: [price]
sequences: {item_history: item_id}
user: user_id
time: timestamp
"""


def clicked_table(folder):
    """The CTR fixture with its label renamed (a schema names it) and an unused column."""
    path = make_ctr_table(folder, n=800, seed=0, fmt="csv")
    table = pacsv.read_csv(path)
    table = table.rename_columns(["clicked" if c == "label" else c for c in table.column_names])
    pacsv.write_csv(table, path)
    return path


def test_schema_beside_the_file_declares_fields_groups_and_time(tmp_path):
    path = clicked_table(tmp_path / "d")
    (tmp_path / "d" / "schema.yaml").write_text(SCHEMA)
    for where in (path, tmp_path / "d"):
        ds = load_ctr_table(str(where))
        assert (ds.group_column, ds.time_column, ds.task) == ("user_id", "timestamp", "ctr")
        assert ds.processor_hints["categorical"] == ["user_id", "item_id", "category"]
        assert ds.processor_hints["sequences"] == {"item_history": "item_id"}
    py = load_ctr_table(str(path), schema={"label": "clicked", "categorical": ["item_id"]})
    assert py.group_column is None and py.processor_hints["numeric"] == []
    with pytest.raises(DataError, match="lacks"):
        load_ctr_table(str(path), schema={"label": "clicked", "numeric": ["nope"]})
    with pytest.raises(ConfigError):
        load_ctr_table(str(path), schema={"label": "clicked", "numerics": ["price"]})
    (tmp_path / "d" / "schema.yaml").unlink()
    with pytest.raises(DataError, match="no schema.yaml"):
        load_ctr_table(str(path))
