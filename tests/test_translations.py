"""The portal speaks English, Norwegian Bokmål, Danish and Swedish: every catalogue is complete."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils import translation
from django.utils.translation.template import templatize

BASE = Path(settings.BASE_DIR)
LOCALE = BASE / "locale"
TRANSLATED = ["nb", "da", "sv"]
SOURCES = ["config", "members", "loyalty", "referrals"]
# What makemessages finds: Django's gettext functions, lazy or not, with plurals and contexts.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext_lazy": (1, 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


def catalogue(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po)


@cache
def source_messages() -> dict[tuple[str, str | None], str]:
    """Every translatable string of our code and templates, as makemessages would extract it, with where it is.

    Templates go through Django's own ``templatize`` (what makemessages does before xgettext), so
    ``{% blocktranslate %}`` with variables, plurals and contexts are found as well as ``{% translate %}``.
    """
    files = [path for folder in SOURCES for path in (BASE / folder).rglob("*.py") if "migrations" not in path.parts]
    files += sorted((BASE / "templates").rglob("*.html"))
    found: dict[tuple[str, str | None], str] = {}
    for path in files:
        source = path.read_text()
        if path.suffix == ".html":
            # templatize keeps the template's indentation, which Python's tokenizer would trip on.
            source = "\n".join(line.lstrip() for line in templatize(source, origin=str(path)).splitlines())
        for lineno, message, _comments, context in extract("python", io.BytesIO(source.encode()), keywords=KEYWORDS):
            singular = message if isinstance(message, str) else message[0]
            if singular:
                found.setdefault((singular, context), f"{path.relative_to(BASE)}:{lineno}")
    return found


def test_the_extraction_finds_template_and_code_strings():
    messages = source_messages()
    assert ("Your points", None) in messages  # {% translate %}
    assert ("%(missing)s point to %(tier)s", None) in messages  # {% blocktranslate count %}
    assert ("Your birthday cannot be in the future.", None) in messages  # gettext_lazy in a form


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    messages = [message for message in catalogue(language) if message.id]
    untranslated = [m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_has_every_string_of_the_code_and_templates(language):
    known = catalogue(language)
    missing = [f"{where}: {key[0]!r}" for key, where in source_messages().items() if known.get(*key) is None]
    assert not missing, "add these to locale/*/LC_MESSAGES/django.po and translate them:\n" + "\n".join(missing)


@pytest.mark.parametrize(("language", "overview"), [("nb", "Oversikt"), ("da", "Oversigt"), ("sv", "Översikt")])
def test_pages_come_out_in_the_members_language(db, member, language, overview):
    client = Client()
    client.force_login(member.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get("/").content.decode()
    assert f'<html lang="{language}">' in html
    assert f">{overview}</a>" in html
    with translation.override(language):
        assert translation.gettext("Your points") != "Your points"
