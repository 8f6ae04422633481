"""Example listening-test configs (YAML), shipped as package data."""
