"""`ConsoleSlack`: a Web API client answered in-process (nothing leaves the machine)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse
from slack_sdk.web.file_upload_v2_result import FileUploadV2Result

CONSOLE_TOKEN = "xoxb-console"
CONSOLE_API_URL = "http://console.invalid/api/"


class ConsoleSlack(WebClient):
    """A Web API client answered in-process: every call is shown, none leaves the machine."""

    def __init__(self, on_call: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
        super().__init__(token=CONSOLE_TOKEN, base_url=CONSOLE_API_URL)
        self.on_call = on_call

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        body: dict[str, Any] = {**(params or {}), **(data or {}), **(json or {})}
        for key in ("blocks", "view", "attachments", "files"):
            if isinstance(body.get(key), str):
                with contextlib.suppress(ValueError):
                    body[key] = _json_loads(body[key])
        answer = self.on_call(api_method, body)
        response = SlackResponse(
            client=self,
            http_verb=http_verb,
            api_url=self.base_url + api_method,
            req_args={},
            data=answer,
            headers={},
            status_code=200,
        )
        response.validate()  # type: ignore[no-untyped-call]  # raises SlackApiError like Slack
        return response

    def _upload_file(self, *, url: str, data: bytes, **_: Any) -> FileUploadV2Result:
        self.on_call("upload", {"url": url, "bytes": len(data)})
        return FileUploadV2Result(status=200, body="OK")


def _json_loads(text: str) -> Any:
    return json.loads(text)
