"""Every call to WeChat behind one small interface (gateway.py), plus the local
sandbox that emulates it (sandbox/). See README.md in this folder."""
