"""LINE edge: the API client adapter, the webhook endpoint and event handlers."""
