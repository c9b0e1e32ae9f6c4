"""Anti-counterfeit codes (防伪): batches of unguessable codes per product, shipments of
codes to agents, public scans, and 窜货 (cross-region selling) cases."""
