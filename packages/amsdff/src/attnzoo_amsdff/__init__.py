"""attnzoo-amsdff: multi-scale dynamic feature fusion (AMSDFF) over a Hugging Face encoder.

Importing this package imports neither torch nor transformers; the network lives in
:mod:`attnzoo_amsdff.model`.
"""

__version__ = "0.1.0"
