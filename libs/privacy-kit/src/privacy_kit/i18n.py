"""Dutch and English: the language of an answer follows `Accept-Language` (`nl` or `en`).

Texts are written in English in the code and translated through Babel catalogues (`.po` files
under each package's `locale/<lang>/LC_MESSAGES/messages.po`, read at first use; no compile
step). Two ways in:

- `tr("There is no purpose '{purpose}'.", purpose=pid)` returns a `Text`: a `str` that reads as
  the English sentence and remembers its template, so the error handler can say it in the
  caller's language. `Translator(locale_dir)` makes such a `tr` for a package.
- A plain English message (an `ApiError` built with an f-string before this module existed) is
  translated too when a catalogue has it: exactly, or as a template whose `{name}` slots match
  the message.

The language of a request: the first of `nl`/`en` in `Accept-Language` (by q-value), else the
service's `DEFAULT_LANGUAGE` (`en` unless set).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from babel.messages.pofile import read_po
from fastapi import Depends, Request
from starlette.requests import HTTPConnection

Language = Literal["nl", "en"]
LANGUAGES: tuple[Language, ...] = ("nl", "en")
SOURCE_LANGUAGE: Language = "en"
DEFAULT_LANGUAGE: Language = "en"

_SLOT = re.compile(r"\{(\w+)\}")


class Translator:
    """The catalogues of one package. Every translator made is also searched for plain
    messages (see `localize`)."""

    registry: list[Translator] = []

    def __init__(self, locale_dir: Path, domain: str = "messages") -> None:
        self.locale_dir = locale_dir
        self.domain = domain
        Translator.registry.append(self)

    def __call__(self, msgid: str, **params: Any) -> Text:
        return Text(msgid, params, self)

    @cached_property
    def catalogues(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            path = self.locale_dir / language / "LC_MESSAGES" / f"{self.domain}.po"
            if not path.is_file():
                continue
            with path.open("rb") as po:
                catalogue = read_po(po, locale=language)
            found[language] = {
                str(m.id): str(m.string) for m in catalogue
                if m.id and m.string and not m.fuzzy and isinstance(m.id, str)
            }
        return found

    @cached_property
    def _templates(self) -> dict[str, list[tuple[re.Pattern[str], str]]]:
        """Per language, each msgid with slots as a regular expression over the English text."""
        out: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        for language, entries in self.catalogues.items():
            out[language] = [
                (_template_regex(msgid), msgid) for msgid in entries if _SLOT.search(msgid)
            ]
        return out

    def gettext(self, language: str, msgid: str) -> str | None:
        return self.catalogues.get(language, {}).get(msgid)

    def match(self, language: str, message: str) -> str | None:
        """The translation of a finished English message, found exactly or by template."""
        exact = self.gettext(language, message)
        if exact is not None:
            return exact
        for regex, msgid in self._templates.get(language, []):
            found = regex.fullmatch(message)
            if found:
                return _fill(self.catalogues[language][msgid], found.groupdict())
        return None


def _template_regex(msgid: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    seen: set[str] = set()
    for slot in _SLOT.finditer(msgid):
        parts.append(re.escape(msgid[last:slot.start()]))
        name = slot.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        last = slot.end()
    parts.append(re.escape(msgid[last:]))
    return re.compile("".join(parts), re.DOTALL)


def _fill(template: str, params: dict[str, Any]) -> str:
    return _SLOT.sub(lambda m: str(params.get(m.group(1), m.group(0))), template)


class Text(str):
    """An English text that can say itself in another language."""

    msgid: str
    params: dict[str, Any]
    translator: Translator

    def __new__(cls, msgid: str, params: dict[str, Any], translator: Translator) -> Text:
        text = super().__new__(cls, _fill(msgid, params))
        text.msgid = msgid
        text.params = params
        text.translator = translator
        return text

    def in_language(self, language: str) -> str:
        if language == SOURCE_LANGUAGE:
            return str(self)
        template = self.translator.gettext(language, self.msgid)
        if template is None:
            return str(self)
        params = {k: v.in_language(language) if isinstance(v, Text) else v
                  for k, v in self.params.items()}
        return _fill(template, params)


class Joined(Text):
    """Texts joined by `sep` (e.g. the reasons a step cannot be taken yet), each said in the
    reader's language: `tr("Cannot be {state} yet: {missing}.", missing=Joined(reasons, "; "))`."""

    parts: list[str]
    sep: str

    def __new__(cls, parts: Iterable[str], sep: str) -> Joined:
        items = list(parts)
        text = str.__new__(cls, sep.join(items))
        text.msgid, text.params, text.translator = str(text), {}, tr
        text.parts, text.sep = items, sep
        return text

    def in_language(self, language: str) -> str:
        return self.sep.join(p.in_language(language) if isinstance(p, Text) else p
                             for p in self.parts)


def localize(message: str, language: str) -> str:
    """`message` in `language`: a `Text` by its template, a plain string by any catalogue."""
    if isinstance(message, Text):
        return message.in_language(language)
    if language == SOURCE_LANGUAGE:
        return message
    for translator in Translator.registry:
        found = translator.match(language, message)
        if found is not None:
            return found
    return message


def parse_accept_language(header: str) -> list[str]:
    """Primary language tags by preference: 'nl-NL,en;q=0.8' -> ['nl', 'en']."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag.split("-")[0]))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(header: str | None, default: str = DEFAULT_LANGUAGE,
              available: Iterable[str] = LANGUAGES) -> Language:
    offered = list(available)
    for tag in parse_accept_language(header or ""):
        if tag in offered:
            return tag  # type: ignore[return-value]
        if tag == "*":
            break
    return default if default in offered else SOURCE_LANGUAGE  # type: ignore[return-value]


def request_language(connection: HTTPConnection) -> Language:
    """The language to answer this request in (cached on the request)."""
    cached = connection.scope.get("state", {}).get("language")
    if cached is not None:
        return cached
    settings = getattr(connection.app.state, "settings", None)
    default = getattr(settings, "default_language", DEFAULT_LANGUAGE)
    language = negotiate(connection.headers.get("accept-language"), default)
    connection.scope.setdefault("state", {})["language"] = language
    return language


tr = Translator(Path(__file__).parent / "locale")


async def _language(request: Request) -> Language:
    return request_language(request)


# Dependency: the language to answer in, for views that show translated content.
RequestLanguage = Annotated[Language, Depends(_language)]
