"""The API fuzzed from its own OpenAPI schema: request bodies generated from each route's
published schema (hypothesis-jsonschema), and arbitrary JSON beside them, with and without an
API key. No request may be answered with a server error.

(Schemathesis itself cannot be installed beside this stack: 4.x needs jsonschema-rs 0.60,
which langgraph-api refuses, and 3.x pins a Starlette that FastAPI refuses; the same idea,
generation from the schema, is done here with hypothesis directly.)"""

from __future__ import annotations

import json
import warnings
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from server.main import create_app
from server.safe_json import json_problem
from tests.helpers import DEEP

EXAMPLES = 60 if DEEP else 20  # per route (make test-deep: 60)
KEY = "k-fuzz-0123456789abcdef"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from tools.demo import DEMO_DOCUMENTS
    from tools.ingest.pipeline import ingest_paths
    from tools.services import build_services
    from tools.settings import load_settings

    configured = load_settings(
        data_dir=str(tmp_path_factory.mktemp("fuzz")), dense={"backend": "none"}, api_keys=[KEY]
    )
    services = build_services(configured, location=":memory:", embedder=None)
    ingest_paths([DEMO_DOCUMENTS], services.retrieval.kb, configured, progress=False)
    with TestClient(create_app(configured, services=services), raise_server_exceptions=False) as c:
        yield c
    services.close()


def _json_routes(client: TestClient) -> list[tuple[str, dict]]:
    spec = client.get("/openapi.json").json()
    routes = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if method == "post" and "application/json" in content:
                schema = {**content["application/json"]["schema"], "components": spec["components"]}
                routes.append((path, schema))
    return routes


def _probe(client: TestClient, path: str, bodies, failures: list) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same examples every run: CI cannot go red by chance
        suppress_health_check=list(HealthCheck),
    )
    @given(body=bodies, keyed=st.booleans())
    def probe(body: object, keyed: bool) -> None:
        try:
            content = json.dumps(body, allow_nan=False)
        except ValueError:  # not JSON (an infinite number from the schema): nothing to send
            return
        headers = {"content-type": "application/json", **({"X-API-Key": KEY} if keyed else {})}
        response = client.post(path, content=content, headers=headers)
        if response.status_code >= 500:
            failures.append((path, body, response.status_code))

    probe()


@pytest.mark.slow
def test_every_json_route_survives_generated_bodies(app):
    routes = _json_routes(app)
    assert {"/rag/invoke", "/rag/batch", "/rag/stream", "/documents"} <= {p for p, _ in routes}
    failures: list[tuple[str, object, int]] = []
    for path, schema in routes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _probe(app, path, from_schema(schema) | json_values, failures)
    assert failures == [], failures[:5]


def test_deleting_any_id_is_never_a_server_error(app):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True)
    @given(doc_id=st.text(min_size=1, max_size=60))
    def probe(doc_id: str) -> None:
        response = app.delete(f"/documents/{quote(doc_id, safe='')}", headers={"X-API-Key": KEY})
        assert response.status_code < 500, doc_id

    probe()


@pytest.mark.slow
def test_a_body_that_follows_the_published_schema_is_answered(app):
    """The published input is exact: what a client builds from the schema reaches the graph
    instead of being turned away with a 422 the schema did not announce."""
    [(_, schema)] = [r for r in _json_routes(app) if r[0] == "/rag/invoke"]
    codes: list[int] = []

    # a share of refusals is measured: 60 examples in every profile (a few seconds)
    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(body=from_schema(schema))
    def probe(body: dict) -> None:
        try:
            content = json.dumps(body, allow_nan=False)
        except ValueError:
            return
        if json_problem(content.encode()) is not None:
            return  # past a rule every JSON body has (64-bit numbers; README, Limits)
        headers = {"content-type": "application/json", "X-API-Key": KEY}
        codes.append(app.post("/rag/invoke", content=content, headers=headers).status_code)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe()
    refused = [c for c in codes if c != 200]
    assert len(codes) >= 30 and len(refused) <= len(codes) // 10, sorted(set(refused))


# JSON no field may hold, written as raw JSON text (json.dumps cannot write most of them).
HOSTILE = ["NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "18446744073709551616",
           '"\\udc00"', '"a\\ud800b"', '{"k\\udfff": 1}']  # fmt: skip
_MARK = "\x1ehostile\x1e"


def _plant(body: object, where: int) -> object:
    """`body` with one of its values (counted depth-first, wrapping around) or, for an empty
    body, the whole of it replaced by the mark."""
    leaves: list[tuple[object, object]] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for key in value:
                leaves.append((value, key))
                walk(value[key])
        elif isinstance(value, list):
            for index in range(len(value)):
                leaves.append((value, index))
                walk(value[index])

    walk(body)
    if not leaves:
        return _MARK
    container, key = leaves[where % len(leaves)]
    container[key] = _MARK  # type: ignore[index]
    return body


def _fuzz(path: str, bodies, send, failures: list) -> None:
    """`send(path, example...)` over examples drawn from `bodies` (a strategy of tuples)."""

    @settings(max_examples=EXAMPLES // 2, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(example=bodies)
    def probe(example: tuple) -> None:
        if (failure := send(path, *example)) is not None:
            failures.append(failure)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe()


@pytest.mark.slow
def test_hostile_values_anywhere_in_a_generated_body_are_refused_at_the_edge(app):
    """Bodies from each route's schema with one value (anywhere) replaced by NaN, an infinity,
    a number past 64 bits or a lone surrogate: always 422 (400 on /v1), never a server error
    and never a route that read it."""

    def send(path: str, body: object, where: int, token: str) -> tuple | None:
        try:
            text = json.dumps(_plant(body, where), allow_nan=False)
        except ValueError:
            return None
        content = text.replace(json.dumps(_MARK), token)
        headers = {"content-type": "application/json", "X-API-Key": KEY}
        code = app.post(path, content=content, headers=headers).status_code
        return (
            None
            if code == (400 if path.startswith("/v1/") else 422)
            else (path, content[:200], code)
        )

    failures: list[tuple] = []
    for path, schema in _json_routes(app):
        examples = st.tuples(from_schema(schema), st.integers(0, 50), st.sampled_from(HOSTILE))
        _fuzz(path, examples, send, failures)
    assert failures == [], failures[:5]


@pytest.mark.slow
def test_extra_keys_in_a_generated_body_are_never_a_server_error(app):
    def send(path: str, body: object, key: str, value: object) -> tuple | None:
        if isinstance(body, dict):
            body = {**body, key: value}
            for inner in body.values():  # and one level down (an input, a message...)
                if isinstance(inner, dict):
                    inner[key] = value
                    break
        try:
            content = json.dumps(body, allow_nan=False)
        except ValueError:
            return None
        headers = {"content-type": "application/json", "X-API-Key": KEY}
        code = app.post(path, content=content, headers=headers).status_code
        return (path, body, code) if code >= 500 else None

    failures: list[tuple] = []
    for path, schema in _json_routes(app):
        examples = st.tuples(from_schema(schema), st.text(min_size=1, max_size=12), json_values)
        _fuzz(path, examples, send, failures)
    assert failures == [], failures[:5]
