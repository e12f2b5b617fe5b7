"""Write a benchmark's result files: ``<stem>.json`` and ``<stem>.md``.

Every benchmark script records the same way: all its facts and measurements as
JSON, and a Markdown page with a title, the facts (without the bulky per-cell
``detail``) and the printed table.
"""

from __future__ import annotations

import json
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
