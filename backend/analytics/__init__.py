"""Analytics: the dashboard's pre-aggregated daily facts per tenant (经营看板)."""
