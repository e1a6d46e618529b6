from __future__ import annotations

import pytest
from baselines_helpers import sample_seqs


@pytest.fixture
def seqs() -> list[list[int]]:
    """Three random sequences of lengths 3, 7 and 11 (ids 1..VOCAB-1; 0 is padding)."""
    return sample_seqs()
