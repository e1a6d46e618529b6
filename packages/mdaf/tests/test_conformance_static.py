"""attnzoo's shared model contract over DCNv3 and MDAF (Mamba, BST, the seed's surrogate)."""

from __future__ import annotations

from test_conformance_seq import CTR_SCHEMA

from attnzoo.testing import ModelConformance


class TestDCNv3Conformance(ModelConformance):
    model_name = "dcnv3.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2  # 30 steps from FuxiCTR's N(0, 1e-4) embeddings, with dropout on


class TestMDAFMambaConformance(ModelConformance):
    model_name = "mdaf.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2


class TestMDAFBSTConformance(ModelConformance):
    model_name = "mdaf.tiny-bst"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2


class TestMDAFSurrogateConformance(ModelConformance):
    model_name = "mdaf.tiny"
    distribution = "attnzoo-mdaf"
    processor_settings = CTR_SCHEMA
    fit_lr = 1e-2
    overrides = {"mamba_impl": "mdaf_surrogate", "aux_heads": True}
