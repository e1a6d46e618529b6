"""attnzoo's shared model contract, run over every baseline's tiny preset."""

from __future__ import annotations

from attnzoo.testing import ModelConformance


class TestTransformerConformance(ModelConformance):
    model_name = "transformer.tiny"
    distribution = "attnzoo-baselines"


class TestHFEncoderConformance(ModelConformance):
    model_name = "hf-encoder.tiny"
    distribution = "attnzoo-baselines"


class TestBiLSTMConformance(ModelConformance):
    model_name = "bilstm.tiny"
    distribution = "attnzoo-baselines"


class TestFastTextConformance(ModelConformance):
    model_name = "fasttext.tiny"
    distribution = "attnzoo-baselines"


class TestLRConformance(ModelConformance):
    model_name = "lr.tiny"
    distribution = "attnzoo-baselines"


#: a CTR schema with a history of the candidate item and its category (aligned events), and
#: a sequence with its own vocabulary (pooled, no target)
CTR_SCHEMA = {
    "categorical_sizes": {"user_id": 12, "item_id": 20, "category": 6},
    "numeric_fields": ["price"],
    "sequence_fields": {
        "item_history": "item_id",
        "category_history": "category",
        "tags": "tags",
    },
}


class TestDeepFMConformance(ModelConformance):
    model_name = "deepfm.tiny"
    distribution = "attnzoo-baselines"
    processor_settings = CTR_SCHEMA


class TestDINConformance(ModelConformance):
    model_name = "din.tiny"
    distribution = "attnzoo-baselines"
    processor_settings = CTR_SCHEMA


class TestDINSeparateHistoriesConformance(ModelConformance):
    model_name = "din.tiny"
    distribution = "attnzoo-baselines"
    processor_settings = CTR_SCHEMA
    overrides = {"concat_sequences": False, "use_softmax": True}
