"""The services: models, tasks and training sessions as the API offers them, in domain terms.

They check every size a client controls against the settings before any computation, raise the
domain errors of `app.services.errors` (never an HTTP error), and know nothing of HTTP.
"""
