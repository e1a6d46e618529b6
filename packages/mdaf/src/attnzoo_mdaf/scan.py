"""Mamba's selective scan in pure PyTorch: a sequential reference and a chunked parallel form.

For every batch row and channel ``e`` the scan runs the recurrence (mamba_ssm's
``selective_scan_ref``)::

    h_t = exp(delta_t * A_e) * h_{t-1} + delta_t * x_t * B_t      (h in R^N, h_0 = 0)
    y_t = <h_t, C_t> + D_e * x_t

Shapes follow attnzoo's (batch, length, channels) layout: ``x`` and ``delta`` are (B, L, E),
``A`` is (E, N), ``B`` and ``C`` are (B, L, N) and ``D`` is (E,).

A ``mask`` (B, L), 1 for real events, makes padded positions inert: their delta is set to 0,
so the decay is exp(0) = 1 (the state passes through unchanged) and nothing is added; their
output is 0. Left padding (MDAF's data) therefore gives the same outputs at the real positions
as the unpadded sequence, and right padding never reaches an earlier position (the scan is
causal).

The chunked form splits the sequence into chunks of ``chunk_size``. Inside a chunk, with
``S_t = sum_{tau <= t} delta_tau * A`` (a cumulative sum, never positive)::

    h_t = sum_{s <= t} exp(S_t - S_s) * delta_s * x_s * B_s + exp(S_t) * h_start

computed with a (t, s) segment-sum matrix that is -inf above the diagonal, so only
differences ``S_t - S_s <= 0`` are exponentiated (no overflow); the state is carried across
chunks. A chunk holds a (B, T, T, E, N) decay tensor (A is per channel and state), so the
default chunk is short (16): time is O(L * T * E * N), linear in the length L.
"""

from __future__ import annotations

import torch


def _apply_mask(
    x: torch.Tensor, delta: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    if mask is None:
        return x, delta, None
    m = mask.to(x.dtype).unsqueeze(-1)  # (B, L, 1)
    return x * m, delta * m, m


def selective_scan_sequential(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The recurrence, one timestep at a time: the reference the fast forms are tested against."""
    x, delta, m = _apply_mask(x, delta, mask)
    batch, length, channels = x.shape
    h = x.new_zeros(batch, channels, A.shape[1])
    ys = []
    for t in range(length):
        dt = delta[:, t].unsqueeze(-1)  # (B, E, 1)
        h = torch.exp(dt * A) * h + dt * x[:, t].unsqueeze(-1) * B[:, t].unsqueeze(1)
        ys.append(torch.einsum("ben,bn->be", h, C[:, t]))
    y = torch.stack(ys, dim=1) if ys else x.new_zeros(batch, 0, channels)
    if D is not None:
        y = y + x * D
    return y if m is None else y * m


def selective_scan_chunked(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    mask: torch.Tensor | None = None,
    chunk_size: int = 16,
) -> torch.Tensor:
    """The same scan in parallel inside chunks of ``chunk_size`` steps, sequential across chunks."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    x, delta, m = _apply_mask(x, delta, mask)
    batch, length, channels = x.shape
    n = A.shape[1]
    h = x.new_zeros(batch, channels, n)
    outputs = []
    for start in range(0, length, chunk_size):
        stop = min(start + chunk_size, length)
        xc, dc = x[:, start:stop], delta[:, start:stop]  # (B, T, E)
        bc, cc = B[:, start:stop], C[:, start:stop]  # (B, T, N)
        steps = stop - start
        # S[b, t, e, n]: cumulative log-decay inside the chunk
        s = torch.cumsum(dc.unsqueeze(-1) * A, dim=1)  # (B, T, E, N)
        # segment sums S_t - S_s for s <= t, -inf above the diagonal
        seg = s.unsqueeze(2) - s.unsqueeze(1)  # (B, T, T, E, N): [b, t, s]
        causal = torch.ones(steps, steps, dtype=torch.bool, device=x.device).tril()
        seg = seg.masked_fill(~causal[None, :, :, None, None], float("-inf"))
        decay = torch.exp(seg)
        # y_t = sum_s sum_n C_t[n] * decay[t, s, e, n] * B_s[n] * delta_s[e] * x_s[e]
        weights = torch.einsum("btn,btsen,bsn->btse", cc, decay, bc)
        y = torch.einsum("btse,bse->bte", weights, dc * xc)
        y = y + torch.einsum("bten,ben,btn->bte", torch.exp(s), h, cc)
        outputs.append(y)
        # carry the state to the chunk's end
        last = s[:, -1]  # (B, E, N)
        carry = torch.exp(last.unsqueeze(1) - s)  # (B, T, E, N)
        h = torch.exp(last) * h + torch.einsum("bsen,bse,bsn->ben", carry, dc * xc, bc)
    y = torch.cat(outputs, dim=1) if outputs else x.new_zeros(batch, 0, channels)
    if D is not None:
        y = y + x * D
    return y if m is None else y * m


def mamba_ssm_available() -> bool:
    """Whether mamba-ssm's CUDA selective scan can be imported (never true without CUDA)."""
    if not torch.cuda.is_available():
        return False
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn  # noqa: F401
    except Exception:  # ImportError, or a broken CUDA build raising at import
        return False
    return True


def _selective_scan_cuda(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None,
    mask: torch.Tensor | None,
) -> torch.Tensor:
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn

    x, delta, m = _apply_mask(x, delta, mask)
    y = selective_scan_fn(
        x.transpose(1, 2).contiguous(),
        delta.transpose(1, 2).contiguous(),
        A.contiguous(),
        B.transpose(1, 2).contiguous(),
        C.transpose(1, 2).contiguous(),
        D.float() if D is not None else None,
    ).transpose(1, 2)
    return y if m is None else y * m


SCAN_IMPLS = ("auto", "chunked", "sequential", "cuda")


def export_blocker(impl: str, field: str) -> str | None:
    """Why a model whose scan is ``impl`` cannot go to ONNX (``None``: it can), for the model's
    ``onnx_export_blocker``. The PyTorch forms trace: the history has a fixed length (the
    processor pads to ``max_history``), so the exporter unrolls their loops to that many steps.
    mamba-ssm's kernel is a compiled CUDA op that no exporter sees through."""
    if impl != "cuda":
        return None
    return (
        f"its selective scan is mamba-ssm's CUDA kernel ({field}='cuda'), a compiled op the ONNX "
        f'exporter cannot trace. Set "{field}": "sequential" in the run\'s model/config.json (the '
        "same scan in standard ops, tested equal to the kernel; the weights do not depend on it) "
        "and export again."
    )


def selective_scan(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    mask: torch.Tensor | None = None,
    impl: str = "auto",
    chunk_size: int = 16,
) -> torch.Tensor:
    """Dispatch: ``auto`` uses mamba-ssm's CUDA kernel for CUDA tensors when it is installed,
    else the sequential PyTorch form (on a CPU it measured faster than the chunked form at
    lengths 50-1,000: benchmarks/results/scan_speed_cpu.json); ``cuda``, ``chunked`` and
    ``sequential`` force one."""
    if impl not in SCAN_IMPLS:
        raise ValueError(f"unknown scan impl {impl!r}; choose one of {', '.join(SCAN_IMPLS)}")
    use_cuda = impl == "cuda" or (impl == "auto" and x.is_cuda and mamba_ssm_available())
    if use_cuda:
        if not (x.is_cuda and mamba_ssm_available()):
            raise RuntimeError(
                "scan impl 'cuda' needs CUDA tensors and mamba-ssm's kernels: on a CUDA machine run "
                "`pip install mamba-ssm causal-conv1d`, or use impl='chunked'."
            )
        return _selective_scan_cuda(x, delta, A, B, C, D, mask)
    if impl in ("sequential", "auto"):
        return selective_scan_sequential(x, delta, A, B, C, D, mask=mask)
    return selective_scan_chunked(x, delta, A, B, C, D, mask=mask, chunk_size=chunk_size)
