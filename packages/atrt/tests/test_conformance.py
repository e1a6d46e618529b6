from attnzoo.testing import ModelConformance


class TestATRTConformance(ModelConformance):
    model_name = "atrt.tiny"
    distribution = "attnzoo-atrt"


class TestATRTBaseConformance(ModelConformance):
    """The plain-attention twin (the seed's Base Transformer) at the tiny size."""

    model_name = "atrt.base"
    distribution = "attnzoo-atrt"
    overrides = {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32, "max_seq_len": 64}
