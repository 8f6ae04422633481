"""Listening-test designs built from render manifests, objective metrics, simulated panels."""
