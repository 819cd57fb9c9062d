"""Imported verdicts (`imported_correct`, e.g. monkey_business's `is_corrects`) and our grader.

An imported sample with a label is graded like any other (grading gives the normalised
answer majority vote counts, and our own verdict). Its verdict, `passed`, is then the label,
unless the model's `import.regrade` is true. Convention in the verdicts table:

- `status`, `error_type` stay what our grader found, so `status == "passed"` is our grader's
  verdict and `passed` the sample's verdict;
- `detail` starts with a line saying which decided: ``verdict: imported label (correct);
  grader: failed/wrong_answer`` (or ``verdict: grader (regrade); imported label: correct``).

`agreement` compares the two on every labelled sample: the agreement rate and the four
cells of the 2x2 table, per (model, dataset) (rule import_agreement writes it to
results/import_agreement/{model}/{dataset}.parquet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monkeys.tables.imports import IMPORT_AGREEMENT

KEY = ["model", "dataset", "problem_id", "sample_index"]


def _labels(verdicts: pd.DataFrame, samples: pd.DataFrame) -> pd.Series:
    """Each verdict's imported label (True/False, or None), by sample key."""
    labels = samples.set_index(KEY)["imported_correct"]
    index = pd.MultiIndex.from_frame(verdicts[KEY])
    return pd.Series(labels.reindex(index).to_numpy(), index=verdicts.index, dtype=object)


def _word(value: object) -> str:
    return "correct" if bool(value) else "wrong"


def apply_labels(verdicts: pd.DataFrame, samples: pd.DataFrame, regrade: bool) -> pd.DataFrame:
    """Verdicts whose `passed` is the imported label where there is one (unless `regrade`), and
    whose `detail` says which decided (see the module docstring)."""
    labels = _labels(verdicts, samples)
    labelled = labels.notna()
    if not labelled.any():
        return verdicts
    out = verdicts.copy()
    grader = out["status"].astype(str) + "/" + out["error_type"].fillna("").astype(str)
    grader = grader.str.rstrip("/")
    if regrade:
        heads = [f"verdict: grader (regrade); imported label: {_word(v)}" for v in labels[labelled]]
    else:
        out.loc[labelled, "passed"] = labels[labelled].astype(bool).to_numpy()
        heads = [
            f"verdict: imported label ({_word(v)}); grader: {g}"
            for v, g in zip(labels[labelled], grader[labelled], strict=True)
        ]
    out.loc[labelled, "detail"] = [
        f"{h}\n{d}" if isinstance(d, str) and d else h
        for h, d in zip(heads, out.loc[labelled, "detail"], strict=True)
    ]
    out["passed"] = out["passed"].astype(bool)
    return out


def agreement(samples: pd.DataFrame, verdicts: pd.DataFrame, *, regrade: bool) -> pd.DataFrame:
    """IMPORT_AGREEMENT rows, one per (model, dataset): our grader (`status == "passed"`) against
    the imported labels, on the labelled samples."""
    frame = verdicts[KEY + ["status"]].copy()
    frame["label"] = _labels(verdicts, samples)
    frame["ours"] = frame["status"] == "passed"
    rows = []
    for (model, dataset), part in frame.groupby(["model", "dataset"], sort=False):
        labelled = part[part["label"].notna()]
        label = labelled["label"].astype(bool)
        ours = labelled["ours"]
        n = len(labelled)
        disagree = labelled[label != ours]
        rows.append(
            {
                "model": model,
                "dataset": dataset,
                "decided_by": "grader" if regrade else "label",
                "num_samples": len(part),
                "num_labelled": n,
                "both_correct": int((label & ours).sum()),
                "label_only": int((label & ~ours).sum()),
                "grader_only": int((~label & ours).sum()),
                "both_wrong": int((~label & ~ours).sum()),
                "agreement": float((label == ours).mean()) if n else np.nan,
                "label_accuracy": float(label.mean()) if n else np.nan,
                "grader_accuracy": float(ours.mean()) if n else np.nan,
                "num_problems": int(part["problem_id"].nunique()),
                "num_problems_disagreeing": int(disagree["problem_id"].nunique()),
            }
        )
    return pd.DataFrame(rows, columns=IMPORT_AGREEMENT.names)


def describe(row: pd.Series) -> str:
    """One log line of an agreement row."""
    if not row["num_labelled"]:
        return f"{row['model']}/{row['dataset']}: no sample has an imported label"
    return (
        f"{row['model']}/{row['dataset']}: our grader agrees with the imported labels on "
        f"{row['agreement']:.4f} of {row['num_labelled']} labelled samples (label correct, "
        f"grader wrong: {row['label_only']}; grader correct, label wrong: "
        f"{row['grader_only']}; disagreements in {row['num_problems_disagreeing']} of "
        f"{row['num_problems']} problems); accuracy by the labels {row['label_accuracy']:.4f}, "
        f"by our grader {row['grader_accuracy']:.4f}; the verdict is the "
        f"{'grader' if row['decided_by'] == 'grader' else 'label'}'s"
    )
