"""Write a benchmark's result files: ``<stem>.json`` and ``<stem>.md``.

Every benchmark script records the same way: all its facts and measurements as
JSON, and a Markdown page with a title, the facts (without the bulky per-cell
``detail``) and the printed table. Recorded commands and paths name no folder of the
machine that ran them: :func:`portable_command` and :func:`portable` write the data
folder as ``DIR``, an output folder as ``OUT``, a temporary one as ``TMP``, the code
trees of a comparison as ``BEFORE``/``AFTER`` and files of this repository relative
to its root.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path


def write_markdown(stem: Path, title: str, facts: dict, table: str, detail: str) -> None:
    """Write ``<stem>.md``: ``title``, ``facts`` less ``facts[detail]``, then ``table``."""
    summary = {k: v for k, v in facts.items() if k != detail}
    Path(stem).with_suffix(".md").write_text(
        f"# {title}\n\n```\n{json.dumps(summary, indent=2)}\n```\n\n{table}\n"
    )


def write_results(stem: Path, title: str, facts: dict, table: str, detail: str) -> None:
    """Write ``<stem>.json`` (all of ``facts``) and ``<stem>.md`` (see :func:`write_markdown`)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(facts, indent=2) + "\n")
    write_markdown(stem, title, facts, table, detail)


# -- recorded commands and paths name no folder of the machine that ran them --------------

ROOT = Path(__file__).resolve().parent.parent
_PATH = re.compile(r"(?<![\w.:/~-])(?:/|~/)[^\s\"'`(),;:|]*")  # an absolute path in text


def _forms(folder) -> set[Path]:
    folder = Path(os.path.abspath(os.path.expanduser(folder)))
    return {folder, folder.resolve()}


def portable_path(path, folders: dict | None = None) -> str:
    """``path`` as recorded: placeholders for this machine's folders.

    ``folders`` maps a placeholder (``"DIR"``, ``"OUT"``, ``"TMP"``, ``"BEFORE"``...) to a
    folder or a list of folders (``None`` entries are skipped); a path in one of them is
    written from its placeholder (``DIR/train.csv``). Then a path in this repository is
    written relative to its root, one in a copy of it (a worktree, a snapshot) likewise,
    one under the system's temporary folder as ``TMP/...`` (less the temporary folder's
    own first level, such as ``tmpab12cd``), one under the home folder as ``~/...``;
    any other path is returned as given (such as ``/usr/bin/time``).
    """
    known = [(form, name) for name, given in (folders or {}).items()
             for folder in (given if isinstance(given, (list, tuple, set)) else [given])
             if folder not in (None, "") for form in _forms(folder)]  # fmt: skip
    known += [(form, ".") for form in _forms(ROOT)]
    here = _forms(path)
    for folder, name in sorted(known, key=lambda k: -len(k[0].parts)):  # the deepest first
        for p in here:
            if p == folder or folder in p.parents:
                rest = p.relative_to(folder).as_posix()
                return rest if name == "." else name if rest == "." else f"{name}/{rest}"
    p = max(here, key=lambda q: len(q.parts))
    for i in range(2, len(p.parts) - 1):  # a copy of this repository: benchmarks/..., docs/...
        if (ROOT / p.parts[i]).is_dir() and ROOT.joinpath(*p.parts[i:]).exists():
            return Path(*p.parts[i:]).as_posix()
    for p in here:
        for tmp in _forms(tempfile.gettempdir()) | _forms("/tmp"):
            if tmp in p.parents:
                return Path("TMP", *p.relative_to(tmp).parts[1:]).as_posix()
        if Path.home() != Path("/") and Path.home() in p.parents:
            return Path("~", p.relative_to(Path.home())).as_posix()
    return str(path)


def portable_text(text: str, folders: dict | None = None) -> str:
    """``text`` with each absolute path in it made portable (see :func:`portable_path`)."""
    return _PATH.sub(lambda m: portable_path(m.group(), folders), text)


def portable(value, folders: dict | None = None):
    """:func:`portable_text` on every string in ``value``, a string, dict or list (JSON data)."""
    if isinstance(value, str):
        return portable_text(value, folders)
    if isinstance(value, dict):
        return {k: portable(v, folders) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, folders) for v in value]
    return value


def portable_command(args, options: dict | None = None, folders: dict | None = None) -> str:
    """Command-line ``args`` joined by spaces, as recorded.

    ``options`` maps an option to its value's placeholder (``{"--mnist": "DIR"}``), or to a
    function of the value; ``--opt value`` and ``--opt=value`` both count. Every other
    argument has its absolute paths made portable (:func:`portable_text`).
    """
    options, out, args = options or {}, [], list(args)
    for i, arg in enumerate(args):
        opt, eq, value = arg.partition("=")
        if i and args[i - 1] in options:
            new = options[args[i - 1]]
            arg = new(arg) if callable(new) else new
        elif eq and opt in options:
            new = options[opt]
            arg = f"{opt}={new(value) if callable(new) else new}"
        else:
            arg = portable_text(arg, folders)
        out.append(arg)
    return " ".join(out)
