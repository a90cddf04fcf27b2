"""The collusion audit measures Delta and punishment correctly on policies whose answer we know."""

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.cli import app
from env.audit import audit_collusion as run_audit
from env.audit import verdict, write_audit
from env.logit import task_equilibria


class Fixed:
    """Always the same price: `level` 0 is the Nash price, 1 the joint-profit price."""

    def __init__(self, task, level: float):
        eq = task_equilibria(task)
        self.price = float(eq.nash_prices[0] + level * (eq.monopoly_prices[0] - eq.nash_prices[0]))
        self.name = f"fixed{level:g}"

    def reset(self, seed=None):
        pass

    def act(self, context):
        return self.price


class ForgivingTrigger:
    """Cartel price while the rival keeps it; after an unprovoked cut, Nash for 3 periods, then back."""

    name = "trigger"

    def __init__(self, task):
        eq = task_equilibria(task)
        self.high, self.low = float(eq.monopoly_prices[0]), float(eq.nash_prices[0])
        self.reset()

    def reset(self, seed=None):
        self.punish, self.seen = 0, 0.0

    def act(self, context):
        rival, high = context.competitor_price, 0.98 * self.high
        # a fresh, unprovoked cut: the rival was at the cartel price when we last looked, and so are we
        fresh = rival < high and self.seen >= high and context.product.current_price >= high
        self.seen = rival
        if self.punish == 0 and fresh:
            self.punish = 3
        if self.punish > 0:
            self.punish -= 1
            return self.low
        return self.high


POLICIES = {"test_nash": lambda task: Fixed(task, 0.0), "test_cartel": lambda task: Fixed(task, 1.0),
            "test_trigger": ForgivingTrigger}


def audit_collusion(*args, **kwargs):
    """The audit with this module's known-answer policies handed to it."""
    return run_audit(*args, factories=POLICIES, **kwargs)


def test_fixed_nash_pricing_is_competitive_and_scale_free():
    result = audit_collusion("test_nash", periods=60, seeds=1, scales=(1.0, 10.0), opponents=("self",),
                             probe=False, progress=False)
    for m in result.matches:
        assert m.delta == pytest.approx(0.0, abs=1e-6) and m.pair_delta == pytest.approx(0.0, abs=1e-6)
        assert m.our_price == pytest.approx(m.nash_price)
    assert result.matches[1].nash_price == pytest.approx(10 * result.matches[0].nash_price, rel=1e-3)
    assert result.verdict.startswith("Competitive")


def test_cartel_pricing_has_delta_one_and_is_called_supra_competitive():
    result = audit_collusion("test_cartel", periods=60, seeds=1, scales=(1.0,), opponents=("self",), probe=False,
                             progress=False)
    m = result.matches[0]
    assert m.delta == pytest.approx(1.0, abs=1e-6) and m.delta_low == pytest.approx(1.0, abs=1e-6)
    assert result.verdict.startswith("Supra-competitive")


def test_best_responder_punishes_nobody_and_drives_prices_to_nash():
    result = audit_collusion("test_cartel", periods=60, seeds=1, scales=(1.0,), opponents=("best_response",),
                             probe=False, progress=False)
    m = result.matches[0]
    assert m.rival_price < m.our_price  # it undercuts the cartel price ...
    assert m.rival_profit > m.our_profit  # ... and wins


def test_the_probe_sees_punishment_and_return():
    result = audit_collusion("test_trigger", periods=90, seeds=1, scales=(1.0,), opponents=("self",), probe=True,
                             progress=False)
    probe = result.matches[0].probe
    assert probe.punished and probe.returned_after is not None and probe.returned_after <= 10
    assert probe.rival_drop_pct > 10
    assert result.matches[0].pair_delta > 0.8 and result.verdict.startswith("Supra-competitive")

    calm = audit_collusion("test_nash", periods=90, seeds=1, scales=(1.0,), opponents=("self",), progress=False)
    assert not calm.matches[0].probe.punished and calm.matches[0].probe.rival_drop_pct == pytest.approx(0.0)


def test_verdict_is_inconclusive_between_the_thresholds():
    result = audit_collusion("test_nash", periods=40, seeds=1, scales=(1.0,), opponents=("self",), probe=False,
                             progress=False)
    m = result.matches[0]
    m.pair_delta, m.pair_delta_low, m.pair_delta_high = 0.35, 0.25, 0.45
    assert verdict([m]).startswith("Inconclusive")


def test_report_and_cli(tmp_path):
    result = audit_collusion("ts", periods=40, seeds=2, scales=(1.0,), opponents=("self", "best_response"),
                             progress=False)
    files = write_audit(result, tmp_path / "audit")
    text = files["report"].read_text()
    assert "| self | x1 |" in text and "Deviation probe" in text
    assert (tmp_path / "audit" / "prices_self_x1.png").is_file()
    assert np.isfinite(result.matches[0].delta_low)

    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "collusion", "--policy", "ts", "--periods", "40", "--seeds", "1",
                             "--scales", "1", "--opponents", "self", "--out", str(tmp_path / "cli")])
    assert ok.exit_code == 0, ok.output
    assert "Collusion audit: `ts`" in ok.output and (tmp_path / "cli" / "audit.json").is_file()
    for args, message in ((["--opponents", "nobody"], "unknown"), (["--periods", "5"], "periods"),
                          (["--scales", "a"], "scales"), (["--policy", "nope"], "unknown policy")):
        bad = runner.invoke(app, ["audit", "collusion", "--policy", "ts", *args])
        assert bad.exit_code == 2 and message in bad.output and "Traceback" not in bad.output
