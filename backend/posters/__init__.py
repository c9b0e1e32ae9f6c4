"""Share posters: layouts as data, a pure renderer, tenant templates and a render cache."""
