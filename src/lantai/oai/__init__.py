"""OAI-PMH 目录发布."""
