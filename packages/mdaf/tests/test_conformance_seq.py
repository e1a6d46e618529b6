"""attnzoo's shared model contract over Mamba4Rec and BST (both variants)."""

from __future__ import annotations

from attnzoo.testing import ModelConformance

#: a history of the candidate item and its category (aligned events) and a sequence with its
#: own vocabulary (no target field)
CTR_SCHEMA = {
    "categorical_sizes": {"user_id": 12, "item_id": 20, "category": 6},
    "numeric_fields": ["price"],
    "sequence_fields": {
        "item_history": "item_id",
        "category_history": "category",
        "tags": "tags",
    },
}


class TestMamba4RecConformance(ModelConformance):
    model_name = "mamba4rec.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2  # 30 steps from FuxiCTR's N(0, 1e-4) embeddings, with dropout on


class TestMamba4RecStackedConformance(ModelConformance):
    model_name = "mamba4rec.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2  # 30 steps from FuxiCTR's N(0, 1e-4) embeddings, with dropout on
    overrides = {"n_layers": 2, "impl": "chunked", "pooling": "mean", "reinit_inner": True}


class TestBSTConformance(ModelConformance):
    model_name = "bst.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2  # 30 steps from FuxiCTR's N(0, 1e-4) embeddings, with dropout on


class TestBSTMDAFConformance(ModelConformance):
    model_name = "bst.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2  # 30 steps from FuxiCTR's N(0, 1e-4) embeddings, with dropout on
    overrides = {"variant": "mdaf", "n_layers": 2}
