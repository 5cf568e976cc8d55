"""The OpenAPI schema at /api/schema/ and the docs at /api/docs/."""

from __future__ import annotations

import json

import pytest
import yaml
from django.core.management import call_command

RESOURCES = {
    # path -> methods it must offer (and, where listed in `absent`, must not)
    "/api/v1/agents/": {"get", "post"},
    "/api/v1/agents/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/agents/{id}/reset-password/": {"post"},
    "/api/v1/departments/": {"get", "post"},
    "/api/v1/departments/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/caller-ids/": {"get", "post"},
    "/api/v1/caller-ids/{id}/": {"get", "delete"},
    "/api/v1/caller-ids/{id}/set-default/": {"post"},
    "/api/v1/roles/": {"get", "post"},
    "/api/v1/roles/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/login-logs/": {"get"},
    "/api/v1/login-logs/{id}/": {"get"},
    "/api/v1/enterprise/": {"get", "patch"},
    "/api/v1/sso-links/": {"post"},
}
HTTP_METHODS = {"get", "put", "patch", "post", "delete"}


@pytest.fixture(scope="module")
def schema_yaml(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        r = Client().get("/api/schema/")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("application/vnd.oai.openapi")
    return yaml.safe_load(r.content)


def test_schema_is_openapi_3(schema_yaml):
    assert schema_yaml["openapi"].startswith("3.")
    assert schema_yaml["info"]["title"] == "callcenter API"


def test_schema_lists_every_resource_with_its_methods(schema_yaml):
    paths = schema_yaml["paths"]
    for path, methods in RESOURCES.items():
        assert path in paths, path
        assert set(paths[path]) & HTTP_METHODS == methods, path


def test_json_schema_has_the_same_paths(schema_yaml, db, client):
    r = client.get("/api/schema/", {"format": "json"})
    assert r.status_code == 200
    assert "json" in r["Content-Type"]
    schema = json.loads(r.content)
    assert set(schema["paths"]) == set(schema_yaml["paths"])
    for resource in ("agents", "departments", "caller-ids", "roles", "login-logs", "enterprise"):
        assert f"/api/v1/{resource}/" in schema["paths"]


def test_schema_documents_the_token_and_session_auth(schema_yaml):
    schemes = schema_yaml["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["in"] == "header" and schemes["tokenAuth"]["name"] == "Authorization"
    assert "cookieAuth" in schemes
    assert {"tokenAuth": []} in schema_yaml["paths"]["/api/v1/agents/"]["get"]["security"]


def test_schema_documents_the_list_filters(schema_yaml):
    params = {p["name"] for p in schema_yaml["paths"]["/api/v1/agents/"]["get"]["parameters"]}
    assert {"q", "agent_type", "department", "supervisor", "role", "caller_id"} <= params
    logs = {p["name"] for p in schema_yaml["paths"]["/api/v1/login-logs/"]["get"]["parameters"]}
    assert {"result", "channel", "since", "until"} <= logs


def test_schema_documents_the_range_create_and_read_only_fields(schema_yaml):
    components = schema_yaml["components"]["schemas"]
    body = schema_yaml["paths"]["/api/v1/agents/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    create = components[body["$ref"].rsplit("/", 1)[1]]
    assert {"start", "end", "name", "password"} <= set(create["properties"])
    assert create["required"] == ["start"]
    created = schema_yaml["paths"]["/api/v1/agents/"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created["schema"]["$ref"].endswith("/AgentsCreated")
    enterprise = components["Enterprise"]["properties"]
    assert enterprise["licensed_lines"].get("readOnly") is True
    assert enterprise["code"].get("readOnly") is True
    assert enterprise["name"].get("readOnly") is not True


def test_list_responses_document_the_keyset_links(schema_yaml):
    ok = schema_yaml["paths"]["/api/v1/agents/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    paginated = schema_yaml["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert set(paginated["properties"]) == {"next", "previous", "results"}


def test_schema_generates_without_warnings(db, tmp_path):
    """drf-spectacular's own check: any warning (an unresolvable field or view) fails."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["paths"]


def test_docs_page(db, client):
    r = client.get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "swagger" in html.lower()
    assert "/api/schema/" in html
