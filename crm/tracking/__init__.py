"""Click tracking (クリック計測): tracked links, per-friend tokens, the /r/ redirect and click actions."""
