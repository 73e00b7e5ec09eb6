"""The Japanese catalogue: complete, placeholders intact, in step with the code, and actually used by the console."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.console_helpers import csrf_token, post_form, signed_in_client

pytestmark = pytest.mark.db_agnostic  # catalogues and locale choice do not depend on the database dialect

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "crm" / "translations"
JA_PO = TRANSLATIONS / "ja" / "LC_MESSAGES" / "messages.po"
JA_MO = JA_PO.with_suffix(".mo")
# The same options as `make i18n`.
EXTRACT_OPTIONS = [
    "-F",
    "babel.cfg",
    "-k",
    "_l",
    "-k",
    "lazy_gettext",
    "-k",
    "N_",
    "--ignore-dirs=.venv linesim bench tests",
]
# %(name)s / %(count)d / %(ratio).3f, and {name} (str.format and JavaScript-style).
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{(\w*)\}")


def placeholders(text: str) -> set[str]:
    return {named or braced for named, braced in PLACEHOLDER.findall(text)}


def read_catalog(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def msgids(catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_every_japanese_message_is_translated_with_the_same_placeholders():
    problems = []
    for message in read_catalog(JA_PO):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy:
            problems.append(f"fuzzy (the compiler skips it): {ids[0]!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"not translated: {ids[0]!r}")
            continue
        expected = set().union(*(placeholders(i) for i in ids))
        for string in strings:
            if placeholders(string) != expected:
                problems.append(
                    f"placeholders differ: {ids[0]!r} has {sorted(expected)}, "
                    f"{string!r} has {sorted(placeholders(string))}"
                )
    assert not problems, "Fix crm/translations/ja/LC_MESSAGES/messages.po:\n" + "\n".join(problems)


def test_every_message_in_the_code_is_in_the_japanese_catalogue(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", *EXTRACT_OPTIONS, "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    extracted = read_catalog(pot)
    missing = sorted(msgids(extracted) - msgids(read_catalog(JA_PO)))
    where = {m.id if isinstance(m.id, str) else m.id[0]: m.locations for m in extracted if m.id}
    assert not missing, (
        "Messages in the code but not in the ja catalogue; run `make i18n`, translate them "
        "and remove their fuzzy flags:\n"
        + "\n".join(f"{msgid!r} ({', '.join(f'{p}:{n}' for p, n in where[msgid][:3])})" for msgid in missing)
    )


def _assert_catalogue_compiled():
    assert JA_MO.exists() and JA_MO.stat().st_mtime >= JA_PO.stat().st_mtime, (
        "crm/translations/ja/LC_MESSAGES/messages.mo is missing or older than messages.po: run `make translations`"
    )


def test_sign_in_page_is_japanese_first_and_english_once_chosen(app):
    _assert_catalogue_compiled()
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="ja">' in html
    assert "ログイン" in html and "メールアドレス" in html and "パスワード" in html
    assert "Sign in" not in html

    response = client.post(
        "/language",
        data={"locale": "en", "csrf_token": csrf_token(client)},
        headers={"Referer": "http://localhost/login"},
    )
    assert response.status_code == 302
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Sign in" in html and "Email" in html and "Password" in html
    assert "ログイン" not in html and "メールアドレス" not in html


def test_signed_in_console_follows_the_staff_members_language(app):
    _assert_catalogue_compiled()
    client = signed_in_client(app, "staff")  # a new staff member's language is Japanese
    html = client.get("/").get_data(as_text=True)
    assert "今日" in html and "友だち" in html and "ログアウト" in html
    assert "Sign out" not in html

    response = post_form(client, "/language", {"locale": "en"})
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "Today" in html and "Friends" in html and "Sign out" in html
    assert "ログアウト" not in html
