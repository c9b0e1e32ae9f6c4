"""Live rooms (直播分销, SPEC §10): rooms with a pulled stream or a WeChat mini-program
live room, products at live prices with the one being explained now, viewers bound by
the room's shares, orders attributed to the room and the sharer, room statistics.
Buying in the room and the statistics that need orders are in backend/flows/live_selling.py.
"""
