"""Checkers over a history, one result shape, composed into a verdict."""
