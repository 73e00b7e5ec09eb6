"""POST /callback: LINE's webhook, event dispatch, and the registries features plug into."""
