"""The database: engine and write transactions (:mod:`webapp.storage.db`), tables
(:mod:`webapp.storage.models`), creating and upgrading them (:mod:`webapp.storage.schema`)
and the export rows and view (:mod:`webapp.storage.export`)."""
