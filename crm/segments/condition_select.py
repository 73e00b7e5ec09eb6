"""A select that picks a friend condition from the saved segments (scenario goals and step conditions,
auto-reply rules): none, the stored condition kept as it is, or a saved segment's tree, copied when saved."""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _
from sqlmodel import Session, select
from wtforms.fields import SelectChoice

from crm.segments.models import Segment

KEEP = "keep"  # the select's "keep the stored condition" choice


def condition_choices(db: Session, current_tree: str | None, *, none_label: str) -> list[SelectChoice]:
    """None, the stored condition (when there is one), then every saved segment by name."""
    choices = [SelectChoice("", none_label)]
    if current_tree:
        choices.append(SelectChoice(KEEP, _("(the current condition)")))
    return choices + [SelectChoice(str(s.id), s.name) for s in db.exec(select(Segment).order_by(Segment.name))]


def chosen_tree(db: Session, choice: str | None, current_tree: str | None, *, gone: Callable[[], Exception]):
    """The tree the choice stands for: None, the stored one, or a saved segment's; raise `gone()` when the
    chosen segment was deleted meanwhile."""
    if not choice:
        return None
    if choice == KEEP:
        return current_tree
    segment = db.get(Segment, int(choice)) if choice.isdigit() else None
    if segment is None:
        raise gone()
    return segment.tree


def kept_choice(tree: str | None) -> str:
    """The select's value for a stored condition when its form is shown."""
    return KEEP if tree else ""
