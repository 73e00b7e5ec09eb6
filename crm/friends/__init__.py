"""Friends (友だち): the friend record, follow and block, profiles, notes, the list and the friend page."""
