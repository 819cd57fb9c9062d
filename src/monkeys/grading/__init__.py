"""Graders: turn samples into verdicts (unit-test execution now; answer equivalence later)."""
