"""Cost of ATRT's zone scaling over plain attention: forward + backward time per batch.

Prints numbers; asserts nothing. Run:
    .venv/bin/python packages/atrt/benchmarks/attention_overhead.py [--batch 32 --length 256]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from attnzoo_atrt.config import ATRTConfig
from attnzoo_atrt.model import ATRTClassifier
from attnzoo_tensorflow.on_tensorflow import keras, tf


def measure(attention: str, batch: int, length: int, repeats: int) -> float:
    keras.utils.set_random_seed(0)
    model = ATRTClassifier(ATRTConfig(vocab_size=20000, num_classes=2, attention=attention))
    rng = np.random.default_rng(0)
    inputs = {
        "input_ids": tf.constant(rng.integers(2, 20000, size=(batch, length)), tf.int64),
        "attention_mask": tf.ones((batch, length), tf.int64),
    }
    labels = tf.constant(rng.integers(0, 2, size=batch))

    @tf.function
    def step() -> tf.Tensor:
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return tape.gradient(loss, model.trainable_variables)[0]

    step()  # trace
    t0 = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    plain = measure("plain", args.batch, args.length, args.repeats)
    atrt = measure("atrt", args.batch, args.length, args.repeats)
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(f"devices={devices} batch={args.batch} length={args.length} (default atrt sizes)")
    print(
        f"plain: {plain * 1e3:.1f} ms/step   atrt: {atrt * 1e3:.1f} ms/step   "
        f"overhead x{atrt / plain:.2f}"
    )


if __name__ == "__main__":
    main()
