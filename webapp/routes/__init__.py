"""The blueprints: every URL the app answers, and nothing else.

- :mod:`webapp.routes.rater`: the rater's pages under ``/r/<token>`` and the start page;
- :mod:`webapp.routes.api`: the JSON API under ``/api`` (the trial page talks to it);
- :mod:`webapp.routes.audio`: the stimuli, served blind;
- :mod:`webapp.routes.admin`: the admin area under ``/admin``.

What they do lives in :mod:`webapp.services` and :mod:`webapp.storage`.
"""

from webapp.routes import admin, api, audio, rater

#: Registered by :func:`webapp.create_app`, in this order.
BLUEPRINTS = (rater.bp, api.bp, audio.bp, admin.bp)
