"""Broadcasts (一斉配信 / 予約配信): drafts, approval, statistics, the composer, the API and delivery."""
