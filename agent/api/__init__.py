"""The HTTP API (FastAPI): one recommendation per request, or a whole catalog scored in batch.

`app` wires it (`create_app`, `serve_api`, `start_jobs`), `routes` holds the endpoints, `jobs` the scoring
jobs' routes (`agent.jobs` runs them), `schemas` the bodies, `errors` the
one error shape, `guard` the token and body-size gate. Pricing itself is `agent.service.PricingService`.
"""

from agent.api.app import MAX_BODY_BYTES, MAX_SKUS, TOKEN_ENV, create_app, serve_api, start_jobs

__all__ = ["MAX_BODY_BYTES", "MAX_SKUS", "TOKEN_ENV", "create_app", "serve_api", "start_jobs"]
