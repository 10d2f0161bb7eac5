"""One error shape for every failure of the project's HTTP services (the sandbox, the desk):
{"error": {"code", "message", ...details}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

logger = logging.getLogger(__name__)
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


def not_found(what: str) -> ApiError:
    # Same answer whether the resource is missing or belongs to someone else, so ids leak nothing.
    return ApiError(404, "not_found", f"{what} not found")


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    async def on_validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(part) for part in err["loc"]), "problem": err["msg"]}
            for err in exc.errors()
        ]
        error = ApiError(422, "invalid_request", "request is not valid", problems=problems)
        return JSONResponse(error.body(), status_code=422)

    async def on_http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # The framework's own refusals (unparsable body, unknown path, wrong method) in the
        # same shape, with a code a client can act on.
        code = HTTP_CODES.get(exc.status_code, "request_refused")
        error = ApiError(exc.status_code, code, str(exc.detail))
        return JSONResponse(error.body(), status_code=exc.status_code, headers=exc.headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The caller learns only that it failed: exception text can carry SQL, paths or data.
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        error = ApiError(500, "internal_error", "something went wrong on our side; try again")
        return JSONResponse(error.body(), status_code=500)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
