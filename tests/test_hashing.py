"""Code hashes: which library files each stage's rerun trigger covers."""

from __future__ import annotations

from monkeys.hashing import PACKAGE_DIR, code_hash, module_closure


def _names(*modules: str) -> set[str]:
    return {str(p.relative_to(PACKAGE_DIR)) for p in module_closure(*modules)}


def test_closure_follows_imports_transitively():
    names = _names("monkeys.stages.fit")
    assert {"stages/fit.py", "scaling/powerlaw.py", "tables/coverage.py", "stages/__init__.py"} <= names
    assert "__init__.py" not in names  # the version string alone reruns nothing
    assert not any(n.startswith(("sampling/", "execution/", "plots")) for n in names)


def test_closure_sees_imports_inside_functions():
    # the embedded backend imports its batched variant lazily, inside from_config
    assert "sampling/batched.py" in _names("monkeys.sampling.embedded")


def test_a_sampling_job_hashes_its_own_backend_only():
    from monkeys.sampling.backends import BACKENDS, sampling_closure

    def names(backend):
        return {str(p.relative_to(PACKAGE_DIR)) for p in sampling_closure(backend)}

    assert not {"sampling/embedded.py", "sampling/openai_api.py"} & _names("monkeys.stages.sample")
    assert {"sampling/embedded.py", "sampling/batched.py"} <= names("embedded")
    assert not {"sampling/openai_api.py", "sampling/vllm_engine.py"} & names("embedded")
    assert "sampling/openai_api.py" in names("openai") and "sampling/embedded.py" not in names("openai")
    assert set(BACKENDS) == {"embedded", "vllm", "openai", "import"}


def test_an_execution_job_hashes_its_own_grader_only():
    from monkeys.grading.graders import grading_closure

    def names(grader):
        return {str(p.relative_to(PACKAGE_DIR)) for p in grading_closure(grader)}

    assert not any(n.startswith("execution/") for n in names("math"))
    assert "grading/math.py" not in names("unit_tests") | names("stdio")
    assert {"execution/judge.py", "execution/forkserver.py", "grading/unit_tests.py"} <= names("unit_tests")


def test_a_stage_hashes_only_the_table_schemas_it_uses():
    # Adding a column to the verdicts schema must not rerun sampling.
    assert "tables/verdicts.py" not in _names("monkeys.stages.sample")
    assert "tables/verdicts.py" in _names("monkeys.stages.execute")
    assert "tables/selection.py" not in _names("monkeys.stages.coverage")


def test_plotting_code_is_not_part_of_sampling():
    sample = _names("monkeys.stages.sample")
    assert "plots.py" not in sample and "metrics/passk.py" not in sample


def test_code_hash_changes_with_content(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = code_hash([a, b])
    assert code_hash([b, a]) == before
    b.write_text("y = 3\n")
    assert code_hash([a, b]) != before


def test_closure_hash_is_the_same_in_every_process():
    """String hashing is randomised per process; the closure (and so reruns) must not depend on it."""
    import subprocess
    import sys

    code = (
        "from monkeys.hashing import code_hash, module_closure; "
        "print(code_hash(module_closure('monkeys.stages.testgen', 'monkeys.stages.fetch')))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(seed), "PATH": "/usr/bin:/bin"},
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outputs) == 1


def test_code_hash_follows_meaning_not_comments_docstrings_or_layout(tmp_path):
    from monkeys.hashing import code_hash

    path = tmp_path / "mod.py"

    def digest(text: str) -> str:
        path.write_text(text)
        return code_hash([path])

    base = digest('"""Module."""\n\ndef f(x):\n    """Add one."""\n    return x + 1  # inc\n')
    same = [
        '"""Reworded module doc."""\n\ndef f(x):\n    """Add one, reworded."""\n    return x + 1\n',
        "# a new comment\ndef f(x):\n\n    return (x\n            + 1)\n",
        'def f(x):\n    """Only a docstring changed place."""\n    return x + 1\n',
        # functions' type annotations are not evaluated (from __future__ import annotations)
        "def f(x: int) -> int:\n    y: int = x + 1\n    return y\n".replace(
            "y: int = x + 1\n    return y", "return x + 1"
        ),
        'def f(x: "list[int] | None" = None) -> int:\n    return x + 1\n'.replace(" = None", ""),
    ]
    assert all(digest(text) == base for text in same)
    changed = [
        "def f(x):\n    return x + 2\n",
        "def f(y):\n    return y + 1\n",
        'def f(x):\n    s = "not a docstring"\n    return x + 1\n',
        "def f(x):\n    return x + 1\n\nLIMIT = 3\n",
        # a class variable's annotation can be a field (dataclasses): it counts
        "def f(x):\n    return x + 1\n\nclass C:\n    n: int = 1\n",
    ]
    assert digest("class C:\n    n: int = 1\n") != digest("class C:\n    n: float = 1\n")
    assert digest("def g():\n    n: int = 1\n    return n\n") == digest("def g():\n    n = 1\n    return n\n")
    assert all(digest(text) != base for text in changed)


def test_code_hash_of_unparseable_or_non_python_files_is_byte_exact(tmp_path):
    from monkeys.hashing import code_hash

    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    first = code_hash([broken])
    broken.write_text("def f(:\n# comment\n")
    assert code_hash([broken]) != first
