"""MUSHRA-style listening-test web app (filled in by the web-app issue)."""
