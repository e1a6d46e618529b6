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


class TestPolaImageConformance(ModelConformance):
    model_name = "pola-image.tiny"
    distribution = "attnzoo-dsp"
    seq_len = 16  # image side of the synthetic batches = the synthetic processor's image_size


class TestDSPImageConformance(ModelConformance):
    model_name = "dsp-image.tiny"
    distribution = "attnzoo-dsp"
    seq_len = 16
