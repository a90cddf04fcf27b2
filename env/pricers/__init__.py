"""Classical dynamic-pricing baselines, all implementing `env.context.Policy`.

`make_pricer(name, **kwargs)` builds one by name; `PRICER_NAMES` lists them in a fixed order
(the oracle, which knows the true market, lives in `env.oracle`).
"""

from __future__ import annotations

from collections.abc import Callable

from env.context import Policy
from env.pricers.cils import ConstrainedILS
from env.pricers.cost_plus import CostPlus
from env.pricers.ils import GreedyILS
from env.pricers.meta_ts import MetaPrior, MetaThompsonSampling, fit_meta_prior
from env.pricers.q_learning import QLearning
from env.pricers.thompson import ThompsonSampling, TSPrior
from env.pricers.ucb import UCB

_PRICERS: dict[str, Callable[..., Policy]] = {
    "cost_plus": CostPlus,
    "ils": GreedyILS,
    "cils": ConstrainedILS,
    "ts": ThompsonSampling,
    "meta_ts": MetaThompsonSampling,
    "ucb": UCB,
    "q_learning": QLearning,
}
PRICER_NAMES: tuple[str, ...] = tuple(_PRICERS)


def make_pricer(name: str, **kwargs: object) -> Policy:
    """A fresh pricer by name; keyword arguments go to its constructor."""
    if name not in _PRICERS:
        raise ValueError(f"unknown pricer '{name}' (choose from {', '.join(PRICER_NAMES)})")
    return _PRICERS[name](**kwargs)


__all__ = [
    "PRICER_NAMES",
    "UCB",
    "ConstrainedILS",
    "CostPlus",
    "GreedyILS",
    "MetaPrior",
    "MetaThompsonSampling",
    "QLearning",
    "TSPrior",
    "ThompsonSampling",
    "fit_meta_prior",
    "make_pricer",
]
