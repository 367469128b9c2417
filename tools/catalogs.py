"""Keep the message catalogs in step with the code: extract, merge, compile, check.

    python tools/catalogs.py            # extract the texts marked in gradcalc/, merge them into every
                                        # language's .po (keeping its translations), compile the .mo files
    python tools/catalogs.py --check    # exit 1 if a .mo is stale or a marked text has no translation

Texts are marked by the functions of gradcalc.i18n: ``tr("...")``, ``N_("...")``, ``msg("...", ...)``,
``ntr("one", "many", n)``.  Needs Babel (in the test extra); gradcalc itself reads the .mo files
with Python's own gettext.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gradcalc"
LOCALES = PACKAGE / "locale"
KEYWORDS = {"tr": None, "N_": None, "msg": None, "ntr": (1, 2)}
# Texts from the op table, marked where the table reads them (the rows' own strings are N_-marked too).


# tr("...") written inside an f-string, which Babel's tokenizer (Python 3.11) reads as one string.
IN_FSTRING = re.compile(r"""\b(?:tr|N_|msg)\((?P<q>["'])(?P<text>(?:(?!(?P=q)).)+)(?P=q)\s*[,)]""")


def extracted() -> Catalog:
    catalog = Catalog(project="gradcalc", domain="gradcalc")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for path in sorted(PACKAGE.rglob("*.py")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in IN_FSTRING.finditer(line):
                text = m.group("text").encode().decode("unicode_escape") if "\\" in m.group("text") else m.group("text")
                if text not in catalog:
                    catalog.add(text, None, [(str(path.relative_to(PACKAGE)), lineno)])
    # The op table's patterns and rules, which the tables say in the user's language.
    sys.path.insert(0, str(ROOT))
    from gradcalc.ops import OPS

    for op in OPS.values():
        for text in (op.pattern, op.rule):
            if text and text not in catalog:
                catalog.add(text, None, [("ops.py", 0)])
    return catalog


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def languages() -> list[Path]:
    return sorted(p for p in LOCALES.glob("*/LC_MESSAGES/gradcalc.po"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; write nothing")
    args = parser.parse_args()
    template = extracted()
    problems: list[str] = []
    for po_path in languages():
        with po_path.open("rb") as f:
            catalog = read_po(f)
        catalog.update(template, no_fuzzy_matching=True)
        missing = [m.id for m in catalog
                   if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
        obsolete = list(catalog.obsolete)
        lang = po_path.parent.parent.name
        if args.check:
            problems += [f"{lang}: no translation for {m!r}" for m in missing]
            with po_path.open("rb") as f:
                written = read_po(f)
            if mo_bytes(written) != (po_path.with_suffix(".mo").read_bytes() if po_path.with_suffix(".mo").exists()
                                     else b""):
                problems.append(f"{lang}: {po_path.with_suffix('.mo').name} is not compiled from the .po")
            new = {m.id for m in template if m.id} - {m.id for m in written if m.id}
            problems += [f"{lang}: the .po lacks {m!r}" for m in sorted(new, key=str)]
            continue
        catalog.obsolete.clear()
        out = io.BytesIO()
        write_po(out, catalog, omit_header=False, sort_output=False, width=100, include_lineno=False)
        po_path.write_bytes(out.getvalue())
        po_path.with_suffix(".mo").write_bytes(mo_bytes(catalog))
        print(f"{lang}: {len(catalog)} texts, {len(missing)} untranslated, {len(obsolete)} obsolete dropped")
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
