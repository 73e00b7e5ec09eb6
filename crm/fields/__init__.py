"""Custom fields (友だち情報): definitions, typed values and the admin pages."""
