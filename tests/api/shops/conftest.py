"""The shop API tests share the service tests' fixtures."""

from tests.service.shops.conftest import catalog, poster_cache_dir  # noqa: F401
