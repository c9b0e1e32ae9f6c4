"""Routes for the platform operator across tenants: /api/v1/platform/..."""
