"""Configuration: load YAML, validate against config/schema.yaml, fill defaults.

Errors are one line naming the offending key and what is allowed, so a bad
config fails before any job starts.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from monkeys.errors import MonkeysError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(MonkeysError, ValueError):
    """A configuration problem the user has to fix; the message says where and how."""


def _with_defaults(validator_class: type) -> type:
    """A validator class that fills `default` values of missing properties while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema) -> Iterator[Any]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _with_defaults(jsonschema.Draft202012Validator)


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """The JSON schema of the configuration, as a dict."""
    with open(path) as fh:
        return yaml.safe_load(fh)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        hint = f"allowed keys: {', '.join(allowed)}" if allowed else "no fixed keys here"
        return f"unknown key {', '.join(map(repr, extra))} under '{where}'; {hint}"
    if error.validator == "enum":
        return f"'{where}' is {error.instance!r}; allowed values: {error.validator_value}"
    if error.validator == "required":
        return f"'{where}' is missing a required key: {error.message}"
    if error.validator == "oneOf" and error.schema.get("oneOf"):
        options = [" + ".join(s.get("required", [])) for s in error.schema["oneOf"]]
        return f"'{where}' must set exactly one of: {', '.join(options)} (got {error.instance!r})"
    if error.validator == "propertyNames":
        return (f"name {error.instance!r} under '{where}' is not allowed: "
                f"use letters, digits, '.', '_' or '-' ({error.message})")
    return f"'{where}': {error.message}"


def validate_config(config: Mapping[str, Any], schema: Mapping[str, Any] | None = None) -> dict:
    """Return a validated deep copy of `config` with defaults filled; raise ConfigError."""
    schema = load_schema() if schema is None else schema
    filled = copy.deepcopy(dict(config))
    errors = sorted(_Validator(schema).iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise ConfigError(f"invalid config: {_describe(best)}")
    _check_semantics(filled)
    return filled


def _check_semantics(config: Mapping[str, Any]) -> None:
    """Cross-field checks the schema cannot express."""
    from monkeys.datasets.registry import DATASETS

    for name, entry in config["datasets"].items():
        registry = entry.get("registry", name)
        if registry not in DATASETS:
            where = f"datasets.{name}.registry" if "registry" in entry else f"datasets.{name}"
            raise ConfigError(
                f"invalid config: unknown dataset {registry!r} at '{where}'; "
                f"available datasets: {', '.join(sorted(DATASETS))}"
            )
        problem = dataset_entry_problem(name, entry, DATASETS[registry])
        if problem:
            raise ConfigError(f"invalid config: {problem}")
    for name, model in config["models"].items():
        parallel, block = model.get("parallel", 1), model.get("block")
        if block is not None and (block < parallel or block % parallel):
            raise ConfigError(
                f"invalid config: models.{name}.block is {block}, not a multiple of its "
                f"parallel ({parallel}); use a multiple such as {parallel * 4}, or null")


def dataset_entry_problem(name: str, entry: Mapping[str, Any], spec: Any) -> str | None:
    """What is wrong with a dataset entry beyond the schema (prompt, source), or None."""
    from monkeys.datasets.prompts import PromptError, resolve_template

    try:
        resolve_template(entry.get("prompt"), spec.prompt)
    except PromptError as exc:
        return f"'datasets.{name}.prompt': {exc}"
    if spec.default_source is None and not entry.get("source"):
        return (f"'datasets.{name}' needs a `source`: dataset {spec.name!r} has no pinned "
                f"default source (upstream: {spec.upstream})")
    return None


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and validate it; raise ConfigError with the file name on failure."""
    path = Path(path)
    try:
        with open(path) as fh:
            raw = yaml.safe_load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    try:
        return validate_config(raw)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
