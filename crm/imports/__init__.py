"""Imports: CSV files of tags, fields and notes, and LINE's followers ids."""
