"""Content hashes: files, text, and the code that produced an artifact."""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path, block_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's contents, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """The tree without docstrings (a string constant as the first statement of a body)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _strip_function_annotations(tree: ast.AST) -> ast.AST:
    """The tree without the type annotations of functions: their parameters' and return
    annotations, and annotated assignments in their bodies (made plain assignments). Under
    `from __future__ import annotations` none of these is evaluated; annotations of module and
    class variables stay (a dataclass's fields are its annotations)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.returns = None
            for arg in (
                *node.args.posonlyargs,
                *node.args.args,
                *node.args.kwonlyargs,
                node.args.vararg,
                node.args.kwarg,
            ):
                if arg is not None:
                    arg.annotation = None
            for inner in ast.walk(node):
                for field in ("body", "orelse", "finalbody"):
                    stmts = getattr(inner, field, None)
                    if isinstance(stmts, list):
                        setattr(inner, field, [_plain(s) for s in stmts])
    return tree


def _plain(stmt: ast.stmt) -> ast.stmt:
    if isinstance(stmt, ast.AnnAssign):
        if stmt.value is None:
            return ast.Pass()
        return ast.Assign(targets=[stmt.target], value=stmt.value)
    return stmt


def source_meaning(source: bytes, filename: str = "<source>") -> bytes:
    """What a Python file means to a hash: its syntax tree without comments, docstrings,
    formatting, line numbers or functions' type annotations. A file that does not parse is
    taken byte for byte."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError):
        return source
    tree = _strip_function_annotations(_strip_docstrings(tree))
    return ast.dump(tree, annotate_fields=False, include_attributes=False).encode()


def code_hash(paths: Iterable[str | Path]) -> str:
    """One sha256 over what the named source files and directories (*.py inside) mean,
    order-independent: comments, docstrings and formatting do not count (`source_meaning`).

    Used as a rule param so that a change to what a library module does reruns exactly the
    rules that import it (Snakemake's own code trigger only sees a rule's `script:` line),
    and a reworded comment or docstring reruns nothing.
    """
    files: set[Path] = set()
    for entry in map(Path, paths):
        if entry.is_dir():
            files.update(p for p in entry.rglob("*.py") if "__pycache__" not in p.parts)
        elif entry.exists():
            files.add(entry)
        else:
            raise FileNotFoundError(f"code_hash: no such file or directory: {entry}")
    digest = hashlib.sha256()
    root = PACKAGE_DIR.parent
    for path in sorted(files):
        try:
            name = path.resolve().relative_to(root)
        except ValueError:
            name = Path(path.name)
        content = path.read_bytes()
        if path.suffix == ".py":
            content = source_meaning(content, str(path))
        digest.update(str(name).encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def _module_file(name: str) -> Path | None:
    """The source file of module `monkeys.x.y` (package __init__ for packages), if it exists."""
    parts = name.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """`monkeys.*` modules imported anywhere in a file (also inside functions)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("monkeys.")}


def module_closure(*modules: str) -> list[Path]:
    """Source files of `modules` and every `monkeys` module they import, transitively.

    Static (from the source, including imports inside functions), so it also sees
    modules imported lazily. Subpackages' __init__ files are included; the top-level
    `monkeys/__init__.py` (only the version string) is not, so a release without code
    changes reruns nothing.
    """
    todo = [(name, True) for name in modules]
    files: dict[str, Path] = {}
    followed: set[str] = set()
    while todo:
        name, follow = todo.pop()
        if name in followed or (name in files and not follow):
            continue
        path = files.get(name) or _module_file(name)
        if path is None:
            continue
        files[name] = path
        if follow:
            followed.add(name)
            todo.extend((imported, True) for imported in sorted(_imports(path, name)))
        parent = name.rsplit(".", 1)[0]
        if parent.startswith("monkeys."):
            # A parent package's __init__ runs on import, but what it re-exports from
            # elsewhere does not change this module: hash it without following its imports.
            todo.append((parent, False))
    return sorted(set(files.values()))
