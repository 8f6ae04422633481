"""What the routes and the commands do, without answering HTTP themselves.

- :mod:`webapp.services.study`: the test being served (a design), and
  :mod:`webapp.services.snapshots`: served tests copied into the instance folder;
- :mod:`webapp.services.raters`: creating raters with their plans, progress, saving trials;
- :mod:`webapp.services.validation`: checking what raters send, on the test's rating scale;
- :mod:`webapp.services.blinding`, :mod:`webapp.services.calibration`,
  :mod:`webapp.services.headphones`: the audio served (blind MP3s, the volume page's
  audio, the headphone check);
- :mod:`webapp.services.auth`, :mod:`webapp.services.passwords`,
  :mod:`webapp.services.throttle`: admin sign-in and rate limits;
- :mod:`webapp.services.links`, :mod:`webapp.services.screening`,
  :mod:`webapp.services.plots`: links, the dashboard's screening flags and box plot.
"""
