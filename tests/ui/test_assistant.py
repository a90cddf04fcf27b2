"""The chat turn logic: recommendations equal the shared pipeline's, follow-ups use the same fit."""

import pytest

from agent.evidence import compute_evidence
from agent.policy import EvidencePolicy
from agent.recommend import recommend
from agent.service import PricingService
from ui.assistant import Assistant, ChatState
from ui.facts import read_message

MUG = ("I sell a ceramic mug, it costs me $4, I sold 120 at $12 last week and 90 at $14 this week, "
       "my competitor is at $13.50 — what should I charge?")


@pytest.fixture
def assistant() -> Assistant:
    policy = EvidencePolicy()
    return Assistant(PricingService(policy))


def texts(turn) -> str:
    return "\n".join(m["content"] for m in turn.messages if isinstance(m["content"], str))


def test_recommendation_matches_the_pipeline_and_shows_steps_and_a_chart(assistant):
    turn = assistant.respond(MUG, ChatState())
    expected = recommend(read_message(MUG, ChatState().facts).facts.context(), EvidencePolicy())
    assert turn.recommendation is not None and turn.recommendation.price == pytest.approx(expected.price)
    assert turn.state.recommended_price == pytest.approx(expected.price)
    assert f"Recommended price: ${expected.price:,.2f}" in texts(turn)
    assert f"{expected.expected_units:,.0f}" in texts(turn)  # expected units, from the evidence
    titles = [m.get("metadata", {}).get("title") for m in turn.messages]
    assert titles[:4] == ["Facts extracted", "Demand fit", "Pricing policy", "Guardrails"]
    chart = turn.messages[-1]["content"]["path"]
    assert open(chart, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_missing_facts_get_a_question_and_no_price(assistant):
    turn = assistant.respond("I sold 120 mugs at $12 last week", ChatState())
    assert turn.recommendation is None and turn.state.recommended_price is None
    assert "cost" in texts(turn) and "Recommended price" not in texts(turn)
    turn = assistant.respond("they cost me $4", turn.state)
    assert turn.recommendation is not None


def test_what_if_uses_the_fitted_demand(assistant):
    first = assistant.respond(MUG, ChatState())
    turn = assistant.respond("what if I charge $15?", first.state)
    point = compute_evidence(first.state.facts.context()).point(15.0)
    assert f"**{point.units:,.0f}** units" in texts(turn) and f"${point.profit:,.2f}" in texts(turn)
    assert turn.state.facts == first.state.facts and turn.recommendation is None


def test_what_if_outside_the_evidence_says_so_instead_of_guessing(assistant):
    first = assistant.respond(MUG, ChatState())
    turn = assistant.respond("what if I charge $400?", first.state)
    assert "no demand estimate" in texts(turn)


def test_margin_floor_command_re_prices_within_the_new_guardrail(assistant):
    capped = assistant.respond(MUG, ChatState())
    assert capped.recommendation.price == pytest.approx(11.90)  # the default cap: at most 15% below $14 ...
    first = assistant.respond("max change 50%", capped.state)
    assert first.recommendation.price < 10  # ... lifted, the evidence alone goes below $10 ...
    turn = assistant.respond("set my floor margin to 60%", first.state)
    rec = turn.recommendation
    assert rec.price == pytest.approx(10.0, abs=0.01)  # ... a 60% margin on a $4 cost floors it at $10
    assert turn.state.facts.min_margin == pytest.approx(0.6) and "margin floor 60%" in texts(turn)
    assert "$10.00" in texts(turn)


def test_why_not_lower_compares_profit_from_the_same_fit(assistant):
    first = assistant.respond(MUG, ChatState())
    turn = assistant.respond("why not lower?", first.state)
    lower = round(first.recommendation.price * 0.9, 2)
    assert f"${lower:,.2f}" in texts(turn) and "profit" in texts(turn)


def test_contradictory_facts_are_explained_not_crashed(assistant):
    first = assistant.respond(MUG, ChatState())
    turn = assistant.respond("min price $30 and max price $20", first.state)
    assert turn.recommendation is None and "do not fit together" in texts(turn)


def test_bad_upload_is_a_chat_message(assistant, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    turn = assistant.use_file(str(path), ChatState())
    assert turn.recommendation is None and "price" in texts(turn) and "units" in texts(turn)


class _ChoosesACandidate:
    """A policy that answers like a compact-prompt adapter: one of the toolbox's candidates, named."""

    name = "picker"

    def __init__(self, which: str):
        self.which = which

    def reset(self, seed: int | None = None) -> None:
        pass

    def propose_batch(self, contexts, evidences=None):
        from agent.candidates import build_toolbox, describe_choice
        from agent.policy import Proposal

        out = []
        for c in contexts:
            box = build_toolbox(c)
            chosen = box.candidate(self.which) or box.candidates[0]
            out.append(Proposal(price=round(chosen.price, 2), candidate=chosen.name,
                                candidate_words=describe_choice(box, chosen)))
        return out


def test_a_chosen_candidate_is_named_in_the_chat():
    policy = _ChoosesACandidate("linear")
    turn = Assistant(PricingService(policy)).respond(MUG, ChatState())
    rec = turn.recommendation
    assert rec is not None and rec.candidate is not None
    assert "The model chose" in rec.rationale and f"`{rec.candidate}` candidate" in texts(turn)


def test_the_chart_draws_every_hypothesis_and_marks_the_chosen_candidate(monkeypatch):
    import ui.charts as charts
    from agent.candidates import build_toolbox
    from env.distribution import sample_task
    from env.market import Market

    task = sample_task("validation", 3)
    market = Market(task)
    market.reset(0)
    for k in range(12):
        market.step(task.initial_price * (0.8 + 0.05 * k))
    context = market.context()
    box = build_toolbox(context)
    assert len(box.hypotheses) >= 2
    chosen = box.candidates[-1]
    figures = []
    monkeypatch.setattr(charts, "_save", lambda fig, stem: figures.append(fig) or charts.chart_folder() / "x.png")
    charts.recommendation_chart(context, compute_evidence(context), chosen.price, toolbox=box, chosen=chosen.name)
    demand, profit = figures[0].axes[1], figures[0].axes[2]
    labels = [line.get_label() for line in demand.get_lines()]
    assert sum(" fit (weight " in label for label in labels) == len(box.hypotheses)
    assert sum("← chosen" in label for label in labels) == 1
    marked = [c.get_label() for c in profit.collections]
    assert f"candidate {chosen.name} (chosen)" in marked and len([m for m in marked if m.startswith("candidate")]) \
        == len(box.candidates)


def test_a_what_if_after_a_chosen_candidate_uses_the_toolbox_fit_it_came_from():
    from agent.candidates import build_toolbox, score_price

    policy = _ChoosesACandidate("linear")
    assistant = Assistant(PricingService(policy))
    first = assistant.respond(MUG, ChatState())
    assert first.state.candidate == first.recommendation.candidate
    turn = assistant.respond("what if I charge $13?", first.state)
    context = read_message(MUG, ChatState().facts).facts.context()
    q = score_price(build_toolbox(context), context, 13.0)
    assert q is not None and f"**{q.units:,.0f}** units" in texts(turn) and f"${q.profit:,.2f}" in texts(turn)
    assert "demand curve that fits best" in texts(turn) and turn.charts
    far = assistant.respond("what if I charge $400?", first.state)
    assert "no demand estimate" in texts(far)


# --- issue 16: safe by default ----------------------------------------------------------------------


def test_thin_evidence_gets_a_capped_step_plain_words_and_a_price_test(assistant):
    turn = assistant.respond(MUG, ChatState())
    rec, text = turn.recommendation, texts(turn)
    assert rec.change_pct == pytest.approx(-15.0)  # the evidence alone says $9.23, -34%
    assert "guardrails: none set (default: at most 15% change per period)" in text
    assert "at most the default 15% per period from 14.00" in text  # the answer and the Guardrails step
    assert "- default_max_change: " in text
    assert rec.gain_uncertain and "**Uncertain gain.**" in text and "is inside its 90% band" in text
    assert f"a smaller step to {rec.smaller_step:,.2f}, or hold 14.00" in text
    assert f"**Price test.** {rec.price_test.plan}" in text
    assert turn.state.price_test == rec.price_test
    # the merchant's own rule replaces the default, and then the default is not mentioned
    loose = assistant.respond("max change 50%", turn.state)
    assert "default" not in texts(loose).split("Recommended price")[1]


def test_a_rule_holding_the_price_at_its_bound_is_named_in_the_chat(assistant):
    first = assistant.respond(MUG, ChatState())
    turn = assistant.respond("never go below $11.90", first.state)  # the capped price sits on the new floor
    rec = turn.recommendation
    assert rec.price == pytest.approx(11.90)
    assert "holds the price at its bound 11.90" in texts(turn)
    assert "none bound the price" not in texts(turn) and "No rule bound the price" not in texts(turn)


def test_an_upload_after_a_price_test_reads_it_out(assistant, tmp_path):
    first = assistant.respond(MUG, ChatState())
    test = first.state.price_test
    assert test is not None
    rows = ["price,units"] + [f"{14.0 if t % 2 == 0 else test.test_price},{90 + t % 4 if t % 2 == 0 else 140 - t % 3}"
                              for t in range(12)]
    path = tmp_path / "test_sales.csv"
    path.write_text("\n".join(rows) + "\n")
    turn = assistant.use_file(str(path), first.state)
    result = [m["content"] for m in turn.messages if str(m["content"]).startswith("**Price test result.**")]
    assert result and f"{test.test_price:,.2f} won:" in result[0] and "95% interval" in result[0]
    assert turn.recommendation is not None  # and it re-prices on the new sales
    # without a test proposed before, an upload is just new sales
    plain = assistant.use_file(str(path), ChatState(facts=first.state.facts))
    assert not any(str(m["content"]).startswith("**Price test result.**") for m in plain.messages)
