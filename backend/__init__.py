"""Siyu backend: every rule, table and job. Imports neither miniprogram_api nor bot."""
