"""Measure the shape of the ``skmlp`` package: sizes and import cycles.

Prints, for the package under ``skmlp/``: files, lines, the largest file, class and function
(lines without docstrings, the way issue 23 counts them; the ``*_DOC`` string
constants that docstrings are assembled from count as docstrings), and every import cycle between
skmlp's modules (imports inside functions count too: a lazy import is still a dependency).
``tests/test_house.py`` holds the package to the limits below.

Usage: ``python tools/house.py [--markdown]`` from the repository root.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

MAX_FILE_LINES = 600
MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 80

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skmlp"


def _docstring_lines(tree):
    """Line numbers that belong to docstrings (module, class and function)."""
    lines = set()
    nodes = [tree] + [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    for node in nodes:
        body = getattr(node, "body", [])
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    # documentation kept in constants and put into docstrings (``SHARED_PARAMS_DOC``)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.endswith("_DOC") for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def module_name(path):
    """Dotted module name of ``path`` inside the repository."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def measure(package=PACKAGE):
    """Return one record per file, class and function, and the import graph."""
    files, blocks, graph = [], [], {}
    for path in sorted(package.rglob("*.py")):
        text = path.read_text()
        tree = ast.parse(text)
        doc = _docstring_lines(tree)
        n_lines = len(text.splitlines())
        rel = str(path.relative_to(ROOT))
        files.append((rel, n_lines, n_lines - len(doc)))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                span = range(node.lineno, node.end_lineno + 1)
                size = sum(1 for i in span if i not in doc)
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                blocks.append((kind, f"{rel}:{node.name}", size))
        name = module_name(path)
        graph[name] = _imports(tree, name, path.name == "__init__.py")
    return files, blocks, graph


def _imports(tree, name, is_package):
    """skmlp modules imported anywhere in ``tree`` (resolved relative imports)."""
    out = set()
    base = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("skmlp"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[: len(base) - node.level + 1]
                mod = ".".join(stem + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("skmlp"):
                continue
            out.add(mod)
            for alias in node.names:
                out.add(f"{mod}.{alias.name}")
    return out


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    known = set(graph)
    edges = {m: {d for d in deps if d in known and d != m} for m, deps in graph.items()}
    # a module depends on its package's __init__ only through explicit imports
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def summary(package=PACKAGE):
    """The numbers of the before/after table, as a dict."""
    files, blocks, graph = measure(package)
    classes = [b for b in blocks if b[0] == "class"]
    funcs = [b for b in blocks if b[0] == "function"]
    return {
        "files": len(files),
        "lines": sum(f[1] for f in files),
        "largest_file": max(files, key=lambda f: f[2]),
        "largest_class": max(classes, key=lambda b: b[2], default=("class", "-", 0)),
        "largest_function": max(funcs, key=lambda b: b[2], default=("function", "-", 0)),
        "cycles": cycles(graph),
        "over": [f for f in files if f[2] > MAX_FILE_LINES]
        + [b for b in classes if b[2] > MAX_CLASS_LINES]
        + [b for b in funcs if b[2] > MAX_FUNCTION_LINES],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, default=PACKAGE)
    args = parser.parse_args(argv)
    global ROOT
    ROOT = args.package.resolve().parent  # measure another checkout (``--package DIR/skmlp``)
    s = summary(args.package.resolve())
    print(f"files: {s['files']}  lines: {s['lines']}")
    f = s["largest_file"]
    print(f"largest file: {f[0]} ({f[1]} lines, {f[2]} without docstrings)")
    print(f"largest class: {s['largest_class'][1]} ({s['largest_class'][2]} lines)")
    print(f"largest function: {s['largest_function'][1]} ({s['largest_function'][2]} lines)")
    print(f"import cycles: {len(s['cycles'])}")
    for c in s["cycles"]:
        print("  " + " <-> ".join(c))
    print(f"over the limits ({MAX_FILE_LINES}/{MAX_CLASS_LINES}/{MAX_FUNCTION_LINES}):")
    for o in s["over"]:
        print("  ", *o)
    return 0


if __name__ == "__main__":
    sys.exit(main())
