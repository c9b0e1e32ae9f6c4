"""Marketing (营销, SPEC §9): coupons, points, group-buy and the material library.

Each part is a module of this domain (coupons.py, points.py, groups.py, materials.py)
over the tables in models.py; the pure pricing rules (what a coupon takes off, how a
discount is spread over the order lines) are in pricing.py. What meets orders and
payments (checkout, an order paid or refunded) is in backend/flows/.
"""
