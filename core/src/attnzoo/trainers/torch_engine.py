"""The torch engine behind the shared loop: Hugging Face Accelerate, so one CPU, several GPUs
(DDP) and several nodes (``accelerate launch`` / ``torchrun``) run the same epoch.

It knows no architecture: ``outputs = model(**inputs)``; the loss is the model's
``compute_loss(outputs, labels)`` if it has one, else the configured loss on ``logits``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attnzoo.losses import build_loss, probabilities
from attnzoo.trainers.loop import EpochPlan, EpochStats

logger = logging.getLogger(__name__)


class _Indices(torch.utils.data.Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


class _EpochSampler(torch.utils.data.Sampler[int]):
    """A fixed permutation for (seed, epoch): the same on every resume, independent of RNG state."""

    def __init__(self, n: int, seed: int, epoch: int, shuffle: bool, skip: int = 0) -> None:
        order = np.random.default_rng([seed, epoch]).permutation(n) if shuffle else np.arange(n)
        self.order = order[skip:]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.order.tolist())

    def __len__(self) -> int:
        return len(self.order)


def to_tensors(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in batch.items()}


class TorchEngine:
    """:class:`attnzoo.trainers.loop.Engine` for a ``torch.nn.Module``."""

    def __init__(self, backend: Any, cfg: Any, model: torch.nn.Module, data: Any) -> None:
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        mixed = cfg.mixed_precision
        if mixed != "no" and not torch.cuda.is_available():
            logger.warning(
                "mixed_precision=%s needs CUDA; training in full precision on the CPU.", mixed
            )
            mixed = "no"
        self.accelerator = Accelerator(
            mixed_precision=mixed,
            gradient_accumulation_steps=cfg.grad_accum,
            cpu=not torch.cuda.is_available(),
        )
        set_seed(cfg.seed, deterministic=cfg.deterministic)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.backend, self.cfg, self.model, self.data = backend, cfg, model, data
        self.is_main = self.accelerator.is_main_process
        self.n_train = data.num_examples("train")
        batches = math.ceil(
            math.ceil(self.n_train / cfg.batch_size) / self.accelerator.num_processes
        )
        self.steps_per_epoch = math.ceil(batches / cfg.grad_accum)
        self.scheduler: Any = None

    def prepare(self, total_steps: int) -> None:
        from attnzoo.trainers.optim import build_scheduler, param_groups

        cfg = self.cfg
        optimizer = torch.optim.AdamW(param_groups(self.model, cfg), lr=cfg.lr, betas=cfg.betas)
        if cfg.scheduler != "plateau":  # the loop runs the plateau rule
            self.scheduler = build_scheduler(optimizer, cfg, total_steps)
        self.model, self.optimizer = self.accelerator.prepare(self.model, optimizer)
        if cfg.compile:
            self.model = torch.compile(self.model)  # type: ignore[assignment]
        self.loss_fn = build_loss(cfg.loss)
        self.own_loss = getattr(self.model_to_save(), "compute_loss", None)

    # -- one epoch ------------------------------------------------------------------------
    def _loader(self, epoch: int, skip_steps: int) -> Any:
        cfg, acc, data = self.cfg, self.accelerator, self.data
        # resuming mid-epoch: drop the batches already consumed from this epoch's fixed order
        skip = skip_steps * cfg.grad_accum * cfg.batch_size * acc.num_processes
        loader = torch.utils.data.DataLoader(
            _Indices(self.n_train),
            batch_size=cfg.batch_size,
            sampler=_EpochSampler(self.n_train, cfg.seed, epoch, shuffle=True, skip=skip),
            collate_fn=lambda idx: to_tensors(data.collate("train", idx)),
            num_workers=cfg.num_workers,
            # its own generator: creating an iterator must not draw from the global RNG,
            # or a resumed epoch would get different dropout masks
            generator=torch.Generator().manual_seed(cfg.seed + epoch),
        )
        return _shard(acc, loader)

    def _loss(self, batch: dict[str, torch.Tensor], labels: torch.Tensor) -> tuple[Any, Any]:
        with self.accelerator.autocast():
            outputs = self.model(**batch)
            if self.own_loss:
                return outputs, self.own_loss(outputs, labels)
            return outputs, self.loss_fn(outputs["logits"], labels)

    def train_epoch(self, plan: EpochPlan) -> EpochStats:
        acc, cfg, model = self.accelerator, self.cfg, self.model
        loader = self._loader(plan.epoch, plan.skip)
        model.train()
        # this process's sums over this call's batches; a resumed epoch adds the sums of the
        # batches done before the kill, saved already reduced over the processes (``carry``)
        loss_sum = torch.zeros((), device=acc.device)
        correct = torch.zeros((), dtype=torch.long, device=acc.device)
        seen = plan.carry.get("seen", 0)  # training examples of this epoch before a resume
        n_batches, n_samples, n_tokens = plan.carry.get("batches", 0), 0, 0
        bar = plan.bar(len(loader))

        def running() -> dict[str, Any]:  # called on every process at the same steps
            return {
                "loss_sum": plan.carry.get("loss_sum", 0.0) + acc.reduce(loss_sum, "mean").item(),
                "correct": plan.carry.get("correct", 0) + int(acc.reduce(correct, "sum").item()),
                "batches": n_batches,
                "seen": seen + n_samples,
            }

        for batch in loader:
            labels = batch.pop("labels")
            with acc.accumulate(model):
                outputs, loss = self._loss(batch, labels)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"Loss became {loss.item()} at epoch {plan.epoch}: lower train.lr or "
                        "enable train.grad_clip."
                    )
                acc.backward(loss)
                if acc.sync_gradients and cfg.grad_clip:
                    acc.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach()
            correct += _num_correct(outputs["logits"].detach(), labels)
            n_batches += 1
            n_samples += labels.shape[0]
            n_tokens += int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0
            if acc.sync_gradients:
                if self.scheduler is not None:
                    self.scheduler.step()
                if plan.on_step(running):
                    break
            if bar is not None:
                bar.update(loss.item(), labels.shape[0])
        if bar is not None:
            bar.close()
        # running accuracy over the epoch's batches in train mode (dropout on), as Keras reports it
        total_seen = (seen + n_samples) * acc.num_processes
        sums = running()
        return EpochStats(
            train_loss=sums["loss_sum"] / max(n_batches, 1),
            train_accuracy=sums["correct"] / max(total_seen, 1),
            samples=n_samples * acc.num_processes,
            tokens=n_tokens * acc.num_processes,
        )

    # -- validation, state, the loop's hooks -----------------------------------------------
    def validation_probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        cfg, acc, data, model = self.cfg, self.accelerator, self.data, self.model
        loader = torch.utils.data.DataLoader(
            _Indices(data.num_examples("validation")),
            batch_size=cfg.eval_batch_size or 2 * cfg.batch_size,
            shuffle=False,
            collate_fn=lambda idx: to_tensors(data.collate("validation", idx)),
            generator=torch.Generator(),  # leave the global RNG untouched
        )
        model.eval()
        probs, labels = [], []
        names = list(getattr(self.model_to_save(), "epoch_summaries", {}))
        extra: dict[str, list[np.ndarray]] = {n: [] for n in names}
        with torch.no_grad():
            for batch in _shard(acc, loader):
                y = batch.pop("labels")
                with acc.autocast():
                    outputs = model(**batch)
                    p = probabilities(outputs["logits"])
                p, y = acc.gather_for_metrics((p, y))
                probs.append(p.float().cpu().numpy())
                labels.append(y.cpu().numpy())
                for n in names:
                    extra[n].append(acc.gather_for_metrics(outputs[n]).float().cpu().numpy())
        model.train()
        #: per-example values the model names in ``epoch_summaries``, for the loop's metrics row
        self.validation_summaries = {n: np.concatenate(v).reshape(-1) for n, v in extra.items()}
        return np.concatenate(probs), np.concatenate(labels)

    def save_state(self, directory: Path) -> dict[str, Any]:
        """Model, optimizer and RNG state as safetensors + JSON (no pickle; see torch_state)."""
        from attnzoo.trainers import torch_state

        torch_state.save_model_state(self.model_to_save(), directory)
        torch_state.save_optimizer(self.optimizer, directory)
        torch_state.save_rng(directory)
        scaler = self.accelerator.scaler
        return {
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler else None,
        }

    def load_state(self, directory: Path, extras: dict[str, Any]) -> None:
        from attnzoo.trainers import torch_state

        torch_state.load_model_state(self.model_to_save(), directory)
        torch_state.load_optimizer(self.optimizer, directory)
        if extras.get("scheduler") is not None and self.scheduler is not None:
            self.scheduler.load_state_dict(extras["scheduler"])
        if extras.get("scaler") is not None and self.accelerator.scaler is not None:
            self.accelerator.scaler.load_state_dict(extras["scaler"])
        torch_state.load_rng(directory)

    def learning_rate(self) -> float:
        group = self.optimizer.param_groups[0]  # the base lr, before train.lr_multipliers
        return float(group["lr"] / group.get("lr_scale", 1.0))

    def scale_learning_rate(self, factor: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] *= factor

    def any_process(self, flag: bool) -> bool:
        acc = self.accelerator
        if acc.num_processes == 1:
            return flag
        total = acc.reduce(torch.tensor(int(flag), device=acc.device), "sum")
        return bool(total.item())

    def barrier(self) -> None:
        self.accelerator.wait_for_everyone()

    def model_to_save(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    def restore_best(self, model_dir: Path) -> None:
        self.backend.load_weights(self.model_to_save(), model_dir)


def _num_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if logits.dim() == 2 and logits.shape[-1] > 1:
        return (logits.argmax(-1) == labels).sum()
    return ((logits.reshape(-1) > 0).long() == labels).sum()


def _shard(accelerator: Any, loader: torch.utils.data.DataLoader) -> Any:
    """Shard a loader across processes and move batches to the device, without registering it
    for accelerate's checkpointing (the loop resumes by (seed, epoch, step) itself)."""
    from accelerate.data_loader import prepare_data_loader

    return prepare_data_loader(
        loader,
        device=accelerator.device,
        num_processes=accelerator.num_processes,
        process_index=accelerator.process_index,
        put_on_device=True,
    )
