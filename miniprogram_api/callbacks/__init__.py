"""Pushes from WeChat, WeChat Pay and WeCom (signed callbacks, no bearer token)."""
