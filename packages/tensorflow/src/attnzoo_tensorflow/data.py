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
    sizes: dict[int, tuple[int, int]],
    replicas: int = 1,
) -> tf.data.Dataset:
    """Batches ``skip .. skip + limit`` of the epoch's shuffled order, as ``(inputs, labels)``.

    Each batch is padded to its own longest sequence (core's ``collate``), so shapes vary:
    ``from_generator`` with ``(None, None)`` specs. ``sizes`` receives each batch's examples
    and non-padding tokens by its index in the epoch: ``tf.distribute`` runs the generator more
    than once (a ``MirroredStrategy`` epoch read 3 batches beyond the 9 it trained on), so a
    running count would overstate the samples; the engine sums the batches it trained.
    """

    def generate() -> Any:
        for i, batch in enumerate(
            data.batches("train", batch_size, shuffle=True, seed=seed, epoch=epoch)
        ):
            if i < skip:
                continue
            if i >= skip + limit:
                return
            sizes[i] = (len(batch["labels"]), int(batch["attention_mask"].sum()))
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
