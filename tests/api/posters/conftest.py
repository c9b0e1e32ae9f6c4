"""The poster API tests share the service tests' fixtures."""

from tests.service.posters.conftest import poster_cache_dir, products  # noqa: F401
