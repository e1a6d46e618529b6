import os

# Before TensorFlow is imported anywhere: quiet C++ logs, pin Keras to the TF backend.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
