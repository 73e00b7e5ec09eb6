"""Opening a console area from the menu as a person would at any width (behind メニュー on phones)."""

from playwright.sync_api import Page


def open_area(page: Page, label: str) -> None:
    page.wait_for_load_state("load")  # before the stylesheet applies, the phone-only メニュー button shows everywhere
    toggle = page.locator("label[for=nav-toggle]")
    if toggle.is_visible():
        toggle.click()
    page.locator("#main-nav").get_by_role("link", name=label, exact=True).click()
