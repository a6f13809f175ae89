"""Hostile-input and security tests of the SDK, run against raw servers on 127.0.0.1."""
