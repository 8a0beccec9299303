"""宣传与编研 models."""

from __future__ import annotations
