"""Behaviour of the diffusion classifier: locality, noise, padding, fused == reference, recompute."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from attnzoo_diffusion.config import DiffusionConfig
from attnzoo_diffusion.model import DiffusionClassifier, _FusedStep, _ShiftMix

V, C, D, L = 50, 3, 16, 12


def make(seed: int = 0, **kw) -> DiffusionClassifier:
    # gain 1 (the default; the seed's 0.02 is the `seed` preset): dependencies far above rounding
    args = {
        "vocab_size": V,
        "num_classes": C,
        "d_model": D,
        "num_iters": 2,
        "max_seq_len": 64,
        "init_gain": 1.0,
        **kw,
    }
    torch.manual_seed(seed)
    return DiffusionClassifier(DiffusionConfig(**args))


def batch(b: int = 2, length: int = L, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, V, (b, length), generator=g)
    return ids, torch.ones_like(ids)


def changed_positions(
    model: DiffusionClassifier, j: int, mask: torch.Tensor | None = None
) -> set[int]:
    ids, ones = batch(b=1)
    mask = ones if mask is None else mask
    other = ids.clone()
    other[0, j] = (ids[0, j] + 1) % V
    with torch.no_grad():
        diff = (model.hidden_states(ids, mask) - model.hidden_states(other, mask)).abs().amax(-1)[0]
    return {i for i in range(ids.shape[1]) if diff[i] > 0}


# ---------------------------------------------------------------- locality


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(("iters", "j"), [(1, 5), (2, 0), (3, 11), (2, 6)])
def test_receptive_field_is_t_hops_circular(fused, iters, j):
    model = make(num_iters=iters, fused=fused).eval()
    expected = {(j + k) % L for k in range(-iters, iters + 1)}
    assert changed_positions(model, j) == expected


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(
    ("j", "expected"), [(0, {0, 1, 2}), (11, {9, 10, 11}), (5, {3, 4, 5, 6, 7})]
)
def test_receptive_field_is_not_circular_in_masked_mode(fused, j, expected):
    model = make(num_iters=2, fused=fused, mask_in_diffusion=True).eval()
    assert changed_positions(model, j) == expected


def test_non_circular_without_masking():
    assert changed_positions(make(num_iters=2, circular=False).eval(), 0) == {0, 1, 2}


# ---------------------------------------------------------------- noise, dropout


def test_eval_is_deterministic_and_training_adds_noise():
    model = make(dropout=0.0)
    ids, mask = batch()
    model.eval()
    with torch.no_grad():
        a, b = model(ids, mask)["logits"], model(ids, mask)["logits"]
        model.train()
        noisy = model(ids, mask)["logits"]
        model.config.noise_std = 0.0
        clean = model(ids, mask)["logits"]
    assert torch.equal(a, b)
    assert not torch.allclose(noisy, a)
    assert torch.allclose(
        clean, a, atol=1e-6
    )  # with dropout 0, the noise is the only train-time change


# ---------------------------------------------------------------- padding


@pytest.mark.parametrize("fused", [True, False])
def test_masked_mode_appending_pads_keeps_logits(fused):
    model = make(fused=fused, mask_in_diffusion=True).eval()
    ids, mask = batch()
    padded = torch.cat([ids, torch.zeros(2, 5, dtype=ids.dtype)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros_like(padded[:, :5])], dim=1)
    with torch.no_grad():
        assert torch.allclose(
            model(ids, mask)["logits"], model(padded, padded_mask)["logits"], atol=1e-6
        )


def test_masked_mode_isolates_real_tokens_from_pad_contents():
    model = make(mask_in_diffusion=True).eval()
    ids, mask = batch()
    mask[:, 8:] = 0
    other = ids.clone()
    other[:, 8:] = (ids[:, 8:] + 7) % V  # whatever sits in padded slots
    with torch.no_grad():
        h1, h2 = model.hidden_states(ids, mask), model.hidden_states(other, mask)
    assert torch.equal(h1[:, :8], h2[:, :8])


def test_faithful_mode_pads_take_part_in_diffusion():
    """Documented seed behaviour: pads are excluded from pooling only, so they still change the logits."""
    model = make().eval()
    ids, mask = batch()
    padded = torch.cat([ids, torch.zeros(2, 5, dtype=ids.dtype)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros_like(padded[:, :5])], dim=1)
    with torch.no_grad():
        assert not torch.allclose(
            model(ids, mask)["logits"], model(padded, padded_mask)["logits"], atol=1e-6
        )
        # but the pooling itself ignores them: padded positions never enter the mean
        h = model.hidden_states(padded, padded_mask)
        pooled = h[:, :L].mean(1)
        assert torch.allclose(
            model.classifier(pooled), model(padded, padded_mask)["logits"], atol=1e-6
        )


# ---------------------------------------------------------------- fused == reference


def _run(model: DiffusionClassifier, fused: bool, train: bool, ids, mask, seed: int = 7):
    model.config.fused = fused
    model.train(train)
    model.zero_grad()
    torch.manual_seed(seed)
    h = model.hidden_states(ids, mask)
    logits = model(ids, mask)["logits"]
    (h.pow(2).mean() + logits.pow(2).mean()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    return h.detach(), logits.detach(), grads


@pytest.mark.parametrize("kw", [{}, {"mask_in_diffusion": True}, {"circular": False}])
def test_fused_equals_reference_in_eval(kw):
    model = make(num_iters=4, **kw)
    ids, mask = batch(length=20)
    mask[1, 15:] = 0
    h_f, y_f, g_f = _run(model, True, False, ids, mask)
    h_r, y_r, g_r = _run(model, False, False, ids, mask)
    assert (h_f - h_r).abs().max() < 1e-5
    assert (y_f - y_r).abs().max() < 1e-5
    for n in g_r:
        assert torch.allclose(g_f[n], g_r[n], rtol=1e-4, atol=1e-5), n


def test_fused_equals_reference_in_training_with_same_seed():
    """The fused step draws dropout noise exactly like nn.Dropout, so even train mode matches."""
    model = make(num_iters=3)
    ids, mask = batch()
    h_f, y_f, g_f = _run(model, True, True, ids, mask)
    h_r, y_r, g_r = _run(model, False, True, ids, mask)
    assert (h_f - h_r).abs().max() < 1e-5
    assert (y_f - y_r).abs().max() < 1e-5
    for n in g_r:
        assert torch.allclose(g_f[n], g_r[n], rtol=1e-4, atol=1e-5), n


def test_fused_fallback_path_for_other_dtypes_matches_reference():
    model = make(num_iters=3).double()  # float64 takes the _ShiftMix + stock modules path
    ids, mask = batch()
    h_f, _, g_f = _run(model, True, False, ids, mask)
    h_r, _, g_r = _run(model, False, False, ids, mask)
    assert (h_f - h_r).abs().max() < 1e-10
    for n in g_r:
        assert torch.allclose(g_f[n], g_r[n], rtol=1e-8, atol=1e-10), n


@pytest.mark.parametrize("circular", [True, False])
def test_hand_written_backwards_pass_gradcheck(circular):
    g = torch.Generator().manual_seed(0)

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)

    h = rand(2, 5, 4)
    params = [
        rand(4, 4),
        rand(4, 4),
        rand(4, 4),
        rand(8, 4),
        rand(8),
        rand(4, 8),
        rand(4),
        rand(4),
        rand(4),
    ]
    assert torch.autograd.gradcheck(
        lambda x, *p: _FusedStep.apply(x, *p, 0.3, 0.0, circular, 1e-5), (h, *params)
    )
    assert torch.autograd.gradcheck(
        lambda x, *p: _ShiftMix.apply(x, *p, circular), (h, *params[:3])
    )


# ---------------------------------------------------------------- recompute


@pytest.mark.parametrize("fused", [True, False])
def test_recompute_matches_plain_backward(fused):
    ids, mask = batch()
    plain = make(num_iters=3, fused=fused)
    ckpt = make(num_iters=3, fused=fused, recompute=True)
    h_p, y_p, g_p = _run(plain, fused, True, ids, mask)
    h_c, y_c, g_c = _run(ckpt, fused, True, ids, mask)  # same seed: same noise and dropout masks
    assert torch.equal(h_p, h_c) and torch.equal(y_p, y_c)
    for n in g_p:
        assert torch.allclose(g_p[n], g_c[n], rtol=1e-6, atol=1e-7), n


# ---------------------------------------------------------------- parameters, init, config


def expected_param_count(vocab: int, d: int, classes: int) -> int:
    embedding = vocab * d
    neighbours = 3 * d * d
    layer_norm = 2 * d
    mlp = (d * 2 * d + 2 * d) + (2 * d * d + d)
    head = (d * d + d) + (d * classes + classes)
    return embedding + neighbours + layer_norm + mlp + head


def test_parameter_count_matches_spec():
    model = DiffusionClassifier(DiffusionConfig(vocab_size=30522, num_classes=4))
    n = sum(p.numel() for p in model.parameters())
    assert n == expected_param_count(30522, 256, 4) == 8_340_484  # the spec's "≈ 8.34M"


def test_state_dict_keys_are_the_seeds():
    keys = set(make().state_dict())
    seed_keys = {"embedding.weight", "layer_norm.weight", "layer_norm.bias"}
    seed_keys |= {f"neighbor_proj.{i}.weight" for i in range(3)}
    seed_keys |= {
        f"{m}.{i}.{p}"
        for m in ("update_mlp", "classifier")
        for i in (0, 3)
        for p in ("weight", "bias")
    }
    assert keys == seed_keys


@pytest.mark.parametrize(("name", "gain"), [("diffusion", 1.0), ("diffusion.seed", 0.02)])
def test_initialisation(name, gain):
    """Default: xavier gain 1.0; the `seed` preset: the seed's 0.02. Zero biases, embedding N(0, 0.02)."""
    import attnzoo

    model = attnzoo.create_model(name, vocab_size=1000, num_classes=4)
    assert model.config.init_gain == gain
    w = model.update_mlp[0].weight  # xavier normal std = gain * sqrt(2 / (fan_in + fan_out))
    assert w.std().item() == pytest.approx(gain * (2 / (256 + 512)) ** 0.5, rel=0.02)
    assert all(
        torch.count_nonzero(m.bias) == 0
        for m in model.modules()
        if isinstance(m, torch.nn.Linear) and m.bias is not None
    )
    assert abs(model.embedding.weight.std().item() - 0.02) < 1e-3


def test_forward_ignores_extra_keys_and_allows_no_mask():
    model = make().eval()
    ids, mask = batch()
    out = model(input_ids=ids, attention_mask=mask, labels=torch.zeros(2, dtype=torch.long))
    assert out["logits"].shape == (2, C)
    assert model(ids, None)["logits"].shape == (2, C)


def test_config_rejects_masked_and_circular_together():
    with pytest.raises(ValueError, match="circular"):
        DiffusionConfig(mask_in_diffusion=True, circular=True)
    assert not DiffusionConfig(mask_in_diffusion=True).uses_circular_shift
    assert DiffusionConfig().uses_circular_shift


def test_plugin_imports_no_framework():
    code = "import sys, attnzoo_diffusion.plugin; bad = {'torch', 'tensorflow', 'transformers'} & set(sys.modules); assert not bad, bad"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fused_under_fp16_autocast_on_cuda():
    model = make(num_iters=3).cuda()
    ids, mask = (t.cuda() for t in batch())
    with torch.autocast("cuda", dtype=torch.float16):
        logits = model(ids, mask)["logits"]
    logits.float().sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_seed_preset_decays_every_parameter_like_the_seed():
    """The seed's AdamW decays every parameter; core's default exempts embeddings/norms/biases."""
    import attnzoo

    presets = attnzoo.model_info("diffusion")["presets"]
    assert presets["seed"]["train"] == {"decay_norm_and_bias": True}
    assert presets["seed"]["model"] == {"init_gain": 0.02}
    assert "decay_norm_and_bias" not in attnzoo.model_info("diffusion")["train_defaults"]


# ---------------------------------------------------------------- export path
def test_export_takes_the_reference_ops_and_matches_fused(monkeypatch):
    """Under torch.export / torch.onnx the fused autograd Functions are bypassed (reference
    ops, standard operators) and the logits are those of the fused eval forward."""
    import attnzoo_diffusion.model as diffusion_model

    model = make(fused=True).eval()
    ids, mask = batch()
    mask[1, 8:] = 0
    with torch.no_grad():
        fused = model(ids, mask)["logits"]
    called = []
    monkeypatch.setattr(_FusedStep, "apply", lambda *a: called.append(1) or 1 / 0)
    monkeypatch.setattr(diffusion_model, "_exporting", lambda: True)
    with torch.no_grad():
        exported_path = model(ids, mask)["logits"]
    assert not called
    torch.testing.assert_close(exported_path, fused, rtol=0, atol=1e-5)


def test_exporting_is_true_inside_torch_export():
    from attnzoo_diffusion.model import _exporting

    seen = []

    class Probe(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(_exporting())
            return x + 1

    assert not _exporting()
    torch.export.export(Probe(), (torch.ones(2),))
    assert seen and all(seen)
