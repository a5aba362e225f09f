"""The gallery end to end in Debian's Chromium: sign in, upload, preview, share, revoke, delete.

The app and oidc-provider-mock both run as real HTTP servers on 127.0.0.1; the browser is
kept off every other host. Screenshots of the main pages go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.services import Services
from storage.settings import Settings
from tests.standins.images import jpeg, pdf, png
from tests.standins.oidc import MockProvider, provider_tls, serve_wsgi

from .conftest import oauth_env

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason=f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)",
    ),
]


@pytest.fixture
def served_app(
    make_settings: Callable[..., Settings], google: MockProvider
) -> Iterator[tuple[str, Services]]:
    from web_oauth import create_app

    holder: dict[str, Any] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    with serve_wsgi(dispatch) as served:
        services = Services.build(
            make_settings(CLOUDBOX_BASE_URL=served.url, **oauth_env(google.discovery_url))
        )
        holder["app"] = create_app(services=services, test_config={"TESTING": True})
        try:
            yield served.url, services
        finally:
            services.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # The test OAuth provider's certificate, and only it, is trusted (pinned by its key).
        pin = f"--ignore-certificate-errors-spki-list={provider_tls().spki_pin}"
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, pin])
        yield launched
        launched.close()


def local_only(context: Any) -> None:
    """Offline, and a check that no page pulls anything from the Internet."""
    context.route(
        re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/]).*"),  # localhost: the TLS provider
        lambda route: route.abort(),
    )


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"gallery-{name}.png"), full_page=True)


def test_the_gallery_in_a_real_browser(
    served_app: tuple[str, Services], google: MockProvider, browser: Any, tmp_path: Path
) -> None:
    base, services = served_app
    google.add_user("e2e-user", "e2e@example.com")
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    local_only(context)
    page = context.new_page()
    page.set_default_timeout(15_000)

    # Sign in through the provider's consent page.
    page.goto(base + "/")
    shot(page, "1-welcome")
    page.get_by_role("link", name="Sign in with Google").click()
    page.fill("input[name=sub]", "e2e-user")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(base + "/")
    assert page.get_by_text("e2e@example.com").is_visible()

    # Upload four files with the picker; the PDF fails on its own line.
    page.set_input_files(
        "#images",
        files=[
            {"name": "red.png", "mimeType": "image/png", "buffer": png(11, (320, 200))},
            {"name": "green.png", "mimeType": "image/png", "buffer": png(22 * 256, (200, 320))},
            {"name": "sky.jpg", "mimeType": "image/jpeg", "buffer": jpeg(33, (300, 300))},
            {"name": "report.pdf", "mimeType": "image/png", "buffer": pdf()},
        ],
    )
    page.wait_for_selector("#upload-progress li.summary")
    assert page.locator("#upload-progress li.ok").count() == 3
    failed = page.locator("#upload-progress li.error")
    assert failed.count() == 1 and "report.pdf" in failed.inner_text()
    shot(page, "2-uploaded")

    # Previews load from storage through signed URLs (the CSP allows exactly that origin).
    page.goto(base + "/")
    assert page.locator(".tile").count() == 3
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.evaluate("() => [...document.querySelectorAll('img')].every(i => i.alt)")
    assert page.evaluate(
        "() => [...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".every(e => e.labels.length > 0 || e.getAttribute('aria-label'))"
    )
    shot(page, "3-gallery")

    # Full size, then share for one day and copy the link.
    page.get_by_role("link", name="sky.jpg").first.click()
    page.wait_for_function("() => document.querySelector('.full img').naturalWidth === 300")
    shot(page, "4-image")
    page.select_option("#hours", "24")
    page.get_by_role("button", name="Create link").click()
    share_url = page.input_value("#share-url")
    assert share_url.startswith(base + "/s/")
    page.get_by_role("button", name="Copy").click()
    page.wait_for_function("() => document.getElementById('copy-status').textContent.length > 0")
    shot(page, "5-shared")

    # A stranger (fresh context, no cookies) opens the link and gets the image.
    stranger = browser.new_context()
    local_only(stranger)
    visitor = stranger.new_page()
    response = visitor.goto(share_url)
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "image/jpeg"

    # "My links" shows the view; revoke it, and the link stops working.
    page.goto(base + "/links")
    row = page.locator("table.links tbody tr")
    assert row.count() == 1 and "sky.jpg" in row.inner_text() and row.locator("td").nth(4).inner_text() == "1"
    shot(page, "6-links")
    row.get_by_role("button", name=re.compile("Turn off")).click()
    # The form posts and lands on /links again: wait for the new page's notice, not the URL.
    page.get_by_text("no longer works").wait_for()
    assert page.get_by_text("no longer works").is_visible()
    response = visitor.goto(share_url)
    assert response is not None and response.status == 410
    assert visitor.get_by_text("turned off").is_visible()
    shot(visitor, "7-revoked-link")

    # Delete an image, with confirmation, using the keyboard for the last step.
    page.goto(base + "/")
    page.get_by_role("link", name="red.png").first.click()
    page.get_by_role("link", name="Delete…").click()
    shot(page, "8-confirm-delete")
    page.get_by_role("button", name="Delete image").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/")
    assert page.get_by_text("red.png was deleted").is_visible()
    assert page.locator(".tile").count() == 2

    # Account page and a phone-sized viewport.
    page.goto(base + "/account")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "9-account-phone")
    page.goto(base + "/")
    shot(page, "10-gallery-phone")
    owner = services.accounts.by_google_sub("e2e-user")
    assert owner is not None and services.library.list(owner).total == 2
    stranger.close()
    context.close()


@pytest.fixture
def embedded_app(make_settings: Callable[..., Settings]) -> Iterator[tuple[str, Services]]:
    """A fresh instance folder with nothing configured, served on 127.0.0.1."""
    from web_oauth import create_app

    holder: dict[str, Any] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    with serve_wsgi(dispatch) as served:
        nothing = {
            "CLOUDBOX_BUCKET": None,
            "STORAGE_EMULATOR_HOST": None,
            "GOOGLE_APPLICATION_CREDENTIALS": None,
        }
        services = Services.build(make_settings(CLOUDBOX_BASE_URL=served.url, **nothing))
        holder["app"] = create_app(services=services, test_config={"TESTING": True})
        try:
            yield served.url, services
        finally:
            services.close()


def test_the_embedded_gallery_works_in_a_real_browser_with_nothing_configured(
    embedded_app: tuple[str, Services], browser: Any
) -> None:
    base, services = embedded_app
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    local_only(context)
    page = context.new_page()
    page.set_default_timeout(15_000)

    page.goto(base + "/")
    assert page.get_by_text("Embedded mode").first.is_visible()
    shot(page, "embedded-1-welcome")
    page.get_by_role("link", name="Sign in on this computer").click()
    page.get_by_role("button", name="Sign in on this computer").click()
    page.wait_for_url(base + "/")

    page.set_input_files(
        "#images",
        files=[
            {"name": "red.png", "mimeType": "image/png", "buffer": png(11, (320, 200))},
            {"name": "sky.jpg", "mimeType": "image/jpeg", "buffer": jpeg(33, (300, 300))},
        ],
    )
    page.wait_for_selector("#upload-progress li.summary")
    assert page.locator("#upload-progress li.ok").count() == 2
    page.goto(base + "/")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator(".tile").count() == 2
    shot(page, "embedded-2-gallery")

    # Share: the link opens here, for anyone on this computer.
    page.get_by_role("link", name="sky.jpg").first.click()
    page.get_by_role("button", name="Create link").click()
    share_url = page.input_value("#share-url")
    stranger = browser.new_context()
    local_only(stranger)
    response = stranger.new_page().goto(share_url)
    assert response is not None and response.status == 200
    stranger.close()

    # Delete.
    page.goto(base + "/")
    page.get_by_role("link", name="red.png").first.click()
    page.get_by_role("link", name="Delete…").click()
    page.get_by_role("button", name="Delete image").click()
    page.wait_for_url(base + "/")
    assert page.locator(".tile").count() == 1
    context.close()
