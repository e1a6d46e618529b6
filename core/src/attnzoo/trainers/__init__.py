"""Training backends (one per framework). Core ships ``torch``."""
