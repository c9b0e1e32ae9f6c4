"""Response models of the HTTP edge, one module per domain (shared by the audiences'
route modules). Each is an `Out` (miniprogram_api.http): what a route answers, and the
schema /openapi.json publishes for it."""
