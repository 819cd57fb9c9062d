"""Inference Scaling fLaws Fig. 1a: the per-problem false-positive rate, the resampling ceiling,
the line across models and the flaky fraction, against enumeration and simulation.

The paper's false-positive rate is per problem (mean of 1 - t/w over problems where some
sample passes the weak tests; see monkeys.metrics.flaws). The pooled rate is the negative
control: on the issue's two problems it is far from what resampling does.
"""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO
from scipy import stats

from monkeys.errors import MonkeysError
from monkeys.metrics.flaws import (
    accuracy_asymptote,
    ceiling_bounds,
    conditional_accuracy,
    false_positive_rate,
    line_fit,
    pooled_false_positive_rate,
)
from monkeys.plots import flaws_figure, save_figure
from monkeys.stages.flaws import flaws, flaws_tables
from monkeys.stages.plot import plot_flaws
from monkeys.tables.counts import COUNTS
from monkeys.tables.io import read_table, write_table
from monkeys.tables.verifiers import FLAWS, FLAWS_FIT

# The issue's example: (n, w, t) = (100, 100, 100) and (100, 2, 0).
N, W, T = np.array([100, 100]), np.array([100, 2]), np.array([100, 0])


def _flags(n: int, w: int, t: int) -> list[tuple[int, int]]:
    """One problem as per-sample (weak pass, strong pass) flags."""
    return [(1, 1)] * t + [(1, 0)] * (w - t) + [(0, 0)] * (n - w)


def _first_passing_outcome(order, flags):
    """'correct', 'false_positive' or 'none' for resampling in `order` until weak passes."""
    for i in order:
        weak, strong = flags[i]
        if weak:
            return "correct" if strong else "false_positive"
    return "none"


def _enumerate(problems):
    """Per problem, the exact outcome frequencies of resampling with an infinite budget
    (every ordering of all samples, first weak pass returned)."""
    out = []
    for flags in problems:
        tally = {"correct": 0, "false_positive": 0, "none": 0}
        for order in itertools.permutations(range(len(flags))):
            tally[_first_passing_outcome(order, flags)] += 1
        total = sum(tally.values())
        out.append({k: v / total for k, v in tally.items()})
    return out


def test_issue_example_per_problem_vs_pooled():
    assert pooled_false_positive_rate(W, T) == pytest.approx(2 / 102)
    assert pooled_false_positive_rate(W, T) == pytest.approx(0.0196, abs=1e-4)
    assert false_positive_rate(W, T) == pytest.approx(0.5)
    assert conditional_accuracy(W, T) == pytest.approx(0.5)
    assert accuracy_asymptote(N, W, T) == pytest.approx(0.5)
    assert ceiling_bounds(W, T) == pytest.approx((0.5, 0.5))


def test_issue_example_matches_simulation_and_pooled_does_not():
    """Simulate the paper's procedure: pick a problem, shuffle its samples, return the first
    weak-passing one; the false-positive frequency is the per-problem rate, not the pooled."""
    rng = np.random.default_rng(0)
    problems = [np.array(_flags(n, w, t)) for n, w, t in zip(N, W, T, strict=True)]
    draws = 20000
    false_positives = 0
    for _ in range(draws):
        flags = problems[rng.integers(len(problems))]
        order = rng.permutation(len(flags))
        false_positives += _first_passing_outcome(order, flags) == "false_positive"
    estimate = false_positives / draws
    stderr = np.sqrt(0.5 * 0.5 / draws)
    assert abs(estimate - false_positive_rate(W, T)) < 4 * stderr
    assert abs(1 - estimate - accuracy_asymptote(N, W, T)) < 4 * stderr
    # Negative control: the pooled rate is over 100 standard errors away.
    assert abs(estimate - pooled_false_positive_rate(W, T)) > 100 * stderr


def test_rates_and_bounds_equal_enumeration():
    problems = [_flags(5, 3, 1), _flags(4, 2, 2), _flags(4, 0, 0), _flags(5, 1, 0), _flags(3, 3, 3)]
    n, w, t = (
        np.array(x)
        for x in zip(
            *[(len(p), sum(f[0] for f in p), sum(f[0] * f[1] for f in p)) for p in problems], strict=True
        )
    )
    exact = _enumerate(problems)
    passing = [e for e, wi in zip(exact, w, strict=True) if wi > 0]
    fpr = np.mean([e["false_positive"] / (1 - e["none"]) for e in passing])
    assert false_positive_rate(w, t) == pytest.approx(fpr, abs=1e-12)
    lower = np.mean([e["correct"] for e in exact])
    upper = np.mean([e["correct"] + e["none"] for e in exact])
    assert ceiling_bounds(w, t) == pytest.approx((lower, upper), abs=1e-12)
    assert accuracy_asymptote(n, w, t) == pytest.approx(lower, abs=1e-12)
    # The ceiling and the rate agree: ceiling = (problems with a pass / problems) * (1 - FPR).
    assert lower == pytest.approx(np.mean(w > 0) * (1 - false_positive_rate(w, t)))
    # Negative control: the pooled rate weights problems by w and differs here.
    assert abs(pooled_false_positive_rate(w, t) - fpr) > 0.05


def test_no_passing_sample_gives_nan_rate():
    assert np.isnan(false_positive_rate([0, 0], [0, 0]))
    assert np.isnan(pooled_false_positive_rate([0, 0], [0, 0]))
    assert ceiling_bounds([0, 0], [0, 0]) == (0.0, 1.0)


def test_line_fit_equals_closed_form():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, 7)
    y = 0.4 * x + 0.5 + rng.normal(0, 0.03, 7)
    fit = line_fit(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    r = np.corrcoef(x, y)[0, 1]
    assert (fit.slope, fit.intercept, fit.r, fit.r2) == pytest.approx((slope, intercept, r, r * r))
    assert fit.p_value == pytest.approx(stats.linregress(x, y).pvalue)
    assert fit.num_points == 7 and fit.note == ""
    # Negative control: y on x is not x on y.
    assert line_fit(y, x).slope != pytest.approx(fit.slope, rel=0.1)


def test_line_fit_needs_three_models_and_spread():
    for x, y, why in [
        ([0.3], [0.8], "1 model"),
        ([0.3, 0.5], [0.8, 0.9], "2 model"),
        ([0.4, 0.4, 0.4], [0.7, 0.8, 0.9], "same single-sample accuracy"),
        ([0.3, np.nan, 0.5], [0.8, 0.9, np.nan], "1 model"),
    ]:
        fit = line_fit(x, y)
        assert np.isnan([fit.slope, fit.intercept, fit.r, fit.r2]).all()
        assert why in fit.note


def _counts(model: str, problems: list[tuple[int, int, int | None, int]]) -> pd.DataFrame:
    """Counts of one model from (n, w, t, flaky) per problem."""
    return pd.DataFrame(
        {
            "model": model,
            "dataset": "d",
            "problem_id": [f"p{i}" for i in range(len(problems))],
            "n": [p[0] for p in problems],
            "num_correct": [p[1] for p in problems],
            "num_failed": 0,
            "num_error": 0,
            "num_timeout": 0,
            "num_crashed": 0,
            "num_flaky": [p[3] for p in problems],
            "num_plus_correct": pd.array([p[2] for p in problems], dtype="Int64"),
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "sample_wall_s": 0.0,
        }
    )


MODELS = {
    "strong": [(10, 10, 10, 0), (10, 9, 8, 0), (10, 6, 6, 2)],
    "middle": [(10, 8, 6, 0), (10, 4, 2, 1), (10, 0, 0, 0)],
    "weak": [(10, 5, 2, 0), (10, 2, 0, 0), (10, 0, 0, 0)],
}


def _brute(problems):
    """A model's fLaws numbers from per-sample flags, the slow way."""
    samples = [_flags(n, w, t) for n, w, t, _ in problems]
    accuracy = np.mean([np.mean([f[0] * f[1] for f in s]) for s in samples])
    passing = [[f for f in s if f[0]] for s in samples]
    conditional = np.mean([np.mean([f[1] for f in p]) for p in passing if p])
    ceiling = np.mean([np.mean([f[1] for f in p]) if p else 0.0 for p in passing])
    return accuracy, conditional, ceiling


def test_flaws_table_against_brute_force(tmp_path):
    counts = pd.concat([_counts(m, p) for m, p in MODELS.items()], ignore_index=True)
    table, fit = flaws_tables(counts)
    assert list(table["model"]) == sorted(MODELS)
    table = table.set_index("model")
    brute = {m: _brute(p) for m, p in MODELS.items()}
    for model, (accuracy, conditional, ceiling) in brute.items():
        row = table.loc[model]
        assert row["single_sample_accuracy"] == pytest.approx(accuracy)
        assert row["conditional_accuracy"] == pytest.approx(conditional)
        assert row["false_positive_rate"] == pytest.approx(1 - conditional)
        assert row["resampling_ceiling"] == pytest.approx(ceiling)
    assert table.loc["middle", "false_positive_rate_pooled"] == pytest.approx(4 / 12)
    assert table.loc["middle", "resampling_ceiling_upper"] == pytest.approx((6 / 8 + 2 / 4 + 1) / 3)
    # Flaky: samples and problems with any flaky sample.
    assert table.loc["strong", "flaky_sample_fraction"] == pytest.approx(2 / 30)
    assert table.loc["middle", "flaky_problem_fraction"] == pytest.approx(1 / 3)
    assert table.loc["weak", "num_flaky"] == 0
    # The strongest model's single-sample accuracy is the line; weaker ceilings stay below.
    [row] = fit.to_dict("records")
    assert row["strongest_model"] == "strong"
    assert row["strongest_accuracy"] == pytest.approx(brute["strong"][0])
    assert table.loc["weak", "below_strongest"] and table.loc["middle", "below_strongest"]
    assert row["num_below_strongest"] == int(table["below_strongest"].sum())
    # The line is the paper's: 1 - FPR on single-sample accuracy, over all three models.
    xs = [brute[m][0] for m in sorted(MODELS)]
    ys = [brute[m][1] for m in sorted(MODELS)]
    expected = stats.linregress(xs, ys)
    assert (row["slope"], row["intercept"], row["r"]) == pytest.approx(
        (expected.slope, expected.intercept, expected.rvalue)
    )
    assert row["r2"] == pytest.approx(expected.rvalue**2) and row["num_models"] == 3
    assert (row["x"], row["y"]) == ("single_sample_accuracy", "conditional_accuracy")
    # Negative control: a fit on the pooled rate gives another line.
    pooled = stats.linregress(xs, 1 - table.loc[sorted(MODELS), "false_positive_rate_pooled"])
    assert pooled.slope != pytest.approx(row["slope"], rel=0.05)
    # Through the files, and the figure.
    paths = []
    for model in MODELS:
        path = tmp_path / f"{model}.parquet"
        write_table(counts[counts["model"] == model], path, COUNTS)
        paths.append(str(path))
    flaws(paths, tmp_path / "flaws.parquet", tmp_path / "fit.parquet")
    assert list(read_table(tmp_path / "flaws.parquet", FLAWS).columns) == FLAWS.names
    assert read_table(tmp_path / "fit.parquet", FLAWS_FIT)["slope"].iat[0] == pytest.approx(expected.slope)
    plot_flaws(tmp_path / "flaws.parquet", tmp_path / "fit.parquet", tmp_path / "f.png", dataset="d", dpi=60)
    assert (tmp_path / "f.png").stat().st_size > 5000


def test_one_model_draws_without_a_fit(tmp_path):
    table, fit = flaws_tables(_counts("only", MODELS["middle"]))
    assert len(table) == 1 and fit["strongest_model"].iat[0] == "only"
    assert np.isnan(fit.loc[0, ["slope", "intercept", "r", "r2"]].astype(float)).all()
    assert "1 model" in fit["note"].iat[0] and fit["num_models"].iat[0] == 1
    save_figure(flaws_figure(table, fit, "d"), tmp_path / "one.png", dpi=60)
    assert (tmp_path / "one.png").stat().st_size > 5000


def test_without_strong_verifier_the_table_keeps_the_flaky_fraction(tmp_path):
    table, fit = flaws_tables(_counts("m", [(4, 2, None, 1), (4, 0, None, 0)]))
    row = table.iloc[0]
    assert not row["strong_verifier"] and np.isnan(row["false_positive_rate"])
    assert row["flaky_sample_fraction"] == pytest.approx(1 / 8)
    assert "no strong verifier" in fit["note"].iat[0]
    write_table(table, tmp_path / "t.parquet", FLAWS)
    write_table(fit, tmp_path / "f.parquet", FLAWS_FIT)
    with pytest.raises(MonkeysError, match="no model has strong-verifier counts"):
        plot_flaws(tmp_path / "t.parquet", tmp_path / "f.parquet", tmp_path / "x.png", dataset="d", dpi=60)


def test_bad_counts_are_clear_errors():
    with pytest.raises(MonkeysError, match="not on p1"):
        flaws_tables(_counts("m", [(4, 2, 1, 0), (4, 2, None, 0)]))
    with pytest.raises(MonkeysError, match="num_plus_correct <= num_correct"):
        flaws_tables(_counts("m", [(4, 2, 3, 0)]))
    with pytest.raises(MonkeysError, match="empty"):
        flaws_tables(_counts("m", [])[:0])


def test_rules_make_the_tables_figure_and_records(tmp_path, default_config):
    """The `flaws` and `plot_flaws` rules on three models' counts (no sampling)."""
    config = copy.deepcopy(default_config)
    config["models"] = {m: copy.deepcopy(config["models"]["gemma3-270m"]) for m in MODELS}
    config["plots"] = {"format": ["png"]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    for model, problems in MODELS.items():
        write_table(
            _counts(model, problems).assign(dataset="humaneval"),
            tmp_path / f"results/counts/{model}/humaneval.parquet",
            COUNTS,
        )
    figure = "results/figures/flaws/humaneval.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "config.yaml"),
            "--cores",
            "1",
            "--allowed-rules",
            "flaws",
            "plot_flaws",
            "--",
            figure,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for path in [
        figure,
        f"{figure}.prov.json",
        f"{figure}.lineage.txt",
        "results/flaws/humaneval.parquet",
        "results/flaws_fit/humaneval.parquet",
    ]:
        assert (tmp_path / path).stat().st_size > 0, path
    assert "results/counts/weak/humaneval.parquet" in (tmp_path / f"{figure}.lineage.txt").read_text()
    fit = read_table(tmp_path / "results/flaws_fit/humaneval.parquet", FLAWS_FIT)
    assert fit["num_models"].iat[0] == 3 and fit["strongest_model"].iat[0] == "strong"
