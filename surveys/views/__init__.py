"""The surveys' pages: the builder and results in the console, the public web form."""
