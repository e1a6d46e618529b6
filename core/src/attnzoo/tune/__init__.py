"""Equal-budget hyper-parameter search with Optuna (``attnzoo tune``).

A model's plugin declares its search space next to its presets (``ModelSpec.search_space``);
a study maximises (or minimises) the *validation* metric the run monitors, prunes trials on
their validation curves, and lives in SQLite inside the tune folder, so a killed search resumes.
"""

from attnzoo.tune.space import Dim, search_space_for
from attnzoo.tune.study import TuneResult, tune

__all__ = ["Dim", "TuneResult", "search_space_for", "tune"]
