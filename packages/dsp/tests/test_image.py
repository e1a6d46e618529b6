"""Image classifiers (plain torch modules): patch embedding, 2-D attention on the grid, learning."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from attnzoo_dsp.config import DSPImageConfig, PolaImageConfig
from attnzoo_dsp.model import DSPImageClassifier, PolaImageClassifier

SMALL = {"image_size": 16, "in_channels": 3, "patch_size": 4, "num_classes": 2}
ARCH = {"d_model": 32, "n_heads": 2, "n_layers": 2, "d_ff": 64, "dropout": 0.0}
MODELS = [
    (PolaImageClassifier, PolaImageConfig, {}),
    (DSPImageClassifier, DSPImageConfig, {"spectral_modes": 4, "num_scales": 2}),
]


def build(cls, cfg_cls, extra, seed=0):
    torch.manual_seed(seed)
    return cls(cfg_cls(**SMALL, **ARCH, **extra))


def bright_quadrant_images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise images; label 1 when the top-left quadrant is brighter (needs spatial pooling)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 16, 16, generator=g)
    y = torch.arange(n) % 2
    x[y == 1, :, :8, :8] += 1.5
    return x, y


@pytest.mark.parametrize(("cls", "cfg_cls", "extra"), MODELS)
def test_forward_shapes_and_finite_gradients(cls, cfg_cls, extra):
    model = build(cls, cfg_cls, extra)
    x, y = bright_quadrant_images(4)
    out = model(pixel_values=x)["logits"]
    assert out.shape == (4, 2)
    F.cross_entropy(out, y).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(("cls", "cfg_cls", "extra"), MODELS)
def test_uses_the_2d_form_on_the_patch_grid(cls, cfg_cls, extra):
    model = build(cls, cfg_cls, extra)
    attn = model.encoder.blocks[0].attn
    assert attn.ndim == 2
    convs = [m for m in attn.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.in_channels == 16 for c in convs)  # d = 32 / 2 channels, shared


@pytest.mark.parametrize(("cls", "cfg_cls", "extra"), MODELS)
def test_short_fit_lowers_the_loss(cls, cfg_cls, extra):
    model = build(cls, cfg_cls, extra)
    x, y = bright_quadrant_images(16)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(model(pixel_values=x)["logits"], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-3:]) / 3 < 0.7 * losses[0]


def test_seeded_and_deterministic():
    x, _ = bright_quadrant_images(2)
    a = build(*MODELS[0], seed=3).eval()(pixel_values=x)["logits"]
    b = build(*MODELS[0], seed=3).eval()(pixel_values=x)["logits"]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_sides_not_a_multiple_of_the_patch_are_zero_padded():
    cfg = PolaImageConfig(**{**SMALL, "image_size": 10}, **ARCH)  # 10 px, 4-px patches: 3 x 3
    assert cfg.grid == (3, 3)
    out = PolaImageClassifier(cfg)(pixel_values=torch.randn(2, 3, 10, 10))["logits"]
    assert out.shape == (2, 2)


def test_registered_for_the_image_input_kind():
    from attnzoo.registry import get_model_spec

    for name in ("pola-image", "dsp-image"):
        spec = get_model_spec(name)
        assert (spec.task, spec.input_kind, spec.framework) == (
            "image-classification",
            "image",
            "torch",
        )


def test_clear_errors():
    with pytest.raises(ValidationError, match="patch_size"):
        PolaImageConfig(patch_size=0)
    model = build(*MODELS[0])
    with pytest.raises(ValueError, match=r"pixel_values must be \(B, 3, 16, 16\)"):
        model(pixel_values=torch.randn(1, 3, 32, 32))
