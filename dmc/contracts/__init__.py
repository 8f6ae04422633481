"""The contracts between the parts: the vocabulary every part of the project shares.

Data flows ``dataset -> model -> rendered passages -> test design -> web app -> ratings
-> analysis``; these modules define what crosses each hand-over, once:

- :mod:`dmc.contracts.conditions`: condition (method) names, the hidden reference and
  the anchors, and the one display order.
- :mod:`dmc.contracts.manifest`: the render manifest (``dmc.render`` -> design, web app,
  analysis).
- :mod:`dmc.contracts.ratings`: one row per rating (web app -> analysis): columns,
  spreadsheet escaping, reading an export file or the web app's database by URL.
- :mod:`dmc.contracts.scale`: the rating scale of a test (range, step, bands, the top)
  and the 0-1 every stored rating is normalised to (test config -> web app, figures).
- :mod:`dmc.contracts.files`: atomic writes and content hashes, which all of them use.

Nothing here imports another part of the project, so every part can import it.
"""
