"""attnzoo-atrt: ATRT zone-scaled attention (Keras 3 / TensorFlow) and the ``tensorflow`` trainer.

Importing this package imports no framework; ``attnzoo_atrt.model`` and ``attnzoo_atrt.backend``
do.
"""

__version__ = "0.1.0"
