"""Who is asking, and which collections they may read and write.

A key is a plain string (full access, as before collections) or an object naming its
collections (`tools.settings.ApiKey`), stored as the key or its SHA-256; keys are compared by
digest and never logged. Without keys the API is open. A request without a key reads what
anonymous callers may (everything while no key is scoped; `server.anonymous_read` once one is)
and writes nothing."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

from tools.settings import ApiKey, Settings, plain_key_name

ALL = "*"


@dataclass(frozen=True)
class Caller:
    name: str  # the key's name ("key-1"... for plain keys), or "anonymous"
    read: frozenset[str] | None  # None: every collection
    write: frozenset[str] | None
    # The key's SHA-256 when the caller came with one: its threads belong to it (a name can
    # be reused or reordered; the key cannot be without being another key).
    key_digest: str | None = None

    def may_read(self, collection: str) -> bool:
        return self.read is None or collection in self.read

    def may_write(self, collection: str) -> bool:
        return self.write is None or collection in self.write

    def may_see(self, collection: str) -> bool:
        """Reads or writes it: may know it exists (its jobs, its sources)."""
        return self.may_read(collection) or self.may_write(collection)

    def searched(self, requested: Sequence[str] | None) -> list[str] | None:
        """The collections a request searches: those it names (each one readable, else 403),
        or every one it may read (None: all)."""
        if requested is None:
            return None if self.read is None else sorted(self.read)
        for name in requested:
            if not self.may_read(name):
                raise forbidden("read", name)
        return sorted(set(requested))


def forbidden(action: str, collection: str) -> HTTPException:
    """The same words whether the collection exists or not: a key learns nothing of one it
    cannot read."""
    return HTTPException(
        status.HTTP_403_FORBIDDEN, detail=f"this key may not {action} collection {collection!r}"
    )


def _scope(names: list[str]) -> frozenset[str] | None:
    return None if ALL in names else frozenset(names)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Keys:
    """The configured keys, by digest; built once with the app."""

    def __init__(self, settings: Settings) -> None:
        self.required_for_read = settings.server.require_key_for_read
        self._entries: list[tuple[str, Caller]] = []
        for number, entry in enumerate(settings.api_keys, start=1):
            if isinstance(entry, str):
                digest = _digest(entry)
                caller = Caller(plain_key_name(number), None, None, digest)
            else:
                digest = entry.key_sha256 or _digest(entry.key or "")
                caller = Caller(entry.name, _scope(entry.read), _scope(entry.write), digest)
            self._entries.append((digest, caller))
        scoped = any(isinstance(e, ApiKey) for e in settings.api_keys)
        anonymous_read = _scope(settings.server.anonymous_read) if scoped else None
        open_api = not self._entries
        self.anonymous = Caller("anonymous", anonymous_read, None if open_api else frozenset())

    def __bool__(self) -> bool:
        return bool(self._entries)

    def identify(self, given: str) -> Caller | None:
        digest = _digest(given)
        found = None
        for known, caller in self._entries:  # every entry compared: no early exit to time
            if hmac.compare_digest(known, digest):
                found = caller
        return found


def given_key(request: Request) -> str | None:
    """`X-API-Key: <key>` or `Authorization: Bearer <key>`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("x-api-key") or None


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def caller_of(request: Request, keys: Keys, write: bool = False) -> Caller:
    """The caller; 401 for a wrong key, or none where one is needed (writes, or reads with
    server.require_key_for_read)."""
    if not keys:
        return keys.anonymous
    given = given_key(request)
    if given is None:
        if write or keys.required_for_read:
            raise unauthorized("missing API key (X-API-Key or Authorization: Bearer)")
        return keys.anonymous
    caller = keys.identify(given)
    if caller is None:
        raise unauthorized("wrong API key")
    return caller


def hash_key(key: str) -> str:
    """What `key_sha256` holds for a key (`vinarag keys hash`)."""
    return _digest(key)
