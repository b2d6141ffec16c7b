"""Typed dependencies: the app's state, settings and services, and the caller (who is asking
and what they may read and write: server.access)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.access import Caller, caller_of
from server.state import AppState


async def get_state_dep(request: Request) -> AppState:
    return get_state(request)


def get_state(request: Request) -> AppState:
    return request.app.state.vinarag


State = Annotated[AppState, Depends(get_state_dep)]


async def read_caller(request: Request, state: State) -> Caller:
    """A reader: 401 for a wrong key, or none with server.require_key_for_read."""
    return caller_of(request, state.keys)


async def write_caller(request: Request, state: State) -> Caller:
    """A writer: with keys configured, a key is needed (each route checks the collection)."""
    return caller_of(request, state.keys, write=True)


Reader = Annotated[Caller, Depends(read_caller)]
Writer = Annotated[Caller, Depends(write_caller)]
ReadKey = Depends(read_caller)
