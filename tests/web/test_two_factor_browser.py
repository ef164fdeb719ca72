"""Two-factor sign-in in Chromium (issue 29): an agent enrols on /console/security (the QR
code and the key shown once, a first code from pyotp, ten recovery codes), signs out, and
signs in again with the password and then a code; the audit log page shows it all."""

from __future__ import annotations

import re
import time
from typing import Any

import pyotp
import pytest
from playwright.async_api import expect

from router.domain.model import Role
from router.service import Service
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD, shot_path

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _password(page: Any) -> None:
    await page.fill("#email", AGENT_EMAIL)
    await page.fill("#password", AGENT_PASSWORD)
    await page.press("#password", "Enter")


async def test_enrol_then_sign_in_with_a_code(console_service: Service, context: Any) -> None:
    service, base = console_service, f"http://127.0.0.1:{console_service.port}"

    async def make_admin(tx: Any) -> None:  # so that she may read the audit log too
        anna = await tx.get_agent("anna")
        anna.role = Role.ADMIN
        await tx.upsert_agent(anna, service.agents.desk.clock())

    await service.store.write(make_admin)
    page = await context.new_page()
    await page.goto(f"{base}/console")
    await _password(page)
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")

    # enrol on the security page
    await page.click("#security-link")
    await expect(page.locator("body")).to_have_attribute("data-two-factor", "off")
    await page.click("#tf-start")
    await expect(page.locator("#tf-qr")).to_have_attribute("src", re.compile("^data:image/svg"))
    secret = (await page.text_content("#tf-secret")) or ""
    assert len(secret) == 32
    totp, t0 = pyotp.TOTP(secret), time.time()
    await page.screenshot(path=shot_path("two-factor-enrol"), full_page=True)
    await page.fill("#tf-code", totp.at(t0))
    await page.press("#tf-code", "Enter")
    await expect(page.locator("body")).to_have_attribute("data-two-factor", "on")
    await expect(page.locator("#tf-code-list li")).to_have_count(10)
    await expect(page.locator("#tf-state")).to_contain_text("10 recovery codes left")

    # sign out, and in again: the password, then the code (the next step's: the
    # enrolment used this one)
    await page.click("text=← Console")
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await page.click("#logout")
    await expect(page.locator("#signin-form")).to_be_visible()
    await _password(page)
    await expect(page.locator("#tf-step")).to_be_visible()
    await expect(page.locator("#tf-step-code")).to_be_focused()
    await expect(page.locator("#signin-form")).to_be_hidden()
    await page.fill("#tf-step-code", "000000" if totp.at(t0 + 30) != "000000" else "111111")
    await page.press("#tf-step-code", "Enter")
    await expect(page.locator("#tf-step-error")).to_contain_text("wrong code")
    await page.fill("#tf-step-code", totp.at(t0 + 30))
    await page.screenshot(path=shot_path("two-factor-code"), full_page=True)
    await page.press("#tf-step-code", "Enter")
    await expect(page.locator("body")).to_have_attribute("data-ready", "1")
    await expect(page.locator("#me")).to_have_text("Anna Berg")

    # the audit log page (admins) shows the enrolment and the sign-ins
    await page.click("#audit-link")
    await expect(page.locator("#audit-rows tr").first).to_be_visible()
    actions = await page.locator("#audit-rows tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)")
    assert actions[:4] == ["signin", "signin_failed", "two_factor_enabled", "signin"]
    await expect(page.locator("#a-action option[value=contact_erased]")).to_have_count(1)
    await page.select_option("#a-action", "signin_failed")
    await page.click("#audit-form button[type=submit]")
    await expect(page.locator("#audit-rows tr")).to_have_count(1)
    await expect(page.locator("#audit-rows tr td").nth(5)).to_have_text('{"step":"code"}')
    await page.screenshot(path=shot_path("audit-log"), full_page=True)
