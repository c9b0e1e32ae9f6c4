"""Routes for the mini-program and the H5 shop (members): /api/v1/mp/..."""
