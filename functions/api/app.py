"""The integrator API's resolver: JSON in and out without floats, OpenAPI, errors, idempotency."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, Server

from functions.api import errors, routes
from functions.api.codec import from_json, to_json
from functions.api.idempotency import replay_by_idempotency_key

TITLE = "autoar integrator API"
VERSION = "1.0.0"
DESCRIPTION = """\
Accounts, invoices, credit notes and payments in; account overviews and the audit trail out.

* Every request is signed with AWS Signature Version 4 by an IAM principal allowed to invoke the
  API; that principal is recorded as the actor of everything the request changes.
* Amounts are decimal strings in responses ("1200.00", at the currency's minor unit). Requests may
  send strings or JSON numbers; an amount with more decimals than its currency has is refused,
  never rounded.
* Errors share one body: `error` (a stable code), `message`, and `fields`, each naming a field as
  you wrote it (`invoices[3].amount`) and why. 422 means the request does not match the schema;
  400 means malformed JSON or input that contradicts stored records; 404 an unknown account or
  record; 409 a conflict with stored state.
* POST and PUT honour an `Idempotency-Key` header for 24 hours: a retry with the same key and
  body returns the first response and writes nothing.
"""
SIGV4 = "sigv4"


app = APIGatewayRestResolver(
    enable_validation=True,
    serializer=to_json,
    json_body_deserializer=from_json,
)
app.configure_openapi(
    title=TITLE,
    version=VERSION,
    description=DESCRIPTION,
    security_schemes={
        SIGV4: APIKey(
            name="Authorization",
            in_=APIKeyIn.header,
            description="AWS Signature Version 4 (service execute-api)",
            openapi_extensions={"x-amazon-apigateway-authtype": "awsSigv4"},
        )
    },
    security=[{SIGV4: []}],
)
app.enable_swagger(path="/docs")
app.use(middlewares=[replay_by_idempotency_key])
errors.register(app)
app.include_router(routes.router)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(servers=[Server(url=_stage_path() or "/")]),
    )


def _stage_path() -> str:
    """The stage prefix, such as /v1, when the request used the stage URL, not a custom domain."""
    context = app.current_event.request_context
    stage = context.stage
    if stage and stage != "$default" and context.path.startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""
