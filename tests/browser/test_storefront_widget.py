"""The storefront widget in Chromium, on the demo storefront opened as another site than Klubb: the page is
``http://localhost:<port>/demo/storefront/`` and the widget comes from ``http://127.0.0.1:<port>``, with CORS, as
on a real shop. What a visitor and what Kari see, badges that say exactly what the earning preview says, a code
for the checkout, a tampered signature, a hostile theme stylesheet, and the keyboard. Screenshots at 360 and
1280 px wide (set KLUBB_SCREENSHOTS to choose their folder)."""

from __future__ import annotations

import io
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.management import call_command
from playwright.sync_api import Page, Route, expect

from loyalty.embed.demo import DEMO_EMAIL, PRODUCTS
from loyalty.management.commands.seed_demo import DEMO_API_KEY
from loyalty.models import Redemption, RedemptionStatus, Storefront
from loyalty.selectors import member_standing
from members.models import Member
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP = {"width": 1280, "height": 800}
LAUNCHER = "klubb-widget .launcher"
PANEL = "klubb-widget dialog"


@pytest.fixture
def demo(live_server, settings):
    """``make run``'s demo data, for the live server's port; the shop's page on localhost, Klubb on 127.0.0.1."""
    settings.KLUBB_DEMO_STOREFRONT = True
    port = urlsplit(live_server.url).port
    call_command("seed_demo", "--force", "--no-history", "--port", str(port), stdout=io.StringIO())
    kari = Member.objects.select_related("user").get(user__email=DEMO_EMAIL)
    return SimpleNamespace(
        page=f"http://localhost:{port}/demo/storefront/",
        klubb=f"http://127.0.0.1:{port}",
        kari=kari,
        storefront=Storefront.objects.get(shop__slug="nordlys-sport"),
    )


def open_demo(page: Page, demo, *, who: str = "kari", lang: str = "en") -> None:
    page.goto(f"{demo.page}?as={who}&lang={lang}")
    expect(page.locator(LAUNCHER)).to_be_visible()


def calls_to(page: Page, path: str) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.method) if path in request.url else None)
    return seen


def shots(page: Page, name: str) -> None:
    """The open panel as a phone and as a desktop window show it."""
    for width, size in (("360", {"width": 360, "height": 780}), ("1280", DESKTOP)):
        page.set_viewport_size(size)
        page.wait_for_timeout(250)  # the panel's entrance animation
        screenshot(page, f"widget-{name}-{width}", full_page=False)


def test_a_visitor_sees_what_the_club_gives_and_where_to_join(page: Page, demo):
    open_demo(page, demo, who="visitor")
    expect(page.locator(LAUNCHER)).to_have_text("Klubb")

    page.locator(LAUNCHER).click()

    panel = page.locator(PANEL)
    expect(panel.get_by_role("heading", name="Join Klubb")).to_be_visible()
    expect(panel.get_by_role("link", name="Sign up")).to_have_attribute("href", f"{demo.klubb}/accounts/signup/")
    expect(panel.get_by_role("link", name="Log in")).to_have_attribute("href", f"{demo.klubb}/accounts/login/")
    expect(panel).to_contain_text("NOK 100 earns 100 points")
    expect(panel).to_contain_text("Use points at checkout: 100 points pay NOK 10")
    expect(panel.locator(".levels .tier")).to_have_text(["Bronze", "Silver", "Gold", "Platinum"])
    expect(panel).to_contain_text("From 2,000 points")
    expect(panel).not_to_contain_text("Kari")
    shots(page, "visitor")


def test_kari_signed_in_sees_her_balance_tier_and_progress(page: Page, demo):
    standing = member_standing(member=demo.kari)
    assert standing.next_tier is not None and standing.pending > 0  # the demo data as the README describes it
    open_demo(page, demo)
    expect(page.locator(LAUNCHER)).to_have_text(f"{standing.balance:,} points")

    page.locator(LAUNCHER).click()

    panel = page.locator(PANEL)
    expect(panel.get_by_role("heading", name="Hi, Kari!")).to_be_visible()
    expect(panel.locator(".balance strong")).to_have_text(f"{standing.balance:,}")
    expect(panel.locator(".head .tier")).to_have_text(standing.tier.name)
    expect(panel).to_contain_text(f"{standing.points_to_next_tier:,} points to {standing.next_tier.name}")
    bar = panel.get_by_role("progressbar", name="Progress to next level")
    expect(bar).to_have_attribute("aria-valuenow", str(standing.progress_percent))
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "100")
    expect(panel.get_by_role("heading", name="Pending points")).to_be_visible()
    expect(panel).to_contain_text(f"{standing.pending:,} points available on")
    expect(panel.get_by_role("link", name="My page", exact=True)).to_have_attribute("href", f"{demo.klubb}/")
    expect(panel.get_by_label("Your referral link")).to_have_value(re.compile(rf"^{demo.klubb}/r/\w+"))
    shots(page, "kari")

    # In the page's language (Norwegian), with the tier's Norwegian name and Norwegian numbers.
    open_demo(page, demo, lang="nb")
    expect(page.locator(LAUNCHER)).to_have_text(
        re.compile(rf"^{standing.balance // 1000}\s{standing.balance % 1000:03} poeng$")
    )
    page.locator(LAUNCHER).click()
    expect(page.locator(PANEL).get_by_role("heading", name="Hei, Kari!")).to_be_visible()
    expect(page.locator(f"{PANEL} .head .tier")).to_have_text("Sølv")
    expect(page.locator(PANEL)).to_contain_text(f"poeng til {standing.next_tier.name_nb}")
    shots(page, "kari-nb")


def test_a_page_in_another_language_gets_the_widget_in_the_members_own(page: Page, demo):
    assert demo.kari.language == "nb"
    page.add_init_script(  # a French page: not a language of the club's
        'document.addEventListener("DOMContentLoaded", () => document.documentElement.setAttribute("lang", "fr"))'
    )

    open_demo(page, demo)

    expect(page.locator(LAUNCHER)).to_have_text(re.compile(r"poeng$"))
    page.locator(LAUNCHER).click()
    expect(page.locator(f"{PANEL} .head .tier")).to_have_text("Sølv")


def test_the_launcher_takes_the_storefronts_corner_and_colour_and_the_panel_fits_a_phone(page: Page, demo):
    Storefront.objects.filter(pk=demo.storefront.pk).update(position="bottom-left", accent_colour="#7a3b12")
    open_demo(page, demo)

    launcher = page.locator(LAUNCHER)
    assert launcher.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(122, 59, 18)"
    box = launcher.bounding_box()
    assert box["x"] == 16 and box["x"] + box["width"] < 360  # bottom left, 16 px in on a phone
    launcher.click()
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    boxes = "el => [el, ...el.querySelectorAll('.head, .body, section, .foot')]"
    assert panel.evaluate(f"{boxes}.every((box) => box.scrollWidth <= box.clientWidth)")  # nothing scrolls sideways


def preview(demo, product, *, member: bool) -> int:
    body = {
        "amount": str(product.price),
        "currency": "NOK",
        "items": [{"sku": product.sku, "category": product.category, "quantity": 1, "unit_price": str(product.price)}],
    }
    if member:
        body["member"] = {"email": DEMO_EMAIL}
    response = httpx.post(
        f"{demo.klubb}/api/v1/points/preview/", json=body, headers={"Authorization": f"Bearer {DEMO_API_KEY}"}
    )
    assert response.status_code == 200, response.text
    return response.json()["points"]


@pytest.mark.parametrize("who", ["kari", "visitor"])
def test_each_badge_shows_exactly_what_the_preview_gives_in_one_request(page: Page, demo, who):
    badge_calls = calls_to(page, "/badges/")
    open_demo(page, demo, who=who)

    badges = page.locator("[data-klubb-points-for] klubb-points .badge")
    expect(badges).to_have_count(len(PRODUCTS))
    for product, badge in zip(PRODUCTS, badges.all(), strict=True):
        expect(badge).to_have_text(f"Earn {preview(demo, product, member=who == 'kari'):,} points")
    assert badge_calls == ["POST"]  # all six products in one request (its CORS preflight is an OPTIONS)

    page.reload()  # the next page view: the answers kept in sessionStorage, no request at all
    expect(badges).to_have_count(len(PRODUCTS))
    assert badge_calls == ["POST"]

    # A product that appears later (a "load more") gets its badge too, in a request of its own.
    page.evaluate(
        """() => { const card = document.createElement("li"); card.className = "product";
        card.innerHTML = '<h2>Gift card</h2><div data-klubb-points-for="400" data-klubb-sku="GIFT-400"></div>';
        document.querySelector(".products").append(card); }"""
    )
    extra = SimpleNamespace(price="400.00", sku="GIFT-400", category="")
    expect(page.locator("[data-klubb-sku=GIFT-400] .badge")).to_have_text(
        f"Earn {preview(demo, extra, member=who == 'kari'):,} points"
    )
    assert badge_calls == ["POST", "POST"]


def test_using_points_at_checkout_reserves_them_and_shows_the_code(page: Page, demo):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo.page.rsplit("/demo", 1)[0])
    spendable = member_standing(member=demo.kari).spendable
    open_demo(page, demo)
    page.locator(LAUNCHER).click()
    panel = page.locator(PANEL)

    panel.get_by_label("Points to use").select_option("500")
    panel.get_by_role("button", name="Get a code").click()

    code = panel.locator(".code")
    expect(code).to_have_text(re.compile(r"^KP[A-Z0-9]+$"))
    redemption = Redemption.objects.get(member=demo.kari)
    assert (redemption.code, redemption.points, redemption.status) == (
        code.inner_text(),
        500,
        RedemptionStatus.RESERVED,
    )
    assert redemption.external_id.startswith("widget-")
    expect(panel).to_contain_text("500 points take NOK 50 off your order")
    expect(page.locator(LAUNCHER)).to_have_text(
        f"{spendable - 500 + member_standing(member=demo.kari).pending:,} points"
    )
    panel.get_by_role("button", name="Copy the code").click()
    expect(panel.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == redemption.code
    shots(page, "checkout-code")


def test_a_tampered_signature_shows_the_visitor_view_and_nothing_of_kari(page: Page, demo):
    # One hex digit of the signature the server rendered is changed in the page before the widget reads it.
    page.add_init_script(
        """document.addEventListener("DOMContentLoaded", () => {
            const block = document.getElementById("klubb-customer");
            const identity = JSON.parse(block.textContent);
            identity.signature = (identity.signature[0] === "0" ? "1" : "0") + identity.signature.slice(1);
            block.textContent = JSON.stringify(identity);
        });"""
    )
    sessions = []
    page.on(
        "response", lambda r: sessions.append(r.status) if "/session/" in r.url and r.request.method == "POST" else None
    )
    summaries = calls_to(page, "/me/")
    open_demo(page, demo)

    expect(page.locator(LAUNCHER)).to_have_text("Klubb")
    assert sessions == [401] and summaries == []
    page.locator(LAUNCHER).click()
    expect(page.locator(PANEL).get_by_role("heading", name="Join Klubb")).to_be_visible()
    expect(page.locator(PANEL)).not_to_contain_text("Kari")


HOSTILE_CSS = """
/* A theme whose rules would reach the widget's elements, were they in the page. */
html body { color: red !important; font: italic 30px/3 serif !important; letter-spacing: 4px !important; }
klubb-widget, klubb-points, klubb-widget *, klubb-points *, button, dialog, select, section, h2, h3, span, strong, a, p,
ul:not(.products), li:not(.product), div:not(.earn):not(.picture), .launcher, .badge, .head, .body, .bar, .tier,
.code, [role=progressbar] {
  display: none !important; visibility: hidden !important; opacity: .1 !important; color: red !important;
  background: yellow !important; font-family: serif !important; font-size: 30px !important; padding: 40px !important;
  margin: 40px !important; border: 5px solid red !important; position: static !important;
  transform: scale(.5) !important; text-transform: uppercase !important; width: 10px !important; }
.earn { color: red !important; font: italic 30px/3 serif !important; letter-spacing: 5px !important;
  text-transform: uppercase !important; }
"""

STYLE_PROBE = """() => {
  const props = ["display", "visibility", "opacity", "color", "background-color", "font-family", "font-size",
    "font-style", "line-height", "letter-spacing", "text-transform", "padding-top", "margin-top", "border-top-width",
    "position", "transform", "width", "height"];
  const style = (el) => Object.fromEntries(props.map((p) => [p, getComputedStyle(el).getPropertyValue(p)]));
  const widget = document.querySelector("klubb-widget");
  const root = widget.shadowRoot;
  const badge = document.querySelector("klubb-points");
  const picks = {
    widgetHost: widget, badgeHost: badge, badge: badge.shadowRoot.querySelector(".badge"),
    launcher: root.querySelector(".launcher"), dialog: root.querySelector("dialog"), head: root.querySelector(".head"),
    title: root.querySelector("h2"), balance: root.querySelector(".balance strong"), tier: root.querySelector(".tier"),
    bar: root.querySelector("[role=progressbar]"), fill: root.querySelector("[role=progressbar] span"),
    select: root.querySelector("select"), button: root.querySelector(".button"), link: root.querySelector(".foot a"),
  };
  return Object.fromEntries(Object.entries(picks).map(([name, el]) => [name, style(el)]));
}"""


def test_a_theme_stylesheet_changes_nothing_inside_the_widget_and_the_widget_nothing_outside(page: Page, demo):
    page.set_viewport_size(DESKTOP)
    page.emulate_media(reduced_motion="reduce")  # no entrance animation: the panel's looks settle at once
    open_demo(page, demo)
    expect(page.locator("klubb-points .badge")).to_have_count(len(PRODUCTS))
    page.locator(LAUNCHER).click()
    expect(page.locator(PANEL)).to_be_visible()
    plain = page.evaluate(STYLE_PROBE)
    # The widget adds no stylesheet to the page itself.
    assert page.evaluate("[document.styleSheets.length, document.adoptedStyleSheets.length]") == [1, 0]

    def hostile(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text() + HOSTILE_CSS)

    page.route(re.compile(r"/static/css/demo-storefront\.css"), hostile)
    open_demo(page, demo)
    expect(page.locator("klubb-points .badge")).to_have_count(len(PRODUCTS))
    page.locator(LAUNCHER).click()
    expect(page.locator(PANEL)).to_be_visible()

    assert page.evaluate("getComputedStyle(document.querySelector('.product h2')).display") == "none"  # it applies
    restyled = page.evaluate(STYLE_PROBE)
    changed = {
        (element, prop): (value, restyled[element][prop])
        for element, props in plain.items()
        for prop, value in props.items()
        if restyled[element][prop] != value
    }
    assert not changed, f"the page's stylesheet reached inside the widget: {changed}"
    expect(page.locator("klubb-points .badge").first).to_be_visible()
    screenshot(page, "widget-hostile-theme-1280", full_page=False)


def test_the_theme_looks_the_same_with_the_widget_as_without(page: Page, demo):
    page.set_viewport_size(DESKTOP)
    probe = """() => [...document.querySelectorAll("body, .demo-bar, .shop-head, .logo, h1, .product, .price")]
        .map((el) => { const s = getComputedStyle(el); return [s.color, s.backgroundColor, s.fontFamily, s.fontSize,
        s.margin, s.padding, s.display]; })"""
    open_demo(page, demo, who="visitor")
    with_widget = page.evaluate(probe)

    page.route(re.compile(r"/embed/v1/klubb\.js"), lambda route: route.abort())
    page.goto(f"{demo.page}?as=visitor&lang=en")

    assert page.locator("klubb-widget").count() == 0
    assert page.evaluate(probe) == with_widget


def test_the_panel_works_by_keyboard_alone(page: Page, demo):
    page.set_viewport_size(DESKTOP)
    open_demo(page, demo)
    focused = """() => {
        const host = document.activeElement;
        const inner = host && host.shadowRoot && host.shadowRoot.activeElement;
        if (!inner) return host.tagName;
        return (inner.closest("dialog") ? "panel:" : "") + (inner.className || inner.tagName.toLowerCase());
    }"""

    for _ in range(20):  # Tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if page.evaluate(focused).startswith("launcher"):
            break
    assert page.evaluate(focused).startswith("launcher")
    launcher_outline = page.evaluate(
        "() => { const s = getComputedStyle(document.querySelector('klubb-widget').shadowRoot.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert launcher_outline == ["solid", "3px"]  # a visible focus ring

    page.keyboard.press("Enter")
    expect(page.locator(PANEL)).to_be_visible()
    assert page.evaluate(focused) == "panel:close"
    page.keyboard.press("Tab")
    page.wait_for_timeout(250)
    screenshot(page, "widget-keyboard-focus-1280", full_page=False)  # the focus ring on "Points to use"
    page.keyboard.press("Shift+Tab")
    for expected in ("panel:select", "panel:button"):
        page.keyboard.press("Tab")
        assert page.evaluate(focused) == expected
    page.keyboard.press("Shift+Tab")  # back to the amount: the smallest one
    page.keyboard.press("Home")
    assert page.locator(PANEL).get_by_label("Points to use").input_value() == "100"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Get a code"
    expect(page.locator(PANEL).locator(".code")).to_be_visible()
    assert page.evaluate(focused) == "panel:button secondary"  # on "Copy the code"
    assert Redemption.objects.get(member=demo.kari, status=RedemptionStatus.RESERVED).points == 100
    # Tab never reaches the page behind the open panel: past its last control focus leaves for the browser's
    # own controls (the document itself has it then) and comes back to the panel's first, the close button.
    stops = []
    for _ in range(15):
        page.keyboard.press("Tab")
        stops.append(page.evaluate(focused))
        if stops[-1] == "panel:close":
            break
    assert stops[-1] == "panel:close", stops
    assert all(stop.startswith("panel:") or stop == "BODY" for stop in stops), stops

    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    assert page.evaluate(focused).startswith("launcher")
    # The dialog's "close" event, which sets it, is a task queued after Escape hides the panel: wait for it.
    expect(page.locator(LAUNCHER)).to_have_attribute("aria-expanded", "false")
