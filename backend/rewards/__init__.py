"""Rewards: distribution (SPEC §3) and agent (SPEC §4) plans, the pure engine, the simulator.

Pure modules: plan (format + validation), engine (payouts), conditions (upgrades),
simulate (case files). Persistence and the HTTP/CLI edges build on them.
"""
