"""Personal data: the full export, one friend's data on request, and erasure."""
