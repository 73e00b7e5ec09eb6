"""Forms of the conversions console: a point, the purchases upload, a segment from an RFM cell."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from crm.conversions.models import NAME_MAX_CHARS, Counting, ValueType

VALUE_TYPES = [
    SelectChoice(ValueType.YEN, _l("Amount in yen (purchases: counted in RFM)")),
    SelectChoice(ValueType.NONE, _l("No amount (a count only)")),
]
COUNTINGS = [
    SelectChoice(Counting.EVERY, _l("Every time (each order id once)")),
    SelectChoice(Counting.FIRST, _l("The first time only")),
]


class PointForm(FlaskForm):
    """One conversion point (its actions come from the shared action editor)."""

    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=NAME_MAX_CHARS)])
    value_type = SelectField(_l("Value"), choices=VALUE_TYPES, default=ValueType.YEN)
    counting = SelectField(_l("Counting"), choices=COUNTINGS, default=Counting.EVERY)
    origins = TextAreaField(
        _l("Your shop's site (origins allowed to report, one a line, e.g. https://shop.example)"),
        validators=[Optional(), Length(max=2000)],
    )


class PurchasesForm(FlaskForm):
    """A purchases CSV for one point, checked (dry run) or imported."""

    point_id = SelectField(_l("Conversion point"), validators=[InputRequired()])
    file = FileField(_l("CSV file (UTF-8 or Shift_JIS)"), validators=[FileRequired()])


class CellSegmentForm(FlaskForm):
    """Save the friends of an RFM cell or a decile as a segment to send to."""

    name = StringField(_l("Segment name"), validators=[InputRequired(), Length(max=100)])
    tree = HiddenField()


class ButtonForm(FlaskForm):
    """A button-only form (the CSRF token): recompute."""
