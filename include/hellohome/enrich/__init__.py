"""Enrichment: text embeddings (cached), third-party scores (cached 24 h), added to documents
after the base document is indexed, never slowing the CDC path."""
