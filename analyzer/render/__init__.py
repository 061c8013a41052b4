"""Renderers: findings to text (plain or rich), JSON, JSON lines and Markdown."""
