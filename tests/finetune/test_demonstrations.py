import json

import numpy as np
import pytest
from datasets import load_from_disk

from agent.candidates import build_toolbox, rule_candidate
from agent.parsing import parse_price, parse_reason
from env.distribution import sample_task
from env.episode import start_market
from env.oracle import OraclePolicy
from finetune.config import BEHAVIOURS, ConfigError, DemoConfig, SFTRunConfig, load_config
from finetune.demonstrations import generate_demonstrations, labelled_states, load_or_generate, save_demonstrations
from finetune.market_states import OracleScorer, snapshot

CFG = DemoConfig(n_tasks=5, steps_per_episode=3, horizon=15, seed=3)


def test_same_seed_same_dataset_other_seed_other_dataset():
    a = generate_demonstrations(CFG, progress=False)
    b = generate_demonstrations(CFG, progress=False)
    c = generate_demonstrations(CFG.model_copy(update={"seed": 4}), progress=False)
    assert len(a) == 15
    assert a.to_list() == b.to_list()
    assert a.to_list() != c.to_list()


def test_every_label_is_the_true_tasks_optimum_in_the_answer_format():
    ds = generate_demonstrations(CFG, progress=False)
    for row in ds:
        answer = row["completion"][0]["content"]
        assert row["completion"][0]["role"] == "assistant"
        assert parse_price(answer) == pytest.approx(row["label_price"], abs=0.005)
        assert parse_reason(answer)
        assert row["prompt"][0]["role"] == "system" and "What price next?" in row["prompt"][-1]["content"]
        assert row["behaviour"] in BEHAVIOURS
    assert ds[0]["task_id"] == sample_task("train", 0, CFG.horizon).task_id


def test_compact_demonstrations_read_the_toolbox_and_answer_the_price_alone():
    long = generate_demonstrations(CFG, progress=False)
    ds = generate_demonstrations(CFG.model_copy(update={"prompt": "compact"}), progress=False)
    assert [r["label_price"] for r in ds] == [r["label_price"] for r in long]  # same states, same labels
    for row in ds:
        assert row["completion"][0]["content"] == f"PRICE: {row['label_price']:.2f}"
        assert "What price next?" not in row["prompt"][-1]["content"]
    assert any("candidate price profit" in r["prompt"][-1]["content"] for r in ds)


def test_best_candidate_labels_are_listed_candidates_worth_at_least_the_others():
    cfg = CFG.model_copy(update={"prompt": "compact", "label": "best_candidate"})
    oracle_labels = [demo.price for demo in labelled_states(CFG, progress=False)]
    scorer, relabelled = OracleScorer(), 0
    for demo, oracle in zip(labelled_states(cfg, progress=False), oracle_labels, strict=True):
        state, label = demo.state, demo.price
        box = build_toolbox(state.context)
        if not box.candidates:
            assert label == oracle and demo.pick is None  # nothing to choose from: the oracle's price
            continue
        prices = [c.price for c in box.candidates]
        assert min(abs(label - p) for p in prices) < 0.006  # one of the prices the prompt lists
        assert abs(box.candidate(demo.pick).price - label) < 0.006
        values = scorer.values(state, np.array(prices + [label]))
        assert values[-1] >= values[:-1].max() - 1e-3 * abs(values[:-1].max())  # to the cent
        relabelled += label != oracle
    assert relabelled > 0


def test_a_label_margin_keeps_the_rule_unless_another_candidate_is_clearly_better():
    plain = CFG.model_copy(update={"prompt": "compact", "label": "best_candidate"})
    margin = plain.model_copy(update={"label_margin": 0.05})
    scorer, kept, moved = OracleScorer(), 0, 0
    for a, b in zip(labelled_states(plain, progress=False), labelled_states(margin, progress=False), strict=True):
        assert a.state.t == b.state.t and a.state.task.task_id == b.state.task.task_id  # same states
        if b.pick is None:
            continue
        rule = rule_candidate(b.box)
        values = dict(zip([c.name for c in b.box.candidates],
                          scorer.values(b.state, np.array([c.price for c in b.box.candidates])), strict=True))
        _, oracle_value = scorer.best(b.state)
        periods = max(b.state.task.horizon - b.state.t, 1) if b.state.task.stateful else 1
        gain = values[a.pick] - values[rule.name]
        if gain > 0.05 * abs(oracle_value) / periods:
            assert b.pick == a.pick  # clearly better: the margin does not hide it
            moved += 1
        else:
            assert b.pick == rule.name  # a near tie: the rule's candidate
            kept += a.pick != rule.name
    assert kept > 0  # some margin-0 labels left the rule for a near tie


def test_a_label_margin_needs_candidate_labels():
    with pytest.raises(ValueError, match="label_margin"):
        DemoConfig(**(CFG.model_dump() | {"label_margin": 0.1}))  # the oracle's labels have no rule to keep


def test_oracle_scorer_agrees_with_the_evaluation_oracle():
    scorer = OracleScorer()
    for i in range(4):
        task = sample_task("train", i, 10)
        market, oracle = start_market(task, 7), OraclePolicy(task)
        for _ in range(3):
            state = snapshot(market)
            price = oracle.act(state.context)
            assert scorer.best(state)[0] == pytest.approx(price, rel=1e-6)
            assert scorer.relative(state, price) == pytest.approx(1.0)
            market.step(price)


def test_behaviours_make_histories_of_varied_quality():
    ds = generate_demonstrations(DemoConfig(n_tasks=30, steps_per_episode=1, horizon=10, seed=0), progress=False)
    assert len(set(ds["behaviour"])) >= 4
    assert len(set(ds["task_id"])) == 30


def test_saved_with_its_generator_config_and_reused(tmp_path):
    cfg = CFG.model_copy(update={"output": str(tmp_path / "demos")})
    ds = load_or_generate(cfg, progress=False)
    meta = json.loads((tmp_path / "demos" / "generator.json").read_text())
    assert meta["config"]["seed"] == 3 and meta["rows"] == len(ds)
    assert load_from_disk(str(tmp_path / "demos")).to_list() == ds.to_list()
    save_demonstrations(ds.select(range(2)), cfg)  # a reused folder is read back, not regenerated
    assert len(load_or_generate(cfg, progress=False)) == 2


def test_a_dataset_saved_by_other_code_is_regenerated(tmp_path, monkeypatch):
    """Saved prompts of an older prompt format must not be trained on after the code changed."""
    import finetune.demonstrations as demonstrations

    cfg = CFG.model_copy(update={"output": str(tmp_path / "demos")})
    ds = load_or_generate(cfg, progress=False)
    full = len(ds)
    save_demonstrations(ds.select(range(2)), cfg)
    monkeypatch.setattr(demonstrations, "code_fingerprint", lambda: "other-code")
    assert len(load_or_generate(cfg, progress=False)) == full  # regenerated, not the 2 saved rows
    assert json.loads((tmp_path / "demos" / "generator.json").read_text())["code"] == "other-code"


def test_config_errors_name_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rat: 0.1\n")
    with pytest.raises(ConfigError, match="learning_rat"):
        load_config(bad, SFTRunConfig)
    bad.write_text("demos: {behaviours: [psychic]}\n")
    with pytest.raises(ConfigError, match="psychic"):
        load_config(bad, SFTRunConfig)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.yaml", SFTRunConfig)
