"""attnzoo-atrt: ATRT zone-scaled attention (Keras 3 on TensorFlow).

Importing this package imports no framework; ``attnzoo_atrt.model`` and ``attnzoo_atrt.layers``
do. Training, saving and loading are the ``tensorflow`` engine's (attnzoo-tensorflow).
"""

__version__ = "0.1.0"
