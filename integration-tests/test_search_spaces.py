"""Every installed model's tuning search space parses and names settings that model has."""

from __future__ import annotations

import pytest

from attnzoo.overrides import _route, check_path
from attnzoo.registry import get_model_spec, list_models
from attnzoo.tune.space import parse_space, search_space_for


@pytest.mark.parametrize("name", list_models())
def test_search_space_is_valid_for_its_model(name):
    spec = get_model_spec(name)
    dims = parse_space(spec.search_space, where=name) if spec.search_space else {}
    for key in dims:
        check_path(key, _route(key), name)  # raises on a key the model's config lacks
    space, _ = search_space_for(name, 1e-3)
    assert "train.lr" in space


def test_the_text_and_ctr_models_declare_their_own_space():
    declared = {n for n in list_models() if get_model_spec(n).search_space}
    assert {"transformer", "pola", "dsp", "diffusion", "bilstm", "fasttext", "din"} <= declared
