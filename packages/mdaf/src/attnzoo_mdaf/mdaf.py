"""MDAF (jhchoi91066/CTR_research ``models/mdaf``): DCNv3 + a sequential branch + a learned gate.

- **Static branch**: the official DCNv3 layers (:mod:`attnzoo_mdaf.dcnv3`) over the fields the
  sequential branch does not read (categorical, numeric, any other sequence mean-pooled);
  ``return_embedding`` = the mean of the final ECN and LCN states (flattened over heads) ->
  Linear -> ReLU -> Dropout gives ``h_static`` (B, d_model).
- **Sequential branch** (``seq_branch``): :class:`~attnzoo_mdaf.branches.MambaBranch` (real
  Mamba4Rec layers; ``mamba_impl="mdaf_surrogate"`` is the seed's non-scanning branch, **not a
  state-space model**) or :class:`~attnzoo_mdaf.branches.BSTBranch`, both reading the same
  field tables; projected to d_model when its width differs.
- **Gate**, exactly as the seed's code computes it:
  ``g = sigmoid(Linear(Dropout(ReLU(Linear([h_static || h_seq])))))`` (B, 1) and
  ``h = g * h_static + (1 - g) * h_seq``: **g is the share of the static branch** (the seed's
  paper and README read it the other way round).
- **Prediction head**: Linear(d, 128) -> ReLU -> Dropout -> Linear(128, 64) -> ReLU -> Dropout ->
  Linear(64, 1), xavier-uniform (the seed's); the click logit.

Outputs: ``logits`` and ``gate`` (B,); with ``aux_heads`` also ``logit_static`` and
``logit_seq`` (Tri-BCE auxiliary heads, off by default as in the seed). The loss is BCE (or
Tri-BCE with the auxiliary heads) plus FuxiCTR's embedding L2. ``epoch_summaries`` asks the
training loop to log the validation gate's mean/std/min/max every epoch.
"""

from __future__ import annotations

import torch
from torch import nn

from attnzoo.nn import FieldEmbeddings, bce_with_embedding_l2
from attnzoo_mdaf.branches import BSTBranch, MambaBranch
from attnzoo_mdaf.config import MDAFConfig
from attnzoo_mdaf.dcnv3 import DCNv3Encoder, field_vectors, init_linears_fuxictr, n_fields, tri_bce
from attnzoo_mdaf.scan import export_blocker

#: what the loop's per-epoch gate statistics mean
GATE_MEANING = "g = share of the static (DCNv3) branch in h = g*h_static + (1-g)*h_seq"


def _xavier_uniform(module: nn.Module) -> None:
    """The seed's init of its gate and head: xavier-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class GatedFusion(nn.Module):
    """``g = sigmoid(MLP([a || b]))``, ``h = g * a + (1 - g) * b``; returns (h, g (B, 1))."""

    def __init__(self, dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * dim, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, 1)
        )
        _xavier_uniform(self.net)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.sigmoid(self.net(torch.cat([a, b], dim=-1)))
        return g * a + (1 - g) * b, g


def prediction_head(dim: int, units: list[int], dropout: float) -> nn.Sequential:
    """Per hidden width: Linear -> ReLU -> Dropout; then Linear(., 1)."""
    layers: list[nn.Module] = []
    for width in units:
        layers += [nn.Linear(dim, width), nn.ReLU(), nn.Dropout(dropout)]
        dim = width
    layers.append(nn.Linear(dim, 1))
    head = nn.Sequential(*layers)
    _xavier_uniform(head)
    return head


class MDAF(nn.Module):
    """Batches follow :class:`attnzoo.config.CTRConfig`; returns ``logits`` and ``gate`` (B,)."""

    #: per-example outputs the training loop summarises on validation each epoch
    epoch_summaries = {"gate": GATE_MEANING}

    def __init__(self, config: MDAFConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.embeddings = FieldEmbeddings(config, config.embedding_dim * config.num_heads)
        self.branch = self._branch(config)
        self.static_fields = n_fields(config, self.branch.names)
        self.encoder = DCNv3Encoder(config, self.static_fields)
        width = self.encoder.dim * config.num_heads  # return_embedding, flattened over heads
        self.static_proj = nn.Sequential(
            nn.Linear(width, d), nn.ReLU(), nn.Dropout(config.static_dropout)
        )
        init_linears_fuxictr(self.static_proj)
        self.seq_proj: nn.Module = (
            nn.Linear(self.branch.out_dim, d) if self.branch.out_dim != d else nn.Identity()
        )
        init_linears_fuxictr(self.seq_proj)
        self.fusion = GatedFusion(d, config.gate_dropout)
        self.head = prediction_head(d, config.head_units, config.head_dropout)
        if config.aux_heads:
            self.static_head = nn.Linear(d, 1)
            self.seq_head = nn.Linear(d, 1)
            init_linears_fuxictr(self.static_head)
            init_linears_fuxictr(self.seq_head)

    def _branch(self, config: MDAFConfig) -> MambaBranch | BSTBranch:
        if config.seq_branch == "bst":
            return BSTBranch(
                self.embeddings,
                config,
                n_heads=config.bst_heads,
                n_layers=config.bst_layers,
                dropout=config.bst_dropout,
                variant=config.bst_variant,
                attention_dropout=config.bst_dropout,
            )
        return MambaBranch(
            self.embeddings,
            config,
            d_model=config.d_model,
            n_layers=config.mamba_layers,
            dropout=config.mamba_dropout,
            d_state=config.d_state,
            d_conv=config.d_conv,
            expand=config.expand,
            impl=config.mamba_impl,
            reinit_inner=config.reinit_inner,
            pooling=config.pooling,
        )

    def static_embedding(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """DCNv3's ``return_embedding``: (x_ECN + x_LCN) / 2, flattened -> (B, H * D)."""
        fields = field_vectors(self.embeddings, self.config, batch, self.branch.names)
        x_ecn, x_lcn = self.encoder(fields)
        return ((x_ecn + x_lcn) * 0.5).flatten(1)

    def onnx_export_blocker(self) -> str | None:
        if self.config.seq_branch != "mamba":
            return None
        return export_blocker(self.config.mamba_impl, "mamba_impl")

    def forward(
        self,
        categorical: torch.Tensor,
        numeric: torch.Tensor,
        sequences: torch.Tensor,
        sequence_mask: torch.Tensor,
        **_: object,
    ) -> dict[str, torch.Tensor]:
        batch = {
            "categorical": categorical,
            "numeric": numeric,
            "sequences": sequences,
            "sequence_mask": sequence_mask,
        }
        h_static = self.static_proj(self.static_embedding(batch))
        h_seq = self.seq_proj(self.branch(batch))
        h, g = self.fusion(h_static, h_seq)
        out = {"logits": self.head(h).squeeze(-1), "gate": g.squeeze(-1)}
        if self.config.aux_heads:
            out["logit_static"] = self.static_head(h_static).squeeze(-1)
            out["logit_seq"] = self.seq_head(h_seq).squeeze(-1)
        return out

    def compute_loss(self, outputs: dict[str, torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if not cfg.aux_heads:
            return bce_with_embedding_l2(
                outputs["logits"], labels, [self.embeddings], cfg.embedding_regularizer
            )
        loss = tri_bce(outputs["logits"], [outputs["logit_static"], outputs["logit_seq"]], labels)
        if cfg.embedding_regularizer:
            loss = loss + (cfg.embedding_regularizer / 2) * self.embeddings.l2()
        return loss
