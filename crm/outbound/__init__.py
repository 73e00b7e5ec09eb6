"""Outbound webhooks and the LINE webhook relay."""
