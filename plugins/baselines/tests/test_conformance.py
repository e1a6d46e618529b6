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
