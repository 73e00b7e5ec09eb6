"""Staff accounts, sign-in checks, the audit log and API tokens."""
