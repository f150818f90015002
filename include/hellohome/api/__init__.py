"""What the HTTP API does, independent of Flask: keys, write models and write operations, OpenAPI."""
