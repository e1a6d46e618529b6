"""The training batches of one epoch as a ``tf.data.Dataset`` (core's numpy batches, in core's
shuffled order, so the torch and Keras engines see the same batches)."""

from __future__ import annotations

from typing import Any

from attnzoo_tensorflow.on_tensorflow import tf

INPUT_SPEC = {
    "input_ids": tf.TensorSpec((None, None), tf.int64),
    "attention_mask": tf.TensorSpec((None, None), tf.int64),
}


def train_dataset(
    data: Any,
    batch_size: int,
    seed: int,
    epoch: int,
    skip: int,
    limit: int,
    counts: dict[str, int],
    replicas: int = 1,
) -> tf.data.Dataset:
    """Batches ``skip .. skip + limit`` of the epoch's shuffled order, as ``(inputs, labels)``.

    Each batch is padded to its own longest sequence (core's ``collate``), so shapes vary:
    ``from_generator`` with ``(None, None)`` specs. ``counts`` receives samples and tokens.
    """

    def generate() -> Any:
        for i, batch in enumerate(
            data.batches("train", batch_size, shuffle=True, seed=seed, epoch=epoch)
        ):
            if i < skip:
                continue
            if i >= skip + limit:
                return
            counts["samples"] += len(batch["labels"])
            counts["tokens"] += int(batch["attention_mask"].sum())
            yield {k: batch[k] for k in INPUT_SPEC}, batch["labels"]

    dataset = tf.data.Dataset.from_generator(
        generate, output_signature=(INPUT_SPEC, tf.TensorSpec((None,), tf.int64))
    ).apply(tf.data.experimental.assert_cardinality(max(limit, 0)))
    if replicas > 1:  # one global batch per step, split across the replicas
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
    return dataset
