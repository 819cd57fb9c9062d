"""Stop sequences per dataset: a math answer's `#### N` line must survive sampling."""

from __future__ import annotations

from types import SimpleNamespace

from monkeys.config import validate_config
from monkeys.datasets.prompts import GSM8K_5SHOT, MATH_4SHOT, PRESETS, stop_sequences
from monkeys.grading.math import grade_answer
from monkeys.sampling.rules import sampling_settings


def _cut(text: str, stops: list[str]) -> str:
    """What a sampler returns: the text up to the first stop sequence."""
    ends = [text.find(s) for s in stops if s in text]
    return text[: min(ends)] if ends else text


def _config(default_config, **datasets):
    config = dict(default_config)
    config["datasets"] = datasets
    return validate_config(config)


def test_gsm8k_answer_line_survives_its_stops(default_config):
    config = _config(default_config, gsm8k={"problems": ["GSM8K/0"]}, humaneval={})
    stops = sampling_settings(config)(SimpleNamespace(dataset="gsm8k"))["stop"]
    completion = " She sells 16 - 3 - 4 = 9 eggs.\n#### 18\n\nQuestion: Another one?\nAnswer: #### 7"
    kept = _cut(completion, stops)
    assert kept.rstrip().endswith("#### 18")
    assert grade_answer(kept, "18", style="gsm8k", rule="paper").status == "passed"
    # Control: the code-oriented default (`sampling.stop`) cuts the answer line away.
    assert "####" not in _cut(completion, config["sampling"]["stop"])


def test_code_datasets_keep_sampling_stop(default_config):
    config = _config(default_config, humaneval={}, mbppplus={})
    for name in ("humaneval", "mbppplus"):
        stops = sampling_settings(config)(SimpleNamespace(dataset=name))["stop"]
        assert stops == config["sampling"]["stop"]


def test_dataset_stop_overrides_and_custom_prompts_fall_back():
    assert stop_sequences(["END"], None, "gsm8k_5shot", ["\n#"]) == ["END"]
    assert stop_sequences(None, "Q: {{prompt}}\nA:", "gsm8k_5shot", ["\n#"]) == ["\n#"]
    assert stop_sequences(None, None, "math_4shot", ["\n#"]) == ["Problem:"]


def test_preset_stops_do_not_cut_their_own_examples():
    """Each few-shot example's answer contains no stop of its preset (else the model could not
    reproduce the format it is shown)."""
    for template, stops in ((GSM8K_5SHOT, ["Question:"]), (MATH_4SHOT, ["Problem:"])):
        answers = template.split(stops[0])[1:-1]
        assert answers and all(all(s not in a for s in stops) for a in answers)
    assert set(PRESETS) >= {"gsm8k_5shot", "math_4shot", "codecontests_1shot"}
