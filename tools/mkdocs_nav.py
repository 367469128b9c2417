"""An MkDocs hook (mkdocs.yml's `hooks:`): every page in docs/ is in the menu, new ones under "More".

mkdocs.yml's nav orders the pages that exist when it was written; a page added
later (docs/batch.md, say) would be built but reachable only by a link.  This
appends each page the nav does not name, in file order, under "More".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def listed(nav: list[Any]) -> set[str]:
    """The pages a nav names, walked with a stack (sections hold lists of pages or of sections)."""
    found: set[str] = set()
    stack: list[Any] = list(nav)
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def unlisted(docs_dir: Path, nav: list[Any]) -> list[str]:
    named = listed(nav)
    pages = (p.relative_to(docs_dir).as_posix() for p in sorted(docs_dir.rglob("*.md")))
    return [p for p in pages if p not in named]


def on_config(config: Any, **kwargs: Any) -> Any:
    nav = config["nav"]
    if nav:
        more = unlisted(Path(config["docs_dir"]), nav)
        if more:
            nav.append({"More": more})
    return config
