"""The style stage (Inference Scaling fLaws): lint findings of false vs true positives.

Of the samples that pass the weak verifier (the benchmark's own tests), true positives also
pass the strong one (plus tests, official or generated) and false positives do not. Each is
linted with ruff (monkeys.lint, one run over all of them) as the file it was judged as,
prompt + completion: a completion alone continues the prompt's function and is often not
valid Python. Findings on the completion's lines count, and so do findings on the prompt's
lines that the prompt alone (its function given an empty body) does not have: ruff puts
function-level findings (too many returns, branches or statements) on the `def` line, which is
the prompt's. A finding the prompt carries by itself, such as an import of the prompt's that
the completion leaves unused, does not count. Rates are per non-blank line of the completion.

Per group: pooled findings per line, and the mean over samples of each sample's findings per
line with a percentile bootstrap band over samples; TP vs FP are compared with a two-sided
Mann-Whitney U test on the per-sample rates. Samples of one problem are not independent (and
false positives cluster on a few problems), so read the p-value as descriptive.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from monkeys.errors import MonkeysError
from monkeys.lint import lint_sources, ruff_version
from monkeys.metrics.bootstrap import bootstrap_mean_band
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.io import read_table, read_tables, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.style import STYLE, STYLE_RULES
from monkeys.tables.verdicts import VERDICTS

log = logging.getLogger(__name__)

GROUPS = ("true_positive", "false_positive")
TEST = "Mann-Whitney U, two-sided, on per-sample findings per line"
KEY = ["model", "dataset", "problem_id", "sample_index"]


def completion_source(prompt: str, completion: str) -> tuple[str, int]:
    """The file a sample is linted as, and its first line (1-based) that the completion is on."""
    source = prompt + completion
    return (source if source.endswith("\n") else source + "\n"), prompt.count("\n") + 1


def baseline_source(prompt: str) -> str:
    """The prompt with a `pass` body (indented like its last line, one level deeper after a
    line ending in a colon): what the prompt's lines are linted as on their own."""
    last = next((line for line in reversed(prompt.splitlines()) if line.strip()), "")
    indent = last[: len(last) - len(last.lstrip())]
    if last.rstrip().endswith(":"):
        indent += "    "
    return prompt + ("\n" if prompt and not prompt.endswith("\n") else "") + indent + "pass\n"


def nonblank_lines(text: str) -> int:
    """Lines of `text` with something other than whitespace on them."""
    return sum(1 for line in text.split("\n") if line.strip())


def sample_findings(
    problems: pd.DataFrame, samples: pd.DataFrame, verdicts: pd.DataFrame, select: Sequence[str]
) -> pd.DataFrame:
    """One row per sample that passes the weak tests: its group, non-blank completion lines
    and the (rule, name) of each finding on the completion's lines."""
    merged = verdicts[[*KEY, "passed", "plus_passed"]].merge(
        samples[[*KEY, "completion"]], on=KEY, how="left", validate="one_to_one"
    )
    weak = merged[merged["passed"].fillna(False).astype(bool)].reset_index(drop=True)
    where = f"{merged['model'].iat[0]}/{merged['dataset'].iat[0]}" if len(merged) else "?"
    unjudged = weak["plus_passed"].isna()
    if len(weak) and unjudged.all():
        raise MonkeysError(
            f"{where}: no strong verifier for any problem; use a dataset with plus "
            "tests or set the dataset's `strong_tests`"
        )
    if unjudged.any():  # no plus test and none could be generated: left out, as in `verifiers`
        log.warning(
            "%s: %d problems without a strong test left out of the style analysis: %s",
            where,
            weak.loc[unjudged, "problem_id"].nunique(),
            ", ".join(sorted(set(weak.loc[unjudged, "problem_id"]))[:10]),
        )
        weak = weak[~unjudged].reset_index(drop=True)
    if weak["completion"].isna().any():
        raise MonkeysError(f"{where}: verdicts without samples (rerun the sample shards)")
    by_id = problems.set_index("problem_id")
    missing = sorted(set(weak["problem_id"]) - set(by_id.index))
    if missing:
        raise MonkeysError(f"{where}: samples refer to problems not in the dataset: {missing[:5]}")
    graders = set(by_id.loc[weak["problem_id"], "grader"]) - {"unit_tests"}
    if graders:
        raise MonkeysError(
            f"{where}: the style analysis lints functions completing a prompt; "
            f"not supported for grader {sorted(graders)}"
        )
    prompts = by_id.loc[weak["problem_id"], "prompt"].tolist()
    files = [
        completion_source(prompt, completion)
        for prompt, completion in zip(prompts, weak["completion"], strict=True)
    ]
    baselines = {prompt: baseline_source(prompt) for prompt in dict.fromkeys(prompts)}
    # identical programs lint once
    unique = list(dict.fromkeys([source for source, _ in files] + list(baselines.values())))
    found = dict(zip(unique, lint_sources(unique, select), strict=True))
    own = {prompt: {(f.row, f.rule) for f in found[base]} for prompt, base in baselines.items()}
    weak["group"] = np.where(weak["plus_passed"].astype(bool), GROUPS[0], GROUPS[1])
    weak["lines"] = [nonblank_lines(c) for c in weak["completion"]]
    weak["rules"] = [
        [(f.rule, f.name) for f in found[source] if f.row >= start or (f.row, f.rule) not in own[prompt]]
        for (source, start), prompt in zip(files, prompts, strict=True)
    ]
    weak["findings"] = weak["rules"].map(len)
    return weak[[*KEY, "group", "lines", "findings", "rules"]]


def _rates(part: pd.DataFrame) -> np.ndarray:
    """Each sample's findings per line (samples with no non-blank line left out)."""
    part = part[part["lines"] > 0]
    return (part["findings"] / part["lines"]).to_numpy(np.float64)


def style_tables(
    per_sample: pd.DataFrame,
    *,
    model: str,
    dataset: str,
    select: Sequence[str],
    linter: str,
    resamples: int,
    seed: int,
    confidence: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per group, one row per (group, rule code)) from `sample_findings`' rows."""
    rates = {group: _rates(per_sample[per_sample["group"] == group]) for group in GROUPS}
    both = all(len(r) for r in rates.values())
    p_value = float(mannwhitneyu(*rates.values(), alternative="two-sided").pvalue) if both else np.nan
    summary, rules = [], []
    for group in GROUPS:
        part = per_sample[per_sample["group"] == group]
        lines, findings = int(part["lines"].sum()), int(part["findings"].sum())
        mean = lower = upper = np.nan
        if len(rates[group]):
            mean, lower, upper = (
                float(x[0]) for x in bootstrap_mean_band(rates[group][:, None], resamples, seed, confidence)
            )
        summary.append(
            {
                "group": group,
                "samples": len(part),
                "problems": part["problem_id"].nunique(),
                "lines": lines,
                "findings": findings,
                "findings_per_line": findings / lines if lines else np.nan,
                "mean_findings_per_line": mean,
                "lower": lower,
                "upper": upper,
            }
        )
        counts = Counter(rule for found in part["rules"] for rule in found)
        having = Counter(rule for found in part["rules"] for rule in set(found))
        for (rule, name), count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
            rules.append(
                {
                    "group": group,
                    "rule": rule,
                    "name": name,
                    "findings": count,
                    "samples": having[rule, name],
                    "findings_per_line": count / lines,
                }
            )
    summary = pd.DataFrame(summary).assign(p_value=p_value, test=TEST, select=",".join(select), linter=linter)
    rules = pd.DataFrame(rules, columns=["group", "rule", "name", "findings", "samples", "findings_per_line"])
    for frame in (summary, rules):
        frame.insert(0, "model", model)
        frame.insert(1, "dataset", dataset)
    return summary, rules


def style(
    problems_path: str | Path,
    sample_paths: Sequence[str],
    verdict_paths: Sequence[str],
    summary_out: str | Path,
    rules_out: str | Path,
    *,
    analysis: Mapping[str, Any],
    seed: int,
) -> None:
    """Write the lint-findings tables (by group, by group and rule) of one (model, dataset)."""
    samples = read_tables(list(sample_paths), SAMPLES)
    verdicts = read_tables(list(verdict_paths), VERDICTS)
    if verdicts.empty:
        raise MonkeysError(f"{summary_out}: no verdicts to analyse")
    select = list(analysis["lint_select"])
    per_sample = sample_findings(read_table(problems_path, PROBLEMS), samples, verdicts, select)
    summary, rules = style_tables(
        per_sample,
        model=verdicts["model"].iat[0],
        dataset=verdicts["dataset"].iat[0],
        select=select,
        linter=ruff_version(),
        resamples=int(analysis["bootstrap_resamples"]),
        seed=seed,
        confidence=float(analysis["confidence"]),
    )
    write_table(summary, summary_out, STYLE)
    write_table(rules, rules_out, STYLE_RULES)
    for row in summary.itertuples():
        log.info(
            "%s: %d samples, %d findings on %d lines (%.4f per line)",
            row.group,
            row.samples,
            row.findings,
            row.lines,
            row.findings_per_line,
        )
    log.info("p = %.3g (%s)", summary["p_value"].iat[0], TEST)
