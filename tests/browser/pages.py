"""Steps many browser tests share: signing in through the real form, and checking a page fits the screen."""

from tests.factories import PASSWORD


def sign_in(page, console_url: str, email: str) -> None:
    page.goto(f"{console_url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")


def no_sideways_scroll(page, width: int, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{what} scrolls sideways by {overflow}px at {width}px"
