from attnzoo.testing import ModelConformance


class TestExampleConformance(ModelConformance):
    model_name = "example.tiny"
    distribution = "attnzoo-example"
