"""Tables of imported sample sets (the `import` backend, monkeys.sampling.importer)."""

from __future__ import annotations

import pyarrow as pa

# A release file converted once (rule import_release): one row per sample, keyed by the file's
# own problem key. Each row group holds one key's samples (at most `rows_per_group`), so a
# sampling shard reads only the row groups of its problems and sample indices.
RELEASE_SAMPLES = pa.schema(
    [
        ("key", pa.string()),  # the file's problem key, as text (e.g. "663")
        ("sample_index", pa.int32()),
        ("completion", pa.string()),
        ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int32()),  # -1: the file has none
        ("completion_tokens", pa.int32()),  # -1: the file has none
        ("correct", pa.bool_()),  # the file's verdict (e.g. `is_corrects`); null = none
        ("score", pa.float64()),  # the file's reward score; null = none
    ]
)

# One row per problem key of a converted release, in file order.
RELEASE_PROBLEMS = pa.schema(
    [
        ("key", pa.string()),
        ("position", pa.int32()),  # the key's first row in the file (0-based)
        ("split", pa.string()),  # e.g. `orig_dset_split`; "" = not in the file
        ("question", pa.string()),  # the problem text the file states; "" = none
        ("num_samples", pa.int32()),
        ("num_labelled", pa.int32()),  # samples with a verdict in the file
        ("num_labelled_correct", pa.int32()),
    ]
)

# How a release's keys map to a dataset's problems (rule import_map): one row per key.
IMPORT_MAPPING = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("key", pa.string()),
        ("problem_id", pa.string()),  # null where the key maps to no problem
        ("status", pa.string()),  # matched, not_selected, no_problem, ambiguous, text_differs,
        # split_differs (see monkeys.sampling.release_map)
        ("detail", pa.string()),
        ("num_samples", pa.int32()),
    ]
)

# Agreement of our grader with an import's labels, per (model, dataset) (rule import_agreement).
IMPORT_AGREEMENT = pa.schema(
    [
        ("model", pa.string()),
        ("dataset", pa.string()),
        ("decided_by", pa.string()),  # "label" (the import's verdicts) or "grader" (regrade)
        ("num_samples", pa.int64()),  # graded samples
        ("num_labelled", pa.int64()),  # of those, with an imported label
        ("both_correct", pa.int64()),
        ("label_only", pa.int64()),  # the label says correct, our grader wrong
        ("grader_only", pa.int64()),  # our grader says correct, the label wrong
        ("both_wrong", pa.int64()),
        ("agreement", pa.float64()),  # (both_correct + both_wrong) / num_labelled; NaN if 0
        ("label_accuracy", pa.float64()),  # fraction correct by the labels
        ("grader_accuracy", pa.float64()),  # fraction correct by our grader
        ("num_problems", pa.int64()),
        ("num_problems_disagreeing", pa.int64()),
    ]
)
