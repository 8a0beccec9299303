"""Lantai 兰台 — an open digital-archives platform for Chinese public archives."""

__version__ = "0.1.0"
