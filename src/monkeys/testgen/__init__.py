"""Strong tests by type-aware input mutation (EvalPlus-style) for code datasets.

`generate_strong_tests(problems, seed)` returns, per problem, a `plus_test` check() body
whose expected outputs come from the reference solution; see `monkeys.testgen.generate`.
"""

from monkeys.testgen.generate import STRONG_TESTS_COLUMNS, TestgenSettings, generate_strong_tests

__all__ = ["STRONG_TESTS_COLUMNS", "TestgenSettings", "generate_strong_tests"]
