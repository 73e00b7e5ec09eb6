"""Tags (タグ) and tag folders: the tag service every trigger uses, admin pages and the API."""
