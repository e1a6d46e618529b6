"""attnzoo-keras: the ``tensorflow`` engine, training Keras 3 models (on the TensorFlow
backend) behind core's one loop.

Importing this package imports no framework; ``attnzoo_keras.backend``,
``attnzoo_keras.engine`` and ``attnzoo_keras.on_tensorflow`` do.
"""

__version__ = "0.1.0"
