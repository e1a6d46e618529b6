from attnzoo.suggest import did_you_mean


def test_did_you_mean_quotes_close_choices_and_is_empty_otherwise() -> None:
    assert did_you_mean("epoch", ["epochs", "seed", "lr"]) == " Did you mean 'epochs'?"
    assert did_you_mean("xyz", ["atrt", "tiny"], prefix="m.") == ""
    assert did_you_mean("smal", ["small", "base"], prefix="atrt.") == " Did you mean 'atrt.small'?"
