"""Typed dependencies: the app's state, settings and services, and API-key checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from server.state import AppState
from tools.settings import Settings


async def get_state_dep(request: Request) -> AppState:
    return get_state(request)


def get_state(request: Request) -> AppState:
    return request.app.state.vinarag


State = Annotated[AppState, Depends(get_state_dep)]


async def get_settings(state: State) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def _check_key(settings: Settings, key: str | None) -> None:
    if not settings.api_keys:
        return
    if key is None or not any(hmac.compare_digest(key, k) for k in settings.api_keys):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong X-API-Key",
            headers={"WWW-Authenticate": "API-Key"},
        )


async def require_write_key(
    settings: SettingsDep, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    """Writes always need a key when keys are configured."""
    _check_key(settings, x_api_key)


async def require_read_key(
    settings: SettingsDep, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    """Reading /rag needs a key only with server.require_key_for_read."""
    if settings.server.require_key_for_read:
        _check_key(settings, x_api_key)


WriteKey = Depends(require_write_key)
ReadKey = Depends(require_read_key)
