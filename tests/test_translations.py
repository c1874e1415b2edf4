"""The portal speaks English, Norwegian Bokmål, Danish and Swedish: every catalogue is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.test import Client
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"
TRANSLATED = ["nb", "da", "sv"]
SIMPLE_TRANSLATE = re.compile(r"""\{% (?:translate|trans) "([^"]+)" %\}""")


def catalogue(language: str):
    with (LOCALE / language / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po)


def source_strings() -> set[str]:
    """The {% translate "…" %} strings of our own templates."""
    found: set[str] = set()
    for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html"):
        found |= set(SIMPLE_TRANSLATE.findall(template.read_text()))
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    messages = [message for message in catalogue(language) if message.id]
    untranslated = [m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, untranslated[:10]
    assert not fuzzy, fuzzy[:10]


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogue_has_every_template_string(language):
    ids = {m.id for m in catalogue(language) if isinstance(m.id, str)}
    missing = sorted(source_strings() - ids)
    assert not missing, f"run makemessages and translate: {missing[:10]}"


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
