"""Configuration: load YAML, validate against config/schema.yaml, fill defaults.

Errors are one line naming the offending key and what is allowed, so a bad
config fails before any job starts.

The config files a user names are the whole experiment: several merge in order, and
config/config.yaml (the embedded default) is read only when none is named
(`workflow_config`). Which files made a run's config travels to its jobs' provenance
records in the environment variable CONFIG_SOURCE_ENV.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from monkeys.errors import MonkeysError
from monkeys.hashing import sha256_file

# Package data (config/schema.yaml and config/config.yaml in the checkout link to them), so an
# installed package (`pip install .`, a wheel in a container) validates without the checkout.
SCHEMA_PATH = Path(__file__).with_name("schema.yaml")
# The embedded default experiment, used when no config file is named.
DEFAULT_CONFIG_PATH = Path(__file__).with_name("config.yaml")
# Where the workflow puts its config's source (JSON) for the jobs' provenance records.
CONFIG_SOURCE_ENV = "MONKEYS_CONFIG_SOURCE"


class ConfigError(MonkeysError, ValueError):
    """A configuration problem the user has to fix; the message says where and how."""


def _with_defaults(validator_class: Any) -> Any:
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
        return (
            f"name {error.instance!r} under '{where}' is not allowed: "
            f"use letters, digits, '.', '_' or '-' ({error.message})"
        )
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
                f"parallel ({parallel}); use a multiple such as {parallel * 4}, or null"
            )


def dataset_entry_problem(name: str, entry: Mapping[str, Any], spec: Any) -> str | None:
    """What is wrong with a dataset entry beyond the schema (prompt, source), or None."""
    from monkeys.datasets.prompts import PromptError, resolve_template

    try:
        resolve_template(entry.get("prompt"), spec.prompt)
    except PromptError as exc:
        return f"'datasets.{name}.prompt': {exc}"
    if spec.default_source is None and not entry.get("source"):
        return (
            f"'datasets.{name}' needs a `source`: dataset {spec.name!r} has no pinned "
            f"default source (upstream: {spec.upstream})"
        )
    return None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping a YAML (or JSON) config file holds, unvalidated; ConfigError names the file."""
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
    return raw


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base` as Snakemake merges config files: mappings merge key by
    key, any other value (a list too) replaces the base's. Neither argument is changed."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def describe_source(source: Mapping[str, Any]) -> str:
    """One line saying where a config came from (a `config_source` record)."""
    files = " + ".join(f["path"] for f in source.get("files", [])) or "no file"
    if source.get("kind") == "default":
        text = f"{files} (the default: no config file named)"
    elif source.get("kind") == "module":
        text = "the config passed by a parent workflow's `module` statement"
    else:
        text = files
    overrides = source.get("overrides") or {}
    if overrides:
        text += " with --config " + " ".join(f"{k}={v!r}" for k, v in overrides.items())
    return text


def config_source(
    files: Sequence[str | Path], kind: str, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The provenance of a config: its files in merge order (path, sha256), how they were
    chosen (`kind`: "files" named by the user, "default", or "module") and --config overrides."""
    return {
        "kind": kind,
        "files": [{"path": str(f), "sha256": sha256_file(f)} for f in files],
        "overrides": copy.deepcopy(dict(overrides or {})),
    }


def default_config_file(basedir: str | Path) -> Path:
    """The default experiment: config/config.yaml of the working directory if it has one
    (Snakemake's convention for a deployed workflow), else the workflow's own under `basedir`,
    else the one this package ships."""
    local = Path("config") / "config.yaml"
    if local.is_file():
        return local
    workflow = Path(basedir) / "config" / "config.yaml"
    return workflow if workflow.is_file() else DEFAULT_CONFIG_PATH  # an installed package


_WHOLE_EXPERIMENT_HINT = (
    "; a config file you name is the whole experiment (nothing of config/config.yaml is "
    "merged in): copy config/config.yaml and edit it, or name it first to build on it "
    "(--configfile config/config.yaml my.yaml)"
)


def workflow_config(
    given: Mapping[str, Any],
    cli_files: Sequence[str | Path],
    default: str | Path = DEFAULT_CONFIG_PATH,
    *,
    overrides: Mapping[str, Any] | None = None,
    from_module: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The validated config of a run and its `config_source` record.

    `given` is what Snakemake built from the command line: the `cli_files` merged in order
    with the `--config` `overrides` on top (only the overrides when no file was named).
    With `cli_files` that is the experiment; without, `default` is read and the overrides
    go on top of it. `from_module`: `given` came from a parent workflow's `module` statement.
    """
    if from_module:
        raw, source = dict(given), config_source([], "module")
    elif cli_files:
        raw, source = dict(given), config_source(cli_files, "files", overrides)
    else:
        raw = merge_config(read_config_file(default), given)
        source = config_source([default], "default", overrides)
    try:
        return validate_config(raw), source
    except ConfigError as exc:
        hint = (
            _WHOLE_EXPERIMENT_HINT
            if cli_files and not from_module and any(key not in raw for key in ("models", "datasets"))
            else ""
        )
        raise ConfigError(f"{exc} (config from {describe_source(source)}){hint}") from None


def load_config(*paths: str | Path) -> dict:
    """Read one or more YAML config files (merged in order) and validate the result.

    Raise ConfigError naming the file(s) on failure.
    """
    if not paths:
        raise ConfigError("load_config needs at least one config file")
    raw: dict[str, Any] = {}
    for path in paths:
        raw = merge_config(raw, read_config_file(path))
    try:
        return validate_config(raw)
    except ConfigError as exc:
        names = " + ".join(map(str, paths))
        raise ConfigError(f"{names}: {exc}") from None
