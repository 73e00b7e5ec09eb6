"""The LINE messages of a survey turn: questions with quick replies, and what the friend is told otherwise.

Postback data (≤300 characters) is `sv:<op>:<ids>`: s start, a answer, t toggle, d done, k skip, c cancel.
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from surveys.models import QuestionKind, SurveyChoice, SurveyQuestion, SurveyResponse
from surveys.questions import QUICK_REPLY_MAX
from surveys.turns import Turn, TurnStatus

PREFIX = "sv:"
ARITY = {"s": 1, "a": 3, "t": 4, "d": 2, "k": 2, "c": 1}
LABEL_MAX = 20
TEXT_MAX = 5000
LinkRewriter = Callable[[str], str]


def _as_written(body: str) -> str:
    return body


def start_data(survey_id: int) -> str:
    """The postback data that starts (or resumes) a survey: use it on a rich menu button."""
    return f"{PREFIX}s:{survey_id}"


def parse_data(data: str) -> tuple[str, list[int]] | None:
    """(op, ids) of survey postback data, or None when it is malformed."""
    parts = data.split(":")
    if len(parts) < 2 or parts[0] + ":" != PREFIX or ARITY.get(parts[1]) != len(parts) - 2:
        return None
    try:
        return parts[1], [int(part) for part in parts[2:]]
    except ValueError:
        return None


def text(body: str) -> dict:
    """A text message, cut to LINE's limit."""
    return {"type": "text", "text": body[:TEXT_MAX]}


def _button(label: str, data: str, display: str | None = None) -> dict:
    action = {"type": "postback", "label": label[:LABEL_MAX], "data": data}
    if display:
        action["displayText"] = display
    return {"type": "action", "action": action}


def _checked(label: str) -> str:
    return "✓" + (label if len(label) < LABEL_MAX else label[: LABEL_MAX - 2] + "…")


def _choice_buttons(
    response: SurveyResponse, question: SurveyQuestion, choices: list[SurveyChoice], selected: set[int]
) -> list[dict]:
    ids = f"{response.id}:{question.id}"
    if question.kind == QuestionKind.SINGLE:
        return [_button(c.label, f"{PREFIX}a:{ids}:{c.id}", c.label) for c in choices]
    return [
        _button(_checked(c.label), f"{PREFIX}t:{ids}:{c.id}:0")
        if c.id in selected
        else _button(c.label, f"{PREFIX}t:{ids}:{c.id}:1")
        for c in choices
    ]


def question_message(turn: Turn, number: int, total: int, links: LinkRewriter = _as_written) -> dict:
    """The question as a text message with its quick-reply buttons."""
    response, question = turn.response, turn.question
    ids = f"{response.id}:{question.id}"
    lines = [f"({number}/{total}) {links(question.text)}"]
    buttons = _choice_buttons(response, question, turn.choices, turn.selected)
    if question.kind == QuestionKind.MULTIPLE:
        picked = [c.label for c in turn.choices if c.id in turn.selected]
        lines.append(_("Tap every answer that applies, then Done."))
        lines.append(_("Selected: %(labels)s", labels=", ".join(picked)) if picked else _("Selected: none"))
        buttons.append(_button(_("Done"), f"{PREFIX}d:{ids}", _("Done")))
    elif question.kind == QuestionKind.TEXT:
        lines.append(_("Please type your answer and send it."))
    if not question.required and question.kind != QuestionKind.MULTIPLE:
        buttons.append(_button(_("Skip"), f"{PREFIX}k:{ids}", _("Skip")))
    if len(buttons) < QUICK_REPLY_MAX:
        buttons.append(_button(_("Cancel"), f"{PREFIX}c:{response.id}", _("Cancel")))
    message = text("\n".join(lines))
    message["quickReply"] = {"items": buttons}
    return message


def turn_messages(
    turn: Turn, *, number: int = 0, total: int = 0, web_link: str | None = None, links: LinkRewriter = _as_written
) -> list[dict]:
    """Everything to send for a turn (at most three messages; none for a stale tap).

    `links` rewrites the links in what the survey's author wrote (intro, questions, completion message),
    e.g. into the friend's tracked links; the web-form link and our own wording are left as they are.
    """
    survey = turn.survey
    if turn.status in (TurnStatus.ASK, TurnStatus.RETRY):
        before = []
        if turn.first and survey.intro:
            before.append(text(links(survey.intro)))
        if turn.resumed:
            before.append(text(_("Let's continue “%(title)s” where you left off.", title=survey.title)))
        if turn.error is not None:
            before.append(text(_(turn.error.msgid, **turn.error.params)))
        return before + [question_message(turn, number, total, links)]
    if turn.status == TurnStatus.DONE:
        return [
            text(links(survey.completion_message) if survey.completion_message else _("Thank you for your answers!"))
        ]
    if turn.status == TurnStatus.CANCELLED:
        return [
            text(_("You cancelled “%(title)s”. You can start again from the menu at any time.", title=survey.title))
        ]
    if turn.status == TurnStatus.REPEAT_REFUSED:
        return [text(_("You have already answered “%(title)s”. Thank you!", title=survey.title))]
    if turn.status == TurnStatus.UNAVAILABLE:
        return [text(_("This survey is not open for answers at the moment."))]
    if turn.status == TurnStatus.WEB and web_link:
        intro = links(survey.intro) if survey.intro else _("Please answer “%(title)s” here:", title=survey.title)
        return [text(f"{intro}\n{web_link}")]
    return []
