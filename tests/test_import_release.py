"""Importing the Large Language Monkeys release as a user would: no id list, no template.

One release-format fixture per task (tests/fixtures/import_release, made from the format,
not from our preset): its `orig_dset_idx` are resolved against the dataset's original split
order, its questions checked against the problems' texts, its problems selected from the
file (`problems: from_import`), and its samples graded both ways: the release's labels kept
(the default) and re-graded (`regrade: true`), with the agreement of our grader and the
labels reported. One label per fixture is planted wrong; it must show up as a disagreement.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, snakemake

from monkeys.config import validate_config
from monkeys.datasets.registry import normalise
from monkeys.datasets.sources import read_source
from monkeys.sampling.importer import ImportBackendError
from monkeys.sampling.weights import resolve_weights, write_manifest
from monkeys.stages.execute import execute_shard
from monkeys.stages.import_agreement import import_agreement
from monkeys.stages.imports import prepare_import
from monkeys.stages.sample import sample_shard
from monkeys.tables.datasets import PROBLEMS
from monkeys.tables.imports import IMPORT_AGREEMENT, IMPORT_MAPPING
from monkeys.tables.io import read_table, write_table
from monkeys.tables.samples import SAMPLES
from monkeys.tables.verdicts import VERDICTS

FIXTURES = Path(__file__).parent / "fixtures"
RELEASES = FIXTURES / "import_release"
SAMPLING = {"temperature": 0.6, "top_p": 0.95, "top_k": 0, "min_p": 0.0, "max_tokens": 512, "stop": []}
DEFAULT_CONFIG = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
EXECUTION = validate_config(DEFAULT_CONFIG)["execution"]
README_SPEC = {"preset": "monkey_business", "problem_id_template": "{}"}  # README's example

# (registry, dataset source, release file, samples per problem)
TASKS = {
    "gsm8k": ("gsm8k", RELEASES / "gsm8k-test-head.jsonl", RELEASES / "GSM8K_release.json", 5),
    "math": ("math", RELEASES / "math-test-split.jsonl", RELEASES / "MATH_release.json", 4),
    "codecontests": (
        "codecontests",
        FIXTURES / "datasets" / "codecontests.jsonl",
        RELEASES / "CodeContests_release.json",
        3,
    ),
}


def _release(task: str) -> list[dict]:
    return json.loads(TASKS[task][2].read_text())


def _problems(root: Path, registry: str, source: Path) -> Path:
    path = root / "problems.parquet"
    write_table(normalise(registry, read_source({"path": str(source)})), path, PROBLEMS)
    write_manifest(resolve_weights({}), root / "weights.json")
    return path


def _import(root: Path, task: str, **spec: object) -> tuple[pd.DataFrame, dict]:
    """Convert, map and sample the whole release of `task` (one shard): the samples table."""
    registry, source, release, count = TASKS[task]
    problems = _problems(root, registry, source)
    spec = {**README_SPEC, "path": str(release), **spec}
    imported = prepare_import(spec, problems, root / "imports", model="mb", dataset=registry)
    out = root / "samples.parquet"
    sample_shard(
        problems,
        root / "weights.json",
        out,
        model="mb",
        model_spec={"backend": "import", "weights": {}, "import": spec},
        selection={"problems": "from_import"},
        sampling=SAMPLING,
        seed=1,
        start=0,
        stop=count,
        progress_interval_s=0,
        imported=imported,
        import_mappings=[imported["mapping"]],
    )
    return read_table(out, SAMPLES), imported


def _grade(root: Path, task: str, *, regrade: bool, grading: str = "paper") -> tuple[pd.DataFrame, pd.Series]:
    """Verdicts of the imported shard, and the agreement row for (mb, dataset)."""
    out = root / f"verdicts-{regrade}-{grading}.parquet"
    execute_shard(
        root / "problems.parquet",
        root / "samples.parquet",
        out,
        execution={**EXECUTION, "workers": 2},
        grading=grading,
        regrade=regrade,
    )
    table = root / f"agreement-{regrade}-{grading}.parquet"
    import_agreement([root / "samples.parquet"], [out], table, regrade=regrade)
    return read_table(out, VERDICTS), read_table(table, IMPORT_AGREEMENT).iloc[0]


@pytest.mark.parametrize("task", list(TASKS))
def test_a_release_maps_by_its_own_keys(tmp_path, task):
    """orig_dset_idx resolves against the split order; the problems come from the file; every
    sample and label lands on the problem whose text the release states."""
    registry = TASKS[task][0]
    samples, imported = _import(tmp_path, task)
    problems = read_table(tmp_path / "problems.parquet", PROBLEMS)
    meta = problems["metadata"].map(json.loads)
    by_index = dict(zip(meta.map(lambda m: m["source_index"]), problems["problem_id"], strict=True))
    release = _release(task)
    expected = [by_index[r["orig_dset_idx"]] for r in release]
    assert list(dict.fromkeys(samples["problem_id"])) == expected  # the file's, none listed
    statement = dict(zip(problems["problem_id"], meta.map(lambda m: m.get("statement")), strict=True))
    for record in release:
        pid = by_index[record["orig_dset_idx"]]
        assert statement[pid].strip() == record["question"].strip()
        rows = samples[samples["problem_id"] == pid].sort_values("sample_index")
        assert rows["completion"].tolist() == record["samples"]
        assert rows["imported_correct"].tolist() == record["is_corrects"]
    mapping = read_table(imported["mapping"], IMPORT_MAPPING)
    assert set(mapping["status"]) == {"matched"} and set(mapping["dataset"]) == {registry}
    if task == "gsm8k":  # the README's example works as written: GSM8K/<orig_dset_idx>
        assert expected == [f"GSM8K/{r['orig_dset_idx']}" for r in release]


@pytest.mark.parametrize("task", list(TASKS))
def test_labels_decide_unless_regrade_and_agreement_is_reported(tmp_path, task):
    _import(tmp_path, task)
    labels = pd.Series([c for r in _release(task) for c in r["is_corrects"]])
    kept, row = _grade(tmp_path, task, regrade=False)
    regraded, again = _grade(tmp_path, task, regrade=True)
    # labels kept: `passed` is the release's is_corrects; the grader's own view is the status
    assert kept["passed"].tolist() == labels.tolist()
    assert kept["status"].tolist() == regraded["status"].tolist()
    assert kept["detail"].str.startswith("verdict: imported label (").all()
    # regraded: `passed` is our grader's; the planted label is the one disagreement
    assert regraded["passed"].tolist() == (regraded["status"] == "passed").tolist()
    assert regraded["detail"].str.startswith("verdict: grader (regrade); imported label:").all()
    flipped = regraded["passed"] != labels
    assert flipped.sum() == 1 and (labels[flipped]).all()  # the planted wrong label
    for table, decided in ((row, "label"), (again, "grader")):
        assert table["decided_by"] == decided
        assert (table["num_labelled"], table["label_only"], table["grader_only"]) == (len(labels), 1, 0)
        assert table["agreement"] == pytest.approx(1 - 1 / len(labels))
        assert table["num_problems_disagreeing"] == 1
    assert row["label_accuracy"] == pytest.approx(labels.mean())
    assert row["grader_accuracy"] == pytest.approx(labels.mean() - 1 / len(labels))


def test_lenient_grading_disagrees_with_the_release_where_the_rules_differ(tmp_path):
    """Under `lenient`, GSM8K's continuation after `#### 18` and two answers without `#### N`
    disagree with the authors' labels too: the agreement the table reports drops to 11/15."""
    _import(tmp_path, "gsm8k")
    verdicts, row = _grade(tmp_path, "gsm8k", regrade=True, grading="lenient")
    assert (row["label_only"], row["grader_only"], row["both_correct"], row["both_wrong"]) == (2, 2, 7, 4)
    assert row["agreement"] == pytest.approx(11 / 15)
    assert row["num_problems_disagreeing"] == 3


def test_math500_keeps_no_split_index_so_match_by_question(tmp_path):
    """MATH-500 is a subset of MATH's test split: orig_dset_idx cannot be resolved there
    (a clear error naming the fix), and `match: question` maps the release by its text."""
    problems = _problems(tmp_path, "math500", FIXTURES / "datasets" / "math500.jsonl")
    spec = {**README_SPEC, "path": str(TASKS["math"][2])}
    with pytest.raises(
        ImportBackendError, match="keeps no index into its original split.*import.match: question"
    ):
        prepare_import(spec, problems, tmp_path / "imports", model="mb", dataset="math500")
    imported = prepare_import(
        {"path": spec["path"], "preset": "monkey_business", "match": "question"},
        problems,
        tmp_path / "imports",
        model="mb",
        dataset="math500",
    )
    mapping = read_table(imported["mapping"], IMPORT_MAPPING)
    assert mapping["problem_id"].tolist() == [
        "test/precalculus/807.json",
        "test/algebra/2584.json",
        "test/number_theory/572.json",
    ]


def test_another_split_order_is_reported_never_guessed(tmp_path):
    """MATH read from a directory (path order) is not the release's split order: the questions
    differ, and the import stops naming each key and where the texts differ."""
    problems = _problems(tmp_path, "math", FIXTURES / "datasets" / "MATH")
    spec = {**README_SPEC, "path": str(TASKS["math"][2])}
    with pytest.raises(ImportBackendError) as error:
        prepare_import(spec, problems, tmp_path / "imports", model="mb", dataset="math")
    message = str(error.value)
    assert "0 of 3 problem keys matched" in message
    assert "key '0' (text_differs: texts differ at character 0" in message
    assert "key '3' (no_problem: no problem has index 3" in message
    assert "unmatched: drop" in message


def test_a_question_that_differs_is_dropped_when_asked(tmp_path):
    records = _release("gsm8k")
    records[1]["question"] = records[1]["question"].replace("house", "horse")
    path = tmp_path / "GSM8K_edited.json"
    path.write_text(json.dumps(records))
    problems = _problems(tmp_path, "gsm8k", TASKS["gsm8k"][1])
    spec = {**README_SPEC, "path": str(path)}
    with pytest.raises(
        ImportBackendError,
        match=r"2 of 3 problem keys matched.*key '2' "
        r"\(text_differs: .*flipping a horse",
    ):
        prepare_import(spec, problems, tmp_path / "imports", model="mb", dataset="gsm8k")
    imported = prepare_import(
        {**spec, "unmatched": "drop"}, problems, tmp_path / "imports", model="mb", dataset="gsm8k"
    )
    mapping = read_table(imported["mapping"], IMPORT_MAPPING)
    assert mapping.set_index("key")["status"].to_dict() == {
        "0": "matched",
        "2": "text_differs",
        "3": "matched",
    }


def test_the_readme_example_in_the_workflow(tmp_path):
    """The README's import, as written, on GSM8K with `problems: from_import`: the verdicts
    keep the labels and results/import_agreement reports the planted disagreement; setting
    `regrade: true` re-grades without re-importing or re-sampling."""
    config = copy.deepcopy(DEFAULT_CONFIG)
    release = tmp_path / "GSM8K_Llama-3-8B-Instruct.json"
    release.write_text(TASKS["gsm8k"][2].read_text())
    config["models"] = {
        "llama3-8b-published": {
            "backend": "import",
            "import": {"path": release.name, "preset": "monkey_business", "problem_id_template": "{}"},
        }
    }
    config["datasets"] = {"gsm8k": {"source": {"path": str(TASKS["gsm8k"][1])}, "problems": "from_import"}}
    config["sampling"].update(num_samples=5, samples_per_shard=5)
    target = "results/import_agreement/llama3-8b-published/gsm8k.parquet"
    result = snakemake(tmp_path, config, "--cores", "2", target)
    assert result.returncode == 0, result.stdout + result.stderr
    row = read_table(tmp_path / target, IMPORT_AGREEMENT).iloc[0]
    assert (row["decided_by"], row["num_labelled"], row["label_only"], row["grader_only"]) == (
        "label",
        15,
        1,
        0,
    )
    verdicts = read_table(tmp_path / "results/verdicts/llama3-8b-published/gsm8k/0-5.parquet", VERDICTS)
    assert verdicts["passed"].sum() == 9  # the release's 9 correct labels, the planted one too
    log = (tmp_path / "logs/import_agreement/llama3-8b-published/gsm8k.log").read_text()
    assert "agrees with the imported labels on 0.9333 of 15 labelled samples" in log
    config["models"]["llama3-8b-published"]["import"]["regrade"] = True
    dry = snakemake(tmp_path, config, "--cores", "2", "--dry-run", target)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "execute_shard" in dry.stdout and "import_agreement" in dry.stdout
    assert "sample_shard" not in dry.stdout and "import_release" not in dry.stdout
