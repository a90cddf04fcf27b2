"""The ceiling study's learners on synthetic state tables: they must find a gain that is predictable and
leave the rule where the gain is noise (what bench/picker_ceiling.py's conclusion rests on)."""

import numpy as np

from bench.picker_ceiling import gap_breakdown, regressor_choices, values_of


def _table(n: int, seed: int, predictable: bool) -> list[dict]:
    """States with two candidates, the rule's (`loglinear`) and `linear`; linear is worth 0.2 more when the
    first toolbox feature is positive (predictable: half the states) or in a random 30% of states (noise: a
    loss on average), else 0.2 less."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        x = rng.normal(size=3)
        better = x[0] > 0 if predictable else rng.random() < 0.3
        rows.append({"toolbox": x.tolist(), "history": rng.normal(size=2).tolist(), "names": ["loglinear", "linear"],
                     "values": np.array([0.9, 1.1 if better else 0.7]), "rule": 0})
    return rows


def test_the_regressor_switches_where_the_features_predict_a_gain():
    train, test = _table(400, 0, True), _table(200, 1, True)
    picks = regressor_choices(train, test, with_history=False, seed=0)
    rule = values_of(test, np.zeros(len(test), dtype=int))
    assert values_of(test, picks).mean() > rule.mean() + 0.08  # the bound is +0.1 (half the states gain 0.2)


def test_the_regressor_keeps_the_rule_where_the_gain_is_noise():
    train, test = _table(400, 0, False), _table(200, 1, False)
    picks = regressor_choices(train, test, with_history=True, seed=0)
    assert np.mean(picks == 0) > 0.8


def test_gap_breakdown_shares_add_up_to_the_gap():
    table = [{"names": ["loglinear", "linear", "explore"], "values": np.array(v), "rule": 0}
             for v in ([0.9, 1.0, 0.8], [0.9, 0.8, 1.2], [1.0, 0.5, 0.5], [0.5, 0.5, 0.8])]
    text, top = gap_breakdown(table)
    lines = text.splitlines()
    assert lines[0].startswith("| loglinear → explore | 2 | 0.300 | 86% |")
    assert lines[1].startswith("| loglinear → linear | 1 | 0.100 | 14% |")
    assert abs(top - 0.3 / 0.7) < 1e-9  # one state of four is the top tenth (at least one): 0.3 of 0.7
