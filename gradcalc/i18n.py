"""The words gradcalc prints, in the user's language, through the standard gettext machinery.

gradcalc speaks English, and Korean with ``--lang ko`` or a Korean locale
(``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ko_KR.UTF-8``).  The
Korean words are the textbooks' (순전파, 역전파, 국소적 미분, 상류/하류 기울기,
연쇄법칙).  Another language is another catalog,
``gradcalc/locale/<lang>/LC_MESSAGES/gradcalc.po`` compiled to ``.mo`` by
``python tools/catalogs.py``; no code changes.

Only what people read is translated: tables, explanations, verdicts,
diagnoses and error messages on the terminal.  JSON keys and values, exit
codes and files for machines stay the same in every language — JSON is built
from the English text, never through :func:`tr`.

A message made with :func:`msg` is English text that remembers its template and
fields, so the same error reads in English in JSON and in Korean on the
terminal.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path
from typing import Any

DOMAIN = "gradcalc"
LOCALES = Path(__file__).parent / "locale"
LANGUAGES = ("en", "ko")  # en is the source language; the others have catalogs

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """The language the locale variables ask for, in gettext's order, if gradcalc has it; else English."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var)
        if not value:
            continue
        for part in value.split(":"):  # LANGUAGE may list several: ko:en
            code = part.split(".")[0].split("_")[0].split("@")[0].lower()
            if code in LANGUAGES:
                return code
            if code in ("c", "posix"):
                return "en"
        return "en"  # the first variable set decides, as in gettext
    return "en"


def set_language(code: str | None) -> str:
    """Speak ``code`` (``en``, ``ko``) from now on; None: what the environment asks for.  Returns the code."""
    global _translation, _language
    code = (code or language_from_environment()).lower()
    if code not in LANGUAGES:
        raise ValueError(f"--lang must be one of {', '.join(LANGUAGES)}, not {code!r}")
    _language = code
    _translation = gettext.NullTranslations() if code == "en" else gettext.translation(
        DOMAIN, LOCALES, languages=[code], fallback=True)
    return code


def language() -> str:
    return _language


def N_(text: str) -> str:  # gettext's name for "mark for translation, translate later"
    """Mark ``text`` for the catalogs without translating it here (row texts, constants)."""
    return text


class Message(str):
    """English text that remembers its template and fields, to be said again in another language."""

    template: str
    fields: dict[str, Any]

    def __new__(cls, template: str, **fields: Any) -> Message:
        text = super().__new__(cls, template.format(**fields) if fields else template)
        text.template = template
        text.fields = fields
        return text

    def translated(self) -> str:
        fields = {k: tr(v) if isinstance(v, Message) else v for k, v in self.fields.items()}
        local = _translation.gettext(self.template)
        try:
            return local.format(**fields) if fields else local
        except (KeyError, IndexError, ValueError):  # a catalog entry that does not fit: the English
            return str(self)


def msg(template: str, **fields: Any) -> Message:
    """A message from a template in English: ``msg("no value for {names}", names="y, z")``."""
    return Message(template, **fields)


def tr(text: str) -> str:
    """``text`` in the current language: a :class:`Message` by its template, any other text as a whole."""
    if _language == "en" or not text:
        return str(text)
    if isinstance(text, Message):
        return text.translated()
    return _translation.gettext(text)


def ntr(one: str, many: str, n: int) -> str:
    """The singular or plural of a text, by ``n``, in the current language (then ``.format`` it)."""
    return _translation.ngettext(one, many, n)
