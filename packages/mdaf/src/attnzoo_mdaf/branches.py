"""The sequence branches that Mamba4Rec, BST and MDAF share: a behaviour history in, one vector out.

A branch reads the batch's behaviour sequences (``sequences`` / ``sequence_mask``, see
:class:`attnzoo.config.CTRConfig`) through the :class:`~attnzoo.nn.FieldEmbeddings` it is
given, so the static and the sequential parts of a model look ids up in one set of tables
(the candidate item and the items of the history are one vocabulary) and no table is dead.
The branch does **not** register that table as its own submodule: its owner (the CTR model,
or MDAF) does, so every weight is saved once.

Each event of the history is the concatenation of its attributes' embeddings (the item and
its category, as in DIN and BST); a position is an event when any of its attributes is.

- :class:`MambaBranch`: Mamba4Rec's layers (chengkai-liu/Mamba4Rec) over the history: an
  input projection when the event width is not ``d_model``, dropout, LayerNorm(eps 1e-12),
  then per layer ``LN(Dropout(Mamba(x)) [+ x])`` (no residual when there is one layer, as
  the original) and the GELU FFN ``LN(Dropout(W2 Dropout(GELU(W1 y))) + y)``; pooled by the
  mean over valid events or the last valid event (Mamba4Rec's gather at ``len - 1``). The
  scan's mask keeps padding inert, so left padding equals no padding. ``impl="mdaf_surrogate"``
  is the MDAF seed's branch instead (pre-LN residual blocks over its non-scanning
  :class:`~attnzoo_mdaf.mamba.SurrogateSSM`, no FFN, no dropout, a final LayerNorm, the mean):
  **not a state-space model**, for reproducing the seed only.
- :class:`BSTBranch`: ``variant="fuxictr"`` is FuxiCTR's BST (the target appended as the last
  token, a learned position embedding initialised with sinusoids and concatenated, post-LN
  blocks with a LeakyReLU FFN, padded keys masked except each token's own, the mean over
  valid positions); ``variant="mdaf"`` is the seed's (item history only, fixed sinusoids
  added, no target in the sequence, post-LN ReLU FFN of twice the width, unscaled
  dot-product attention of the target over the outputs).

Positions count back from the most recent event (the last event is ``L - 1``, the target
``L``), as FuxiCTR's pre-padded sequences have them, so a right-padded history (attnzoo's
collator) and a left-padded one (the MDAF seed's data) get the same positions.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from attnzoo.config import CTRConfig
from attnzoo.nn import FieldEmbeddings, masked_mean, mean_pool
from attnzoo_mdaf.mamba import Mamba, SurrogateSSM
from attnzoo_mdaf.scan import SCAN_IMPLS

MAMBA_IMPLS = (*SCAN_IMPLS, "mdaf_surrogate")
MAMBA_POOLINGS = ("mean", "last")
BST_VARIANTS = ("fuxictr", "mdaf")
MAMBA4REC_LN_EPS = 1e-12


# ---------------------------------------------------------------------------------------
# the history: which sequences, their targets, their embeddings
# ---------------------------------------------------------------------------------------


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        from attnzoo.suggest import did_you_mean

        raise ValueError(
            f"unknown {what} {value!r}.{did_you_mean(value, choices)} Choose one of: {', '.join(choices)}."
        )


class _History:
    """The sequences a branch reads (batch indices) and, per sequence, its target field (or None).

    A plain object, not a module: it keeps a reference to the shared table without registering it.
    """

    def __init__(
        self, embeddings: FieldEmbeddings, config: CTRConfig, names: list[str] | None = None
    ) -> None:
        order = list(config.sequence_fields)
        if not order:
            raise ValueError(
                "a sequence branch needs a behaviour sequence, but the schema has none: give the "
                "dataset a history column (data.processor.sequences) or use a static CTR model."
            )
        names = order if names is None else names
        fields = list(config.categorical_sizes)
        self.names = names
        self.indices = [order.index(n) for n in names]
        shares = config.sequence_fields
        self.targets = [fields.index(shares[n]) if shares[n] != n else None for n in names]
        self.dim = embeddings.categorical.embedding_dim
        self.embeddings = embeddings

    @property
    def width(self) -> int:
        """Width of one event: the concatenated attributes."""
        return self.dim * len(self.names)

    def events(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L, width) event embeddings (zeros at padding) and the (B, L) event mask."""
        seqs, masks = batch["sequences"], batch["sequence_mask"]
        parts = [
            self.embeddings.sequence(n, seqs[:, s], masks[:, s])
            for n, s in zip(self.names, self.indices, strict=True)
        ]
        return torch.cat(parts, dim=-1), masks[:, self.indices].amax(1)

    def target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, width): the candidate's embedding per attribute (zeros for a sequence without one)."""
        fields = self.embeddings.fields(batch["categorical"])  # (B, F, d)
        zeros = fields.new_zeros(fields.shape[0], self.dim)
        return torch.cat([zeros if t is None else fields[:, t] for t in self.targets], dim=-1)


def recency_positions(mask: torch.Tensor) -> torch.Tensor:
    """(B, L) mask -> (B, L) positions: the last valid event is ``L - 1``, the one before
    ``L - 2``, ...; padding gets 0 (it is masked wherever it could matter)."""
    length = mask.shape[1]
    at_or_after = mask.long().flip(1).cumsum(1).flip(1)
    return torch.where(mask.bool(), length - at_or_after, torch.zeros_like(at_or_after))


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """(length, dim) sin/cos table (Vaswani et al.; FuxiCTR's initialisation of its positions)."""
    pe = torch.zeros(length, dim)
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe[:, 0::2] = torch.sin(position * div)
    pe[:, 1::2] = torch.cos(position * div)[:, : dim // 2]
    return pe


# ---------------------------------------------------------------------------------------
# Mamba4Rec
# ---------------------------------------------------------------------------------------


class FeedForward(nn.Module):
    """Mamba4Rec's point-wise FFN: ``LN(Dropout(W2 Dropout(GELU(W1 x))) + x)``, W1: D -> 4D."""

    def __init__(self, d_model: int, dropout: float) -> None:
        super().__init__()
        self.w_1 = nn.Linear(d_model, 4 * d_model)
        self.w_2 = nn.Linear(4 * d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model, eps=MAMBA4REC_LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.w_2(self.dropout(F.gelu(self.w_1(x)))))
        return self.norm(h + x)


class MambaLayer(nn.Module):
    """``LN(Dropout(Mamba(x)) + x)``, or without the residual when the model has one layer."""

    def __init__(
        self,
        d_model: int,
        *,
        dropout: float,
        d_state: int,
        d_conv: int,
        expand: int,
        impl: str,
        residual: bool,
    ) -> None:
        super().__init__()
        self.mamba = Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand, impl=impl)
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d_model, eps=MAMBA4REC_LN_EPS)
        self.residual = residual
        self.ffn = FeedForward(d_model, dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.dropout(self.mamba(x, mask))
        y = self.norm(y + x if self.residual else y)
        return self.ffn(y)


class SeedMambaBlock(nn.Module):
    """The MDAF seed's "MambaBlock": ``x + SurrogateSSM(LN(x))`` (no FFN, no dropout)."""

    def __init__(self, d_model: int, *, d_state: int, d_conv: int, expand: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.ssm = SurrogateSSM(d_model, d_state=d_state, d_conv=d_conv, expand=expand)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x + self.ssm(self.norm(x), mask)


def _last_valid(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, L, D) -> the state at each row's last valid position (zeros for an empty history)."""
    length = mask.shape[1]
    valid = mask.bool()
    idx = (torch.arange(length, device=mask.device) * valid).argmax(1)  # (B,)
    last = states[torch.arange(states.shape[0], device=states.device), idx]
    return last * valid.any(1, keepdim=True).to(last.dtype)


class MambaBranch(nn.Module):
    """Mamba4Rec layers over the behaviour history -> (B, d_model).

    Args:
        embeddings: the shared field tables (not registered here: the owner holds them).
        config: the CTR schema (which sequences exist and which field each one shares).
        d_model: width of the Mamba layers; events are projected to it when their width
            (``embedding_dim * number of sequences``) differs.
        n_layers: Mamba layers; one layer has no residual connection (Mamba4Rec's rule).
        dropout: Mamba4Rec's dropout (after the embedding, after Mamba, in the FFN).
        d_state, d_conv, expand: the Mamba block's state size, conv width and expansion.
        impl: the scan (``auto|chunked|sequential|cuda``), or ``mdaf_surrogate`` for the seed's
            non-scanning branch (its own layer structure; ``dropout`` unused).
        reinit_inner: apply Mamba4Rec's ``_init_weights`` (N(0, 0.02), zero bias) to Mamba's
            own linears too, overwriting the dt-bias init as the original does.
        pooling: ``mean`` over valid events or the ``last`` valid event.
    """

    def __init__(
        self,
        embeddings: FieldEmbeddings,
        config: CTRConfig,
        *,
        d_model: int,
        n_layers: int,
        dropout: float,
        d_state: int,
        d_conv: int,
        expand: int,
        impl: str = "auto",
        reinit_inner: bool = False,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        _choice("mamba impl", impl, MAMBA_IMPLS)
        _choice("pooling", pooling, MAMBA_POOLINGS)
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        self.history = _History(embeddings, config)
        self.surrogate = impl == "mdaf_surrogate"
        self.pooling = pooling
        self.out_dim = d_model
        width = self.history.width
        self.proj: nn.Module = (
            nn.Linear(width, d_model) if width != d_model or self.surrogate else nn.Identity()
        )
        self.layers = nn.ModuleList()
        if self.surrogate:
            self.norm = nn.LayerNorm(d_model)  # the seed's final LayerNorm
            for _ in range(n_layers):
                self.layers.append(
                    SeedMambaBlock(d_model, d_state=d_state, d_conv=d_conv, expand=expand)
                )
            self._init_seed()
        else:
            self.dropout = nn.Dropout(dropout)
            self.norm = nn.LayerNorm(d_model, eps=MAMBA4REC_LN_EPS)  # before the layers
            for _ in range(n_layers):
                self.layers.append(
                    MambaLayer(
                        d_model,
                        dropout=dropout,
                        d_state=d_state,
                        d_conv=d_conv,
                        expand=expand,
                        impl=impl,
                        residual=n_layers > 1,
                    )
                )
            self._init_mamba4rec(reinit_inner)

    @torch.no_grad()
    def _init_mamba4rec(self, reinit_inner: bool) -> None:
        """Mamba4Rec's ``_init_weights``: N(0, 0.02) linears with zero bias, LayerNorm (1, 0);
        Mamba's own linears keep their native init unless ``reinit_inner``."""
        inner = {
            id(m) for block in self.modules() if isinstance(block, Mamba) for m in block.modules()
        }
        for m in self.modules():
            if isinstance(m, nn.Linear) and (reinit_inner or id(m) not in inner):
                nn.init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    @torch.no_grad()
    def _init_seed(self) -> None:
        """The seed's init: xavier-uniform linears (zero bias)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def names(self) -> list[str]:
        """The sequences this branch reads (every one of the schema's)."""
        return self.history.names

    def states(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L, d_model) per-event states after every layer, and the (B, L) event mask."""
        events, mask = self.history.events(batch)
        x = self.proj(events)
        if not self.surrogate:
            x = self.norm(self.dropout(x))
        for layer in self.layers:
            x = layer(x, mask)
        if self.surrogate:
            x = self.norm(x)
        return x, mask

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        states, mask = self.states(batch)
        if self.pooling == "last":
            return _last_valid(states, mask)
        return masked_mean(states, mask)


# ---------------------------------------------------------------------------------------
# BST
# ---------------------------------------------------------------------------------------


class TransformerBlock(nn.Module):
    """FuxiCTR's BST block: ``s = LN(x + Drop(MHA(x)))``, ``LN(s + Drop(W2 LeakyReLU(W1 s)))``."""

    def __init__(self, dim: int, n_heads: int, dropout: float, attention_dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(
            dim, n_heads, dropout=attention_dropout, batch_first=True
        )
        self.ffn = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(), nn.Linear(dim, dim))
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        for m in self.ffn:  # FuxiCTR inits exact nn.Linear only: MHA keeps PyTorch's init
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor) -> torch.Tensor:
        attn, _ = self.attention(x, x, x, attn_mask=attn_mask, need_weights=False)
        s = self.norm1(self.dropout1(attn) + x)
        return self.norm2(self.dropout2(self.ffn(s)) + s)


def _keys_masked_except_self(valid: torch.Tensor, n_heads: int) -> torch.Tensor:
    """(B, T) valid tokens -> (B * heads, T, T) boolean mask, True = not attended: padded keys
    are hidden from every query but their own position (FuxiCTR: no all-masked row)."""
    t = valid.shape[1]
    hidden = (~valid.bool()).unsqueeze(1).expand(-1, t, -1)  # (B, T query, T key)
    eye = torch.eye(t, dtype=torch.bool, device=valid.device)
    return (hidden & ~eye).repeat_interleave(n_heads, dim=0)


class BSTBranch(nn.Module):
    """Behaviour Sequence Transformer over the history -> (B, out_dim).

    Args:
        embeddings: the shared field tables (not registered here: the owner holds them).
        config: the CTR schema; ``max_history`` sizes the position table.
        n_heads: attention heads (must divide the token width).
        n_layers: transformer blocks.
        dropout: dropout after attention and FFN (FuxiCTR's ``net_dropout``; the seed's 0.1).
        variant: ``fuxictr`` (out_dim = (sequences + 1) * embedding_dim) or ``mdaf``
            (out_dim = embedding_dim; reads the first sequence that has a target field).
        attention_dropout: dropout on the attention weights (FuxiCTR's ``attention_dropout``;
            the seed uses ``dropout`` there too).
    """

    def __init__(
        self,
        embeddings: FieldEmbeddings,
        config: CTRConfig,
        *,
        n_heads: int,
        n_layers: int,
        dropout: float,
        variant: str = "fuxictr",
        attention_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _choice("bst variant", variant, BST_VARIANTS)
        self.variant = variant
        self.n_heads = n_heads
        self.max_history = config.max_history
        if variant == "mdaf":
            targeted = [n for n, s in config.sequence_fields.items() if s != n]
            if not targeted:
                raise ValueError(
                    "bst variant 'mdaf' attends with the candidate item over its history, but no "
                    "sequence shares a categorical field (sequence_fields maps each to itself)."
                )
            self.history = _History(embeddings, config, targeted[:1])
        else:
            self.history = _History(embeddings, config)
        d = self.history.dim
        width = self.history.width + d if variant == "fuxictr" else d
        if width % n_heads:
            raise ValueError(
                f"BST's token width {width} is not divisible by n_heads={n_heads}: choose "
                f"n_heads dividing it or change embedding_dim."
            )
        self.out_dim = width
        if variant == "fuxictr":
            # L events + the target; learned, initialised with sinusoids, concatenated
            self.position = nn.Parameter(sinusoids(config.max_history + 1, d))
            self.blocks = nn.ModuleList(
                TransformerBlock(width, n_heads, dropout, attention_dropout)
                for _ in range(n_layers)
            )
        else:
            self.register_buffer(
                "sinusoid", sinusoids(config.max_history, d), persistent=False
            )  # fixed, added
            self.blocks = nn.ModuleList(
                nn.TransformerEncoderLayer(
                    width, n_heads, dim_feedforward=2 * width, dropout=dropout, batch_first=True
                )
                for _ in range(n_layers)
            )

    @property
    def names(self) -> list[str]:
        """The sequences this branch reads (the others are the owner's to use)."""
        return self.history.names

    def _check_length(self, length: int) -> None:
        if length > self.max_history:
            raise ValueError(
                f"history of length {length} is longer than max_history={self.max_history} that "
                f"BST's positions were built for: set model.max_history >= {length}."
            )

    def embed(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The transformer's input tokens and their (B, T) validity.

        fuxictr: T = L + 1 (the target last), each token ``[attributes ‖ position]``;
        mdaf: T = L, each token ``item + sinusoid``.
        """
        events, mask = self.history.events(batch)  # (B, L, S*d), (B, L)
        length = events.shape[1]
        self._check_length(length)
        pos = recency_positions(mask) + (self.max_history - length)  # align at the table's end
        if self.variant == "mdaf":
            return events + self.sinusoid[pos], mask.bool()  # type: ignore[index]  # a buffer
        target = self.history.target(batch).unsqueeze(1)  # (B, 1, S*d)
        x = torch.cat([events, target], dim=1)  # (B, L + 1, S*d)
        pos = torch.cat([pos, pos.new_full((pos.shape[0], 1), self.max_history)], dim=1)
        x = torch.cat([x, self.position[pos]], dim=-1)  # (B, L + 1, (S + 1) * d)
        valid = torch.cat([mask.bool(), mask.new_ones(mask.shape[0], 1).bool()], dim=1)
        return x, valid

    def tokens(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The transformer's output tokens and their (B, T) validity."""
        x, valid = self.embed(batch)
        attn_mask = _keys_masked_except_self(valid, self.n_heads)
        for block in self.blocks:
            x = block(x, attn_mask) if self.variant == "fuxictr" else block(x, src_mask=attn_mask)
        return x, valid

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x, valid = self.tokens(batch)
        if self.variant == "fuxictr":
            return masked_mean(x, valid)
        # the seed's target attention: unscaled <h_t, e_target>, pads at -1e9, softmax
        target = self.history.target(batch)  # (B, d)
        scores = torch.einsum("bld,bd->bl", x, target).masked_fill(~valid, -1e9)
        pooled = torch.einsum("bl,bld->bd", torch.softmax(scores, dim=-1), x)
        return pooled * valid.any(1, keepdim=True).to(pooled.dtype)  # empty history -> 0


# ---------------------------------------------------------------------------------------
# what the head reads besides the branch
# ---------------------------------------------------------------------------------------


def static_features(
    embeddings: FieldEmbeddings,
    config: CTRConfig,
    batch: dict[str, torch.Tensor],
    read_by_branch: list[str],
) -> torch.Tensor:
    """(B, width) for a CTR head: every categorical and numeric field's embedding, and the mean
    of each sequence the branch does not read (as DIN pools a history without a target), so
    no table is dead."""
    parts = [
        embeddings.fields(batch["categorical"]).flatten(1),
        embeddings.numbers(batch["numeric"]).flatten(1),
    ]
    for s, name in enumerate(config.sequence_fields):
        if name not in read_by_branch:
            mask = batch["sequence_mask"][:, s]
            parts.append(mean_pool(embeddings.sequence(name, batch["sequences"][:, s], mask), mask))
    return torch.cat(parts, dim=-1)


def static_width(config: CTRConfig, dim: int, read_by_branch: list[str]) -> int:
    """Width of :func:`static_features`."""
    leftover = [n for n in config.sequence_fields if n not in read_by_branch]
    return dim * (len(config.categorical_sizes) + len(config.numeric_fields) + len(leftover))
