"""Turning result objects into text: rich tables, JSON, and the formats to come."""
