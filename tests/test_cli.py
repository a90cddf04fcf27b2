"""The `pricing` CLI: the happy paths write their outputs; user mistakes give one line and exit 2."""

import json

import pytest
from typer.testing import CliRunner

from agent.cli import app
from env.distribution import sample_task

runner = CliRunner()


def test_evaluate_writes_reports(tmp_path):
    out = tmp_path / "ev"
    r = runner.invoke(app, ["evaluate", "--policies", "oracle,cost_plus", "--tasks", "3", "--horizon", "10",
                            "--workers", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "| oracle | 3 | 100.0" in r.output
    assert json.loads((out / "results.json").read_text())["settings"]["n_tasks"] == 3
    assert (out / "regret.png").exists() and (out / "prices.png").exists()


def test_simulate_scenario(tmp_path):
    r = runner.invoke(app, ["simulate", "--scenario", "seasonal_perishable", "--policy", "oracle,cost_plus",
                            "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "seasonal_perishable" in r.output and "| cost_plus |" in r.output
    assert (tmp_path / "prices.png").exists()


def test_simulate_calvano_with_a_q_learning_rival(tmp_path):
    r = runner.invoke(app, ["simulate", "--scenario", "calvano_duopoly", "--rival", "q_learning",
                            "--policy", "oracle", "--horizon", "20", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output


def test_simulate_task_file(tmp_path):
    spec = tmp_path / "task.json"
    spec.write_text(sample_task("test", 4).model_dump_json())
    r = runner.invoke(app, ["simulate", "--task", str(spec), "--policy", "oracle", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output


def _bad_task(tmp_path, **change):
    spec = json.loads(sample_task("test", 4).model_dump_json())
    spec.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))  # json writes NaN, which the spec must reject
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--scenario", "moon_market"], "unknown scenario 'moon_market'"),
        (["simulate", "--scenario", "member_pricing", "--horizon", "0"], "horizon"),
        (["simulate", "--policy", "oracle,astrology"], "unknown policy 'astrology'"),
        (["simulate", "--scenario", "member_pricing", "--rival", "q_learning"], "rival"),
        (["evaluate", "--split", "holdout", "--tasks", "2"], "split"),
        (["evaluate", "--tasks", "0"], "tasks"),
        (["simulate", "--task", "/no/such/file.json"], "No such file"),
    ],
)
def test_user_errors_are_one_line(args, message, tmp_path):
    r = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize(("change", "field"), [({"unit_cost": -3}, "unit_cost"), ({"noise": float("nan")}, "noise"),
                                                ({"horizon": 0}, "horizon")])
def test_invalid_task_file_names_the_field(tmp_path, change, field):
    r = runner.invoke(app, ["simulate", "--task", str(_bad_task(tmp_path, **change)), "--out", str(tmp_path)])
    assert r.exit_code == 2
    assert r.output.startswith(f"error: {field}:"), r.output
    assert "Traceback" not in r.output
