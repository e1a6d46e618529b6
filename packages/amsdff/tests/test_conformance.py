"""attnzoo's shared model contract on a tiny random encoder, with and without the seed's switches."""

from __future__ import annotations

from attnzoo.testing import ModelConformance


class TestAMSDFFConformance(ModelConformance):
    model_name = "amsdff.tiny"
    distribution = "attnzoo-amsdff"
