"""Routes for the back-office (staff: boss, operator, finance, sales; suppliers): /api/v1/admin/..."""
