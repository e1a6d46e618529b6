"""attnzoo-tensorflow: the ``tensorflow`` engine, training Keras 3 models (on the TensorFlow
backend) behind core's one loop.

Importing this package imports no framework; ``attnzoo_tensorflow.backend``,
``attnzoo_tensorflow.engine`` and ``attnzoo_tensorflow.on_tensorflow`` do.
"""

__version__ = "0.1.0"
