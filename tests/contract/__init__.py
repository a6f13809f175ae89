"""Contract tests: the SDK against Stoplight Prism serving docs/openapi.yaml, and the schema helper."""
