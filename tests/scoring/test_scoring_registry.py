from __future__ import annotations

import pytest

from evalcliff.errors import EvalcliffError
from evalcliff.scoring import SCORERS, Score, get_scorer, score_exact


def test_registry_names() -> None:
    assert set(SCORERS) == {"exact", "contains", "numeric", "script", "code"}
    assert get_scorer("exact") is score_exact


def test_unknown_scorer_lists_known_names() -> None:
    with pytest.raises(EvalcliffError, match="code, contains, exact, numeric, script"):
        get_scorer("bleu")


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf")])
def test_score_rejects_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError):
        Score(bad, False, False)


def test_score_is_frozen() -> None:
    s = Score(1, True, False)
    assert s.score == 1.0 and isinstance(s.score, float)
    with pytest.raises(AttributeError):
        s.score = 0.0  # type: ignore[misc]
