"""Absolute links (a rater's personal link) without trusting the client's Host header.

Links are built from ``PUBLIC_URL`` (``$DMC_PUBLIC_URL``) when it is set. Without it,
behind the documented proxy option (``--behind-proxy``) the proxy's forwarded host is
trusted; otherwise an API answer carries the path alone, since a Host header is
whatever the client chose. Admin pages, seen only by a logged-in admin, may use the
address the admin typed.
"""

from __future__ import annotations

from flask import current_app, request, url_for


def public_url(endpoint: str, admin: bool = False, **values) -> str:
    """The link to ``endpoint`` as raters should see it (see the module docstring)."""
    base = current_app.config.get("PUBLIC_URL")
    path = url_for(endpoint, **values)
    if base:
        root = request.script_root if request else ""
        if root and path.startswith(root):
            path = path[len(root) :]
        return base.rstrip("/") + path
    if admin or current_app.config.get("PROXY_FIX"):
        return url_for(endpoint, _external=True, **values)
    return path
