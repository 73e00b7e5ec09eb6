"""Segments (絞り込み): condition trees compiled to one SQL query, saved segments, builder and API."""
