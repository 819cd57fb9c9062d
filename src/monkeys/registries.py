"""Registries by name: a kind of component (sampler backend, grader) maps each name to the
module that implements it, imported by name only when a job runs, so that a job's code hash
covers the component it uses and not its siblings (monkeys.hashing)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

from monkeys.hashing import module_closure


class Registry:
    """Names of one kind of component and their modules."""

    def __init__(self, kind: str, modules: Mapping[str, str]) -> None:
        self.kind, self.modules = kind, dict(modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self.modules)

    def module_name(self, name: str) -> str:
        """The module of `name`; a clear error for an unknown one."""
        if name not in self.modules:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(self.modules)}")
        return self.modules[name]

    def load(self, name: str) -> ModuleType:
        """The module of `name`, imported."""
        return importlib.import_module(self.module_name(name))

    def closure(self, stage: str, name: str) -> list[Path]:
        """The library files a job of `stage` with component `name` runs."""
        return module_closure(stage, self.module_name(name))
