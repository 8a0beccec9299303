"""OAI-PMH 目录发布 models."""

from __future__ import annotations
