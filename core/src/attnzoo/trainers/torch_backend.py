"""The torch backend: Hugging Face Accelerate, so one CPU, several GPUs (DDP) and several
nodes (``accelerate launch`` / ``torchrun``) run the same loop.

The loop knows no architecture: ``outputs = model(**inputs)``; the loss is the model's
``compute_loss(outputs, labels)`` if it has one, else the configured loss on ``logits``.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attnzoo.interrupts import StopRequest, interrupted
from attnzoo.io import atomic_dir, atomic_write_json
from attnzoo.losses import build_loss, probabilities
from attnzoo.metrics import compute_metrics
from attnzoo.progress import epoch_progress
from attnzoo.training import make_early_stopping, prefixed, stop_reason

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


def _guard_against_triton_after_tensorflow() -> None:
    """TensorFlow and triton each bundle LLVM; importing triton after TensorFlow aborts the
    process ("option registered more than once"). torch imports triton lazily (for
    ``use_deterministic_algorithms`` and ``torch.compile``), so when TensorFlow came first we
    block triton: torch then runs without it (the CPU never needs it; ``train.compile`` on
    CUDA would, in such a process)."""
    import sys

    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        logger.info("TensorFlow is loaded: blocking triton in this process (LLVM clash).")
        sys.modules["triton"] = None  # type: ignore[assignment]


class TorchBackend:
    framework = "torch"
    weights_file = "model.safetensors"

    # -- building, saving, loading ------------------------------------------------------
    def seed(self, seed: int) -> None:
        """Seed python, numpy and torch before the model is built (so init is reproducible)."""
        from accelerate.utils import set_seed

        _guard_against_triton_after_tensorflow()
        set_seed(seed)

    def build_model(self, spec: Any, config: Any) -> torch.nn.Module:
        model = spec.load_factory()(config)
        if not isinstance(model, torch.nn.Module):
            raise TypeError(
                f"{spec.factory} built a {type(model).__name__}, not a torch.nn.Module."
            )
        return model

    def save_weights(self, model: torch.nn.Module, model_dir: Path) -> Path:
        from safetensors.torch import save_model

        from attnzoo.io import atomic_write

        path = Path(model_dir) / self.weights_file
        model = getattr(model, "module", model)  # unwrap DDP
        atomic_write(path, lambda tmp: save_model(model, tmp, metadata={"format": "pt"}))
        return path

    def load_weights(self, model: torch.nn.Module, model_dir: Path) -> None:
        from safetensors.torch import load_model

        missing, unexpected = load_model(
            getattr(model, "module", model), str(Path(model_dir) / self.weights_file), strict=False
        )
        if missing or unexpected:
            from attnzoo.errors import CheckpointError

            raise CheckpointError(
                f"{model_dir / self.weights_file} does not match the model built from config.json: "
                f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}."
            )

    def num_parameters(self, model: torch.nn.Module) -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    @torch.no_grad()
    def predict_proba(
        self, model: torch.nn.Module, batches: Any, device: str | torch.device | None = None
    ) -> np.ndarray:
        model.eval()
        device = device or next(model.parameters()).device
        out = []
        for batch in batches:
            inputs = {k: torch.as_tensor(v).to(device) for k, v in batch.items() if k != "labels"}
            out.append(probabilities(model(**inputs)["logits"]).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)

    # -- training -----------------------------------------------------------------------
    def fit(self, run: Any, model: torch.nn.Module, data: Any) -> dict[str, Any]:
        from accelerate import Accelerator
        from accelerate.utils import set_seed

        from attnzoo.trainers.optim import build_scheduler, param_groups

        _guard_against_triton_after_tensorflow()
        cfg = run.config.train
        mixed = cfg.mixed_precision
        if mixed != "no" and not torch.cuda.is_available():
            logger.warning(
                "mixed_precision=%s needs CUDA; training in full precision on the CPU.", mixed
            )
            mixed = "no"
        accelerator = Accelerator(
            mixed_precision=mixed,
            gradient_accumulation_steps=cfg.grad_accum,
            cpu=not torch.cuda.is_available(),
        )
        set_seed(cfg.seed, deterministic=cfg.deterministic)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)

        optimizer = torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr, betas=cfg.betas)
        n_train = data.num_examples("train")
        steps_per_epoch = math.ceil(
            math.ceil(n_train / cfg.batch_size) / accelerator.num_processes / cfg.grad_accum
        )
        total_steps = cfg.max_steps or steps_per_epoch * cfg.epochs
        scheduler = build_scheduler(optimizer, cfg, total_steps)
        per_step = not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        model, optimizer = accelerator.prepare(model, optimizer)
        if cfg.compile:
            model = torch.compile(model)  # type: ignore[assignment]
        loss_fn = build_loss(cfg.loss)
        own_loss = getattr(accelerator.unwrap_model(model), "compute_loss", None)
        stopper = make_early_stopping(cfg.monitor, cfg.early_stopping_patience)

        progress: dict[str, Any] = {"epoch": 1, "step_in_epoch": 0, "global_step": 0}
        if run.resumed and (run.state_dir / "trainer.json").exists():
            saved = read_state(run.state_dir, accelerator, model, optimizer, scheduler)
            progress = saved["progress"]
            stopper.load_state_dict(saved["early_stopping"])
            logger.info(
                "Resuming %s at epoch %d, step %d.",
                run.dir,
                progress["epoch"],
                progress["step_in_epoch"],
            )

        def save_state() -> None:
            def _write(tmp: Path) -> None:
                write_state(tmp, accelerator, model, optimizer)
                atomic_write_json(
                    tmp / "trainer.json",
                    {
                        "progress": progress,
                        "early_stopping": stopper.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "scaler": accelerator.scaler.state_dict() if accelerator.scaler else None,
                    },
                )

            if accelerator.is_main_process:
                atomic_dir(run.state_dir, _write)
                run.checkpoint_saved(run.state_dir)
            accelerator.wait_for_everyone()

        writer = _tensorboard(run) if accelerator.is_main_process else None
        eval_bs = cfg.eval_batch_size or 2 * cfg.batch_size
        final_reason = "completed"
        done = progress["global_step"] >= total_steps or stopper.should_stop
        with StopRequest() as stop:  # Ctrl-C: finish the step, save state, raise
            while not done and progress["epoch"] <= cfg.epochs:
                epoch = progress["epoch"]
                # resuming mid-epoch: drop the batches already consumed from this epoch's fixed order
                skip = (
                    progress["step_in_epoch"]
                    * cfg.grad_accum
                    * cfg.batch_size
                    * accelerator.num_processes
                )
                loader = torch.utils.data.DataLoader(
                    _Indices(n_train),
                    batch_size=cfg.batch_size,
                    sampler=_EpochSampler(n_train, cfg.seed, epoch, shuffle=True, skip=skip),
                    collate_fn=lambda idx: to_tensors(data.collate("train", idx)),
                    num_workers=cfg.num_workers,
                    # its own generator: creating an iterator must not draw from the global RNG,
                    # or a resumed epoch would get different dropout masks
                    generator=torch.Generator().manual_seed(cfg.seed + epoch),
                )
                loader = _shard(accelerator, loader)
                model.train()
                # a resumed epoch continues the running loss of the batches done before the kill
                loss_sum = torch.tensor(progress.get("loss_sum", 0.0), device=accelerator.device)
                correct = torch.tensor(progress.get("correct", 0), device=accelerator.device)
                seen = progress.get("seen", 0)  # training examples of this epoch before a resume
                n_batches, n_samples, n_tokens = progress.get("batches", 0), 0, 0
                t0 = time.perf_counter()
                bar = epoch_progress(
                    cfg.progress and accelerator.is_main_process, epoch, cfg.epochs, len(loader)
                )
                for batch in loader:
                    labels = batch.pop("labels")
                    with accelerator.accumulate(model):
                        with accelerator.autocast():
                            outputs = model(**batch)
                            loss = (
                                own_loss(outputs, labels)
                                if own_loss
                                else loss_fn(outputs["logits"], labels)
                            )
                        if not torch.isfinite(loss):
                            raise FloatingPointError(
                                f"Loss became {loss.item()} at epoch {epoch}, step {progress['global_step']}: lower train.lr or enable train.grad_clip."
                            )
                        accelerator.backward(loss)
                        if accelerator.sync_gradients and cfg.grad_clip:
                            accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                    loss_sum += loss.detach()
                    correct += _num_correct(outputs["logits"].detach(), labels)
                    n_batches += 1
                    n_samples += labels.shape[0]
                    n_tokens += (
                        int(batch["attention_mask"].sum()) if "attention_mask" in batch else 0
                    )
                    if accelerator.sync_gradients:
                        if per_step:
                            scheduler.step()
                        progress["global_step"] += 1
                        progress["step_in_epoch"] += 1
                        every = cfg.save_every_steps
                        stopping = _stop_requested(accelerator, stop)
                        if stopping or (every and progress["global_step"] % every == 0):
                            progress.update(
                                loss_sum=loss_sum.item(),
                                batches=n_batches,
                                correct=int(correct),
                                seen=seen + n_samples,
                            )
                            save_state()
                        if stopping:
                            raise interrupted(run, epoch, progress["global_step"])
                        if progress["global_step"] >= total_steps:
                            break
                    if bar is not None:
                        bar.update(loss.item(), labels.shape[0])
                if bar is not None:
                    bar.close()
                elapsed = time.perf_counter() - t0
                train_loss = accelerator.reduce(loss_sum, "mean").item() / max(n_batches, 1)
                # running accuracy over the epoch's batches in train mode (dropout on), as Keras reports it
                total_seen = (seen + n_samples) * accelerator.num_processes
                train_accuracy = accelerator.reduce(correct, "sum").item() / max(total_seen, 1)

                probs, labels_np = self._evaluate(accelerator, model, data, "validation", eval_bs)
                val = compute_metrics(
                    cfg.metrics, labels_np, probs, groups=data.groups("validation")
                )
                improved = stopper.update(val[cfg.monitor], epoch)
                if not per_step:
                    scheduler.step(val[cfg.monitor])
                row = {
                    "train_loss": train_loss,
                    "train_accuracy": train_accuracy,
                    **prefixed(val, "val"),
                    "lr": optimizer.param_groups[0]["lr"],
                    "samples_per_s": n_samples * accelerator.num_processes / max(elapsed, 1e-9),
                    "tokens_per_s": n_tokens * accelerator.num_processes / max(elapsed, 1e-9),
                    "epoch_seconds": elapsed,
                    "global_step": progress["global_step"],
                    "best": improved,
                }
                if accelerator.is_main_process:
                    if improved:
                        run.save_model(accelerator.unwrap_model(model), self)
                    run.log_epoch(epoch, row)
                    if writer is not None:
                        writer.add_scalars(row, epoch)
                progress = {
                    "epoch": epoch + 1,
                    "step_in_epoch": 0,
                    "global_step": progress["global_step"],
                }
                save_state()
                if _stop_requested(accelerator, stop):
                    raise interrupted(run, epoch, progress["global_step"])
                reason = stop_reason(stopper, progress["global_step"], total_steps, cfg.max_steps)
                if reason is not None:
                    final_reason, done = reason, True
        if writer is not None:
            writer.close()
        accelerator.wait_for_everyone()
        self.load_weights(accelerator.unwrap_model(model), run.model_dir)
        return {
            "best_epoch": stopper.best_epoch,
            "best_val": {cfg.monitor: stopper.best},
            "stop_reason": final_reason,
            "global_step": progress["global_step"],
        }

    def _evaluate(
        self, accelerator: Any, model: torch.nn.Module, data: Any, split: str, batch_size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        n = data.num_examples(split)
        loader = torch.utils.data.DataLoader(
            _Indices(n),
            batch_size=batch_size,
            shuffle=False,
            collate_fn=lambda idx: to_tensors(data.collate(split, idx)),
            generator=torch.Generator(),  # leave the global RNG untouched
        )
        loader = _shard(accelerator, loader)
        model.eval()
        probs, labels = [], []
        with torch.no_grad():
            for batch in loader:
                y = batch.pop("labels")
                with accelerator.autocast():
                    p = probabilities(model(**batch)["logits"])
                p, y = accelerator.gather_for_metrics((p, y))
                probs.append(p.float().cpu().numpy())
                labels.append(y.cpu().numpy())
        model.train()
        return np.concatenate(probs), np.concatenate(labels)


def _stop_requested(accelerator: Any, stop: StopRequest) -> bool:
    """Whether any process got a Ctrl-C (all must save and stop at the same step)."""
    if accelerator.num_processes == 1:
        return stop.requested
    flag = torch.tensor(int(stop.requested), device=accelerator.device)
    return bool(accelerator.reduce(flag, "sum").item())


def write_state(tmp: Path, accelerator: Any, model: Any, optimizer: Any) -> None:
    """Model, optimizer and RNG state as safetensors + JSON (no pickle; see torch_state)."""
    from attnzoo.trainers import torch_state

    torch_state.save_model_state(accelerator.unwrap_model(model), tmp)
    torch_state.save_optimizer(optimizer, tmp)
    torch_state.save_rng(tmp)


def read_state(
    state_dir: Path, accelerator: Any, model: Any, optimizer: Any, scheduler: Any
) -> dict[str, Any]:
    """Restore what :func:`write_state` wrote; refuse any pickle before reading anything."""
    from attnzoo.state import check_state_dir
    from attnzoo.trainers import torch_state

    check_state_dir(state_dir)
    saved: dict[str, Any] = torch_state._read_json(state_dir / "trainer.json")
    torch_state.load_model_state(accelerator.unwrap_model(model), state_dir)
    torch_state.load_optimizer(optimizer, state_dir)
    if saved.get("scheduler") is not None:
        scheduler.load_state_dict(saved["scheduler"])
    if saved.get("scaler") is not None and accelerator.scaler is not None:
        accelerator.scaler.load_state_dict(saved["scaler"])
    torch_state.load_rng(state_dir)
    return saved


def _num_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if logits.dim() == 2 and logits.shape[-1] > 1:
        return (logits.argmax(-1) == labels).sum()
    return ((logits.reshape(-1) > 0).long() == labels).sum()


def _shard(accelerator: Any, loader: torch.utils.data.DataLoader) -> Any:
    """Shard a loader across processes and move batches to the device, without registering it
    for accelerate's checkpointing (the trainer resumes by (seed, epoch, step) itself)."""
    from accelerate.data_loader import prepare_data_loader

    return prepare_data_loader(
        loader,
        device=accelerator.device,
        num_processes=accelerator.num_processes,
        process_index=accelerator.process_index,
        put_on_device=True,
    )


def _tensorboard(run: Any) -> Any:
    from attnzoo.tensorboard import ScalarWriter

    return ScalarWriter(run.tb_dir)
