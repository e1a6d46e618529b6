from attnzoo.testing import ModelConformance


class TestDiffusionConformance(ModelConformance):
    model_name = "diffusion.tiny"
    distribution = "attnzoo-diffusion"
