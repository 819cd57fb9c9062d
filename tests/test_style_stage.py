"""The style stage (lint findings of false vs true positives) on hand-made samples, its figure,
ruff's failure modes, and the style jobs in the DAG."""

from __future__ import annotations

import copy
import math

import pandas as pd
import pytest
from conftest import job_counts, snakemake

from monkeys import lint
from monkeys.config import validate_config
from monkeys.errors import MonkeysError
from monkeys.plots import save_figure, style_figure
from monkeys.stages.style import sample_findings, style_tables
from monkeys.tables.io import read_table, write_table
from monkeys.tables.style import STYLE, STYLE_RULES

# Line 1 (`import os`, unused: F401) is the prompt's and must not count.
PROMPT = "import os\n\n\ndef f(x):\n"
UNUSED = "    y = 1\n    return x\n"  # F841, 2 lines
CLEAN = "    return x\n\n"  # 1 non-blank line
BARE = "    try:\n        return x\n    except:\n        return 0\n"  # E722, 4 lines
SELECT = ["E", "W", "F", "B"]


def _tables(rows: list[tuple[str, bool, bool | None]]):
    """Problems, samples and verdicts of one problem from (completion, passed, plus_passed)."""
    key = {"model": "m", "dataset": "d", "problem_id": "p"}
    problems = pd.DataFrame([{"problem_id": "p", "prompt": PROMPT, "grader": "unit_tests"}])
    samples = pd.DataFrame([{**key, "sample_index": i, "completion": c} for i, (c, _, _) in enumerate(rows)])
    verdicts = pd.DataFrame(
        [{**key, "sample_index": i, "passed": w, "plus_passed": s} for i, (_, w, s) in enumerate(rows)]
    )
    return problems, samples, verdicts


def _style(rows, select=SELECT):
    per_sample = sample_findings(*_tables(rows), select)
    return style_tables(
        per_sample,
        model="m",
        dataset="d",
        select=select,
        linter="ruff x",
        resamples=50,
        seed=0,
        confidence=0.9,
    )


def test_counts_and_per_line_normalisation(tmp_path):
    summary, rules = _style(
        [
            (UNUSED, True, True),  # true positive, 1 finding on 2 lines
            (CLEAN, True, True),  # true positive, clean
            (BARE, True, False),  # false positive, 1 finding on 4 lines
            (BARE, True, False),  # the same program again (linted once, counted twice)
            (BARE, False, False),  # fails the weak tests: not analysed
        ]
    )
    tp, fp = (summary.set_index("group").loc[g] for g in ("true_positive", "false_positive"))
    assert (tp["samples"], tp["lines"], tp["findings"]) == (2, 3, 1)
    assert tp["findings_per_line"] == pytest.approx(1 / 3)
    assert tp["mean_findings_per_line"] == pytest.approx((1 / 2 + 0) / 2)
    assert (fp["samples"], fp["lines"], fp["findings"]) == (2, 8, 2)
    assert fp["findings_per_line"] == pytest.approx(0.25)
    assert fp["lower"] <= fp["mean_findings_per_line"] <= fp["upper"]
    assert 0 <= tp["p_value"] <= 1 and tp["p_value"] == fp["p_value"]
    assert rules[["group", "rule", "findings", "samples"]].values.tolist() == [
        ["true_positive", "F841", 1, 1],
        ["false_positive", "E722", 2, 2],
    ]
    assert rules["findings_per_line"].tolist() == pytest.approx([1 / 3, 0.25])
    assert "F401" not in set(rules["rule"])  # on the prompt's line
    write_table(summary, tmp_path / "s.parquet", STYLE)
    write_table(rules, tmp_path / "r.parquet", STYLE_RULES)
    assert read_table(tmp_path / "s.parquet", STYLE)["select"].iat[0] == "E,W,F,B"
    fig = style_figure(summary, rules, "d")
    save_figure(fig, tmp_path / "style.png", dpi=60)
    assert (tmp_path / "style.png").stat().st_size > 5000


def test_no_false_positives_and_no_findings(tmp_path):
    summary, rules = _style([(CLEAN, True, True), (CLEAN, False, False)])
    fp = summary.set_index("group").loc["false_positive"]
    assert fp["samples"] == 0 and fp["findings"] == 0
    assert math.isnan(fp["findings_per_line"]) and math.isnan(fp["mean_findings_per_line"])
    assert math.isnan(summary["p_value"].iat[0])
    assert rules.empty
    write_table(rules, tmp_path / "r.parquet", STYLE_RULES)
    assert read_table(tmp_path / "r.parquet", STYLE_RULES).empty
    fig = style_figure(summary, rules, "d")
    texts = {t.get_text() for ax in fig.axes for t in ax.texts}
    assert {"no false positives", "no lint findings"} <= texts
    save_figure(fig, tmp_path / "style.png", dpi=60)


def test_default_selection_is_accepted_by_ruff():
    config = validate_config(
        {
            "models": {"m": {"backend": "embedded", "weights": {"path": "x.gguf", "sha256": "0" * 64}}},
            "datasets": {"humaneval": {}},
        }
    )
    select = config["analysis"]["lint_select"]
    summary, rules = _style([(BARE, True, True)], select=select)
    assert "E722" in set(rules["rule"])


def test_missing_strong_verifier_or_ruff_is_a_clear_error(monkeypatch):
    with pytest.raises(MonkeysError, match="no strong verifier"):
        _style([(CLEAN, True, None)])
    with pytest.raises(MonkeysError, match="ruff failed"):
        lint.lint_sources(["x = 1\n"], ["NOSUCHRULE9"])
    monkeypatch.setattr(lint.sysconfig, "get_path", lambda name: "/nonexistent")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MonkeysError, match="ruff is not installed"):
        lint.lint_sources(["x = 1\n"], SELECT)


def test_dry_run_plans_style_only_with_a_strong_verifier(tmp_path, default_config):
    config = copy.deepcopy(default_config)
    config["plots"] = {"format": ["png"]}
    result = snakemake(tmp_path, config, "--dry-run", "--cores", "2")
    assert result.returncode == 0, result.stderr
    jobs = job_counts(result.stdout)
    assert jobs["style"] == 1 and jobs["plot_style"] == 1
    assert "results/style_rules/gemma3-270m/humaneval.parquet" in result.stdout
    assert "results/figures/style/humaneval.png" in result.stdout
    del config["datasets"]["humaneval"]["strong_tests"]
    result = snakemake(tmp_path, config, "--dry-run", "--cores", "2")
    assert result.returncode == 0, result.stderr
    assert "style" not in job_counts(result.stdout)


def test_function_level_findings_on_the_prompts_def_line_count():
    """ruff reports too-many-returns on the `def` line, which is the prompt's; the completion
    causes it, so it counts (the prompt's own unused import still does not)."""
    many_returns = "".join(f"    if x == {i}:\n        return {i}\n" for i in range(7)) + "    return -1\n"
    per_sample = sample_findings(*_tables([(many_returns, True, True)]), ["F", "PLR0911"])
    assert [rule for rule, _ in per_sample["rules"].iat[0]] == ["PLR0911"]
