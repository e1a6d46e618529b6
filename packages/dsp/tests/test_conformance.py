from attnzoo.testing import ModelConformance


class TestPolaConformance(ModelConformance):
    model_name = "pola.tiny"
    distribution = "attnzoo-dsp"


class TestDSPConformance(ModelConformance):
    model_name = "dsp.tiny"
    distribution = "attnzoo-dsp"


class TestDSPSeedContextConformance(ModelConformance):
    model_name = "dsp.tiny"
    distribution = "attnzoo-dsp"
    overrides = {"context": "seed", "scale_mixer": "grad_ema"}
