"""`python -m services.desk`: serve the desk on 127.0.0.1:DESK_PORT."""

from __future__ import annotations

import uvicorn

from common.environment import process_environment
from common.logging_setup import configure_logging
from common.request_log import RequestLog
from services.desk.app import create_app
from services.desk.settings import DeskSettings


def main() -> None:
    configure_logging("desk")
    # The profile's values unless the environment says otherwise.
    settings = DeskSettings.from_environment(process_environment())
    # One worker: who is at the console lives in this process. wsproto because Rasa pins a
    # websockets release too old for uvicorn's own websockets support.
    # Our logging, not uvicorn's: its access lines carry whole paths and query strings.
    uvicorn.run(
        RequestLog(create_app(settings)),
        host="127.0.0.1",
        port=settings.port,
        log_level="info",
        log_config=None,
        access_log=False,
        ws="wsproto",
        workers=1,
    )


if __name__ == "__main__":
    main()
