"""Every table of the product: importing this registers them all on SQLModel.metadata (migrations, schema test).

Like the app factory, this is a composition root: it names every feature, surveys included."""

import crm.actions.models  # noqa: F401
import crm.auto_replies.models  # noqa: F401
import crm.broadcasts.models  # noqa: F401
import crm.conversions.models  # noqa: F401
import crm.fields.models  # noqa: F401
import crm.friends.models  # noqa: F401
import crm.imports.models  # noqa: F401
import crm.inbox.models  # noqa: F401
import crm.message_templates.models  # noqa: F401
import crm.outbound.models  # noqa: F401
import crm.postback_actions.models  # noqa: F401
import crm.richmenus.models  # noqa: F401
import crm.routes.models  # noqa: F401
import crm.scenarios.models  # noqa: F401
import crm.segments.models  # noqa: F401
import crm.sending.models  # noqa: F401
import crm.staff.models  # noqa: F401
import crm.tags.models  # noqa: F401
import crm.tracking.models  # noqa: F401
import crm.webhook.models  # noqa: F401
import surveys.models  # noqa: F401
