"""The integrator API describes itself: an OpenAPI 3 document and a Swagger UI page."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from shared.services import Services
from tests.integration.api_requests import call, request, send

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ROUTES = {
    ("post", "/accounts"),
    ("put", "/accounts/{account_id}"),
    ("put", "/accounts/{account_id}/contacts/{contact_id}"),
    ("get", "/accounts/{account_id}"),
    ("get", "/accounts/{account_id}/audit"),
    ("post", "/accounts/{account_id}/invoices"),
    ("post", "/invoices/batch"),
    ("post", "/accounts/{account_id}/invoices/{number}/void"),
    ("post", "/accounts/{account_id}/credit-notes"),
    ("post", "/accounts/{account_id}/payments"),
    ("post", "/accounts/{account_id}/write-offs"),
    ("post", "/accounts/{account_id}/promises"),
    ("get", "/accounts/{account_id}/cases"),
    ("get", "/approval-requests"),
    ("get", "/approval-requests/{approval_id}"),
    ("post", "/approval-requests/{approval_id}/decision"),
}


@pytest.fixture
def document(services: Services) -> dict[str, Any]:
    """The OpenAPI document as the sample event fetches it through the stage URL."""
    response = send("api/get_openapi")
    assert response.status == 200
    body: dict[str, Any] = response.body
    return body


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }


def test_openapi_document_is_valid_openapi_3_titled_for_integrators(
    document: dict[str, Any],
) -> None:
    # Given the document as served (fixture), then it validates as OpenAPI 3 under our title
    validate(document)
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "autoar integrator API"
    # And it is served from the stage the request came through
    assert document["servers"] == [{"url": "/v1"}]


def test_openapi_document_lists_every_route_and_nothing_else(document: dict[str, Any]) -> None:
    # Then every route is there, and neither /docs nor /openapi.json itself
    assert set(operations(document)) == ROUTES


def test_every_operation_documents_the_common_error_body(document: dict[str, Any]) -> None:
    # Then every failure an operation can answer with points at the one error body
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for route, operation in operations(document).items():
        for status in ("422", "500"):
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == error_body, (route, status)


def test_every_write_documents_the_idempotency_key(document: dict[str, Any]) -> None:
    # Then POST and PUT take an Idempotency-Key header, GET does not
    for (method, path), operation in operations(document).items():
        headers = {
            p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"
        }
        assert ("idempotency-key" in headers) == (method in {"post", "put"}), (method, path)


def test_amounts_are_documented_as_strings_out_and_strings_or_numbers_in(
    document: dict[str, Any],
) -> None:
    # Then responses carry amounts as strings and requests may send either
    schemas = document["components"]["schemas"]
    assert schemas["Invoice"]["properties"]["amount"]["type"] == "string"
    accepted = {option["type"] for option in schemas["NewInvoice"]["properties"]["amount"]["anyOf"]}
    assert accepted == {"number", "string"}


def test_every_request_is_documented_as_signed_with_sigv4(document: dict[str, Any]) -> None:
    # Then the document says how to authenticate: SigV4, as API Gateway expects
    scheme = document["components"]["securitySchemes"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    assert document["security"] == [{"sigv4": []}]


def test_docs_page_is_swagger_ui_over_the_same_document(
    services: Services, document: dict[str, Any]
) -> None:
    # When the docs page and the JSON it loads are requested
    page = call(request("GET", "/docs"))
    spec = call(request("GET", "/docs", query={"format": "json"}))

    # Then the page is HTML, and its JSON describes the same routes
    assert page.status == 200
    assert page.header("Content-Type") == "text/html"
    assert "SwaggerUIBundle" in page.text
    assert set(operations(spec.body)) == set(operations(document))
