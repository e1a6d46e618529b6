"""The ``tf.distribute`` strategy of this process and which process writes files.

In order:

- ``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names several workers (one process per
  machine, each with its ``TF_CONFIG``);
- ``MirroredStrategy`` over N logical CPU devices when ``ATTNZOO_TF_CPU_REPLICAS=N`` (N > 1):
  data-parallel training without accelerators, for tests and CPU-only machines. It splits the
  physical CPU into N logical devices, which TensorFlow allows only before it initialises its
  devices (its first op), so the variable is set in the environment of the process;
- ``MirroredStrategy`` over the local GPUs when there are several;
- else the default strategy (one device).

Under every strategy ``train.batch_size`` is per replica, as in torch, and the global batch is
``batch_size x replicas`` (see :mod:`attnzoo_tensorflow.engine`).
"""

from __future__ import annotations

import json
import os

from attnzoo.errors import ConfigError
from attnzoo_tensorflow.on_tensorflow import tf

#: the environment variable that asks for N data-parallel replicas on the CPU
CPU_REPLICAS = "ATTNZOO_TF_CPU_REPLICAS"


def make_strategy() -> tf.distribute.Strategy:
    """The strategy for this process (see the module docstring)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    workers = len(tf_config.get("cluster", {}).get("worker", []))
    replicas = cpu_replicas()
    if workers > 1 and replicas > 1:
        raise ConfigError(
            f"TF_CONFIG names {workers} workers and {CPU_REPLICAS}={replicas}: "
            "MultiWorkerMirroredStrategy does not take logical CPU devices. Unset one of them."
        )
    if workers > 1:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if replicas > 1:
        return tf.distribute.MirroredStrategy(split_cpu(replicas))
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def cpu_replicas() -> int:
    """``ATTNZOO_TF_CPU_REPLICAS`` as a number of replicas (1 when unset or empty)."""
    value = os.environ.get(CPU_REPLICAS, "").strip()
    if not value:
        return 1
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(
            f"{CPU_REPLICAS}={value!r} is not a number of replicas: set it to a whole number "
            "of at least 1 (e.g. 2), or unset it."
        )
    return int(value)


def split_cpu(n: int) -> list[str]:
    """Split the CPU into ``n`` logical devices and return their names.

    TensorFlow fixes its logical devices when it initialises them (at its first op), so this
    must run before that; a process already split into ``n`` devices is accepted as it is
    (a second strategy in the same process, e.g. loading a model after training).
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    config = [tf.config.LogicalDeviceConfiguration() for _ in range(n)]
    try:
        tf.config.set_logical_device_configuration(cpu, config)
    except RuntimeError:  # TensorFlow's devices are initialised already
        if len(tf.config.list_logical_devices("CPU")) != n:
            raise ConfigError(
                f"{CPU_REPLICAS}={n} came too late: TensorFlow in this process has already "
                f"initialised {len(tf.config.list_logical_devices('CPU'))} CPU device(s), and "
                "logical devices can be set only before its first op. Set the variable in the "
                "environment that starts the process (e.g. "
                f"`{CPU_REPLICAS}={n} attnzoo train ...`), not from code that runs after "
                "TensorFlow has started."
            ) from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the one process that writes files (every process but MWMS's other workers)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker" and resolver.task_id == 0
    )
