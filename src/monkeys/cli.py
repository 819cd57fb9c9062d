"""The `monkeys` command: run the workflow, check configs, list datasets, read provenance."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from monkeys.config import (
    ConfigError,
    default_config_file,
    describe_source,
    merge_config,
    read_config_file,
    workflow_config,
)
from monkeys.datasets.registry import DATASETS
from monkeys.hashing import PACKAGE_DIR
from monkeys.provenance import ProvenanceError, lineage, problems, read_record, render

REPO = PACKAGE_DIR.parents[1]


# Snakemake options that would replace (not add to) the config files `monkeys run` passes.
_CONFIGFILE_OPTIONS = ("--configfile", "--configfiles")


def _split_config_args(values: Sequence[str]) -> tuple[list[str], list[str]]:
    """`monkeys run --config` values: config files, and KEY=VALUE overrides for Snakemake's
    --config (a value with "=" that is not an existing file)."""
    files, overrides = [], []
    for value in values:
        if "=" in value and not Path(value).is_file():
            overrides.append(value)
        else:
            files.append(str(Path(value).resolve()))
    return files, overrides


def _run(args: argparse.Namespace, extra: list[str]) -> int:
    if not (REPO / "Snakefile").is_file():
        print(
            f"error: no Snakefile in {REPO}; `monkeys run` needs the repository checkout (pip install -e .)",
            file=sys.stderr,
        )
        return 2
    files, overrides = _split_config_args(args.config or [])
    if files and any(a.split("=", 1)[0] in _CONFIGFILE_OPTIONS for a in extra):
        print(
            "error: give every config file with --config (several merge in order), "
            "not also with --configfile",
            file=sys.stderr,
        )
        return 2
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        print(f"error: config file not found: {missing[0]}", file=sys.stderr)
        return 2
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--directory",
        str(REPO),
        "--snakefile",
        str(REPO / "Snakefile"),
    ]
    if not any(a in ("--cores", "-c", "--profile", "-j", "--jobs") for a in extra):
        command += ["--cores", "all"]
    # Our options after the user's, so a target among `extra` never lands in their lists.
    command += extra
    if files:
        command += ["--configfile", *files]
    if overrides:
        command += ["--config", *overrides]
    os.execv(sys.executable, command)
    return 0  # pragma: no cover - execv does not return


def _validate(args: argparse.Namespace) -> int:
    files = args.config or []
    try:
        given: dict = {}
        for path in files:  # merged in order, as Snakemake merges --configfile a.yaml b.yaml
            given = merge_config(given, read_config_file(path))
        config, source = workflow_config(given, files, default_config_file(REPO))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    where = describe_source(source)
    if args.show:
        print(f"# effective config, from {where}, with the schema's defaults filled in")
        print(yaml.safe_dump(config, sort_keys=False), end="")
    else:
        print(
            f"{where}: valid ({len(config['models'])} model(s): "
            f"{', '.join(config['models'])}; {len(config['datasets'])} dataset(s): "
            f"{', '.join(config['datasets'])})"
        )
    return 0


def _datasets(args: argparse.Namespace) -> int:
    for spec in DATASETS.values():
        print(f"{spec.name:12s} {spec.grader:11s} {spec.description}")
    return 0


def _provenance(args: argparse.Namespace) -> int:
    path = Path(args.artifact)
    if path.name.endswith(".prov.json"):
        path = path.with_name(path.name[: -len(".prov.json")])
    root = Path(args.directory)
    try:
        record = read_record(root / path)
    except ProvenanceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if record is None:
        print(
            f"error: {path} has no provenance record ({path}.prov.json); is it a monkeys "
            "artifact, and are you in the workflow directory (see --directory)?",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    code = record["code"]
    print(
        f"made by   rule {record['rule']} {record.get('wildcards') or ''} on {record['host']} "
        f"at {record['created_utc']}"
    )
    print(
        f"code      monkeys {code['monkeys']} commit {code.get('git_commit', 'n/a')}"
        f"{' (dirty)' if code.get('git_dirty') else ''}, library {code['library_sha256'][:12]}"
    )
    print(f"seeds     {record['seeds']}")
    if record.get("config_source"):
        print(f"config    from {describe_source(record['config_source'])}")
    print("lineage:")
    tree = lineage(path, verify=args.verify, root=root)
    for line in render(tree):
        print(f"  {line}")
    if args.verify:
        found = problems(tree)
        for where, problem in found:
            print(f"FAILED {where}: {problem}", file=sys.stderr)
        if found:
            return 1
        print("verified: every file in the lineage matches its recorded sha256")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `monkeys` console script."""
    parser = argparse.ArgumentParser(prog="monkeys", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the workflow (extra arguments go to snakemake)")
    run.add_argument(
        "--config",
        action="append",
        metavar="FILE|KEY=VALUE",
        help="experiment config file, the whole experiment (default: "
        "config/config.yaml); repeat it to merge several in order; "
        "KEY=VALUE overrides one key (Snakemake's --config)",
    )
    run.set_defaults(func=_run)
    validate = sub.add_parser("validate", help="check config file(s) against the schema")
    validate.add_argument(
        "config", nargs="*", help="config file(s), merged in order (default: config/config.yaml)"
    )
    validate.add_argument(
        "--show", action="store_true", help="print the effective config with defaults filled"
    )
    validate.set_defaults(func=_validate)
    datasets = sub.add_parser("datasets", help="list the datasets in the registry")
    datasets.set_defaults(func=_datasets)
    prov = sub.add_parser("provenance", help="show (and verify) where an artifact came from")
    prov.add_argument("artifact", help="a figure or table (or its .prov.json)")
    prov.add_argument("--json", action="store_true", help="print the artifact's whole record")
    prov.add_argument(
        "--verify",
        action="store_true",
        help="rehash every file in the lineage; exit 1 naming any that changed",
    )
    prov.add_argument(
        "--directory",
        "-d",
        default=".",
        help="workflow directory the record paths are relative to (default: .)",
    )
    prov.set_defaults(func=_provenance)
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "run":
        return int(args.func(args, extra))
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `monkeys validate --show | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
