"""Small shapes many routes answer with."""

from __future__ import annotations

from miniprogram_api.http import Out


class Done(Out):
    ok: bool


class Deleted(Out):
    deleted: int
