"""When something goes wrong, members get a page in their language with a way back, not a bare server message."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_an_unknown_address_shows_the_clubs_page_in_the_members_language(client, member):
    client.force_login(member.user)
    client.cookies["django_language"] = "nb"
    response = client.get("/vouchers/NOSUCHCODE/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Vi finner ikke den siden" in html and f'href="{reverse("portal:home")}"' in html
    assert ">Oversikt</a>" in html  # the portal's own frame, with its tabs


def test_the_api_still_answers_404_in_json(client):
    response = client.get("/api/v1/nothing-here/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_server_error_page_needs_no_database_and_speaks_the_language(settings):
    with translation.override("sv"):
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Något gick fel" in html and "Dina poäng är i säkerhet" in html
