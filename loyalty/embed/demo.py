"""The demo storefront, ``/demo/storefront/``: a shop's product page as its theme would render it, with Klubb's
snippet, "earn N points" badges and, while "signed in as Kari", her identity signed here on the server with the
demo storefront's secret, exactly as the README's Shopify and WooCommerce recipes sign it.

Served only with ``DEBUG`` on or ``KLUBB_DEMO_STOREFRONT`` set. Open it on another host name than Klubb's
(``http://localhost:8000/demo/storefront/`` while Klubb is ``http://127.0.0.1:8000``): the page then loads the
widget from the other name, so that the widget runs cross-origin, with CORS, as on a real shop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from loyalty.models import Storefront
from loyalty.shops.storefront import identity_signature

DEMO_SHOP = "nordlys-sport"  # the shop ``manage.py seed_demo`` makes, with its storefront widget
# Kari as the demo shop knows her: its customer id for her, and her email.
DEMO_CUSTOMER_ID, DEMO_EMAIL = "demo-1001", "kari@example.com"
# The other name of this machine: the page is the shop on one, the widget comes from Klubb on the other.
OTHER_NAME = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}


@dataclass(frozen=True)
class Product:
    name: str | Promise
    category: str
    sku: str
    price: Decimal


PRODUCTS = [
    Product(_("Trail running shoes"), "running", "SHOE-TRAIL-1", Decimal("1249.00")),
    Product(_("Merino base layer"), "clothing", "MERINO-TOP-2", Decimal("899.00")),
    Product(_("Cross-country skis"), "skiing", "SKI-XC-3", Decimal("3490.00")),
    Product(_("Running socks, three pairs"), "running", "SOCK-3", Decimal("199.90")),
    Product(_("Head torch"), "hiking", "LAMP-4", Decimal("549.00")),
    Product(_("Tennis racket"), "tennis", "RACKET-5", Decimal("1790.00")),
]


def demo_enabled() -> bool:
    return bool(settings.DEBUG or settings.KLUBB_DEMO_STOREFRONT)


def klubb_origin(request: HttpRequest) -> str:
    """Where the page loads Klubb from: this machine's other name at the same port, or the portal's address
    when the page is opened under any other name."""
    host = request.get_host()
    name, _colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if name in OTHER_NAME:
        return f"{request.scheme}://{OTHER_NAME[name]}:{port}" if port else f"{request.scheme}://{OTHER_NAME[name]}"
    portal = urlsplit(settings.KLUBB_PORTAL_URL)
    return f"{portal.scheme}://{portal.netloc}"


def signed_identity(*, storefront: Storefront, customer_id: str, email: str) -> dict[str, Any]:
    """What a theme renders for its signed-in customer: the id, email and time it signed, and the signature."""
    timestamp = int(time.time())
    signature = identity_signature(secret=storefront.secret, customer_id=customer_id, email=email, timestamp=timestamp)
    return {"customer_id": customer_id, "email": email, "timestamp": timestamp, "signature": signature}


@require_GET
def storefront(request: HttpRequest) -> HttpResponse:
    """``?as=kari`` (the default) or ``?as=visitor``; ``?lang=nb`` (da, sv, en) for the page's language."""
    if not demo_enabled():
        raise Http404
    languages = dict(settings.LANGUAGES)
    language = request.GET.get("lang", "")
    with translation.override(language if language in languages else translation.get_language()):
        return _page(request, signed_in=request.GET.get("as", "kari") != "visitor")


def _page(request: HttpRequest, *, signed_in: bool) -> HttpResponse:
    widget = Storefront.objects.select_related("shop").filter(shop__slug=DEMO_SHOP).first()
    if widget is None:
        return render(request, "loyalty/demo_storefront_missing.html", status=404)
    klubb = klubb_origin(request)
    identity = signed_identity(storefront=widget, customer_id=DEMO_CUSTOMER_ID, email=DEMO_EMAIL) if signed_in else None
    language = translation.get_language()
    context = {
        "shop": widget.shop,
        "storefront": widget,
        "klubb": klubb,
        "origin": f"{request.scheme}://{request.get_host()}",
        "identity": identity,
        "signed_in": signed_in,
        "products": PRODUCTS,
        "language": language,
        "languages": [(code, translation.get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES],
    }
    response = render(request, "loyalty/demo_storefront.html", context)
    # The page's own policy stays strict; it lets in what a shop lets in for the widget: Klubb's script and calls.
    response._csp_update = {"script-src": [klubb], "connect-src": [klubb]}  # type: ignore[attr-defined]
    return response
