"""The torch engine's single training step: the scaling sweep times it, and
``attnzoo.testing.ModelConformance`` trains and checks gradients with it."""

from __future__ import annotations

import numpy as np
import torch

from attnzoo.config import LossConfig
from attnzoo.losses import build_loss


class TorchStepper:
    """AdamW steps on numpy batches with the configured loss (or the model's ``compute_loss``)."""

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        lr: float = 1e-4,
        loss: LossConfig | None = None,
        weight_decay: float = 0.01,
    ) -> None:
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).train()
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=lr, weight_decay=weight_decay
        )
        self.own_loss = getattr(model, "compute_loss", None)
        self.loss_fn = build_loss(loss or LossConfig())

    def _loss(self, batch: dict[str, np.ndarray]) -> torch.Tensor:
        inputs = {
            k: torch.as_tensor(v, device=self.device) for k, v in batch.items() if k != "labels"
        }
        labels = torch.as_tensor(batch["labels"], device=self.device)
        outputs = self.model(**inputs)
        if self.own_loss is not None:
            return self.own_loss(outputs, labels)  # type: ignore[no-any-return]
        return self.loss_fn(outputs["logits"], labels)

    def step(self, batch: dict[str, np.ndarray]) -> float:
        """One forward, backward and update; the loss (reading it waits for the device)."""
        loss = self._loss(batch)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.item())

    def gradients(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray | None]:
        """Each trainable parameter's gradient of the loss on ``batch`` (None: it got none)."""
        self.model.zero_grad(set_to_none=True)
        self._loss(batch).backward()
        grads = {
            n: (None if p.grad is None else p.grad.detach().float().cpu().numpy())
            for n, p in self.model.named_parameters()
            if p.requires_grad
        }
        self.model.zero_grad(set_to_none=True)
        return grads
