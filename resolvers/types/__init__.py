"""Strawberry object types."""
