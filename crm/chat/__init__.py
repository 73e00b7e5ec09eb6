"""1:1 chat from the console."""
