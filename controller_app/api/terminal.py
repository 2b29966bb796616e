"""Interactive one-off sessions over a WebSocket (`/v2/apps/{id}/run/attach`).

Protocol (documented in docs/api.md):
  client -> server  first a text frame `{"command": "...", "cols": C, "rows": R}`; then binary frames are
                    terminal input, text frames `{"resize": {"cols": C, "rows": R}}` resize the terminal.
  server -> client  binary frames are terminal output; a final text frame `{"exit_code": N}`, or
                    `{"detail": "..."}` on an error; then the server closes.
The container (services/apps.py `attach`) is removed on every way out: the command ended, the client went
away, an error, the session's time limit, a controller shutdown.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Callable

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..db import session_factory
from ..scheduler.base import RunSession
from ..services import access, apps
from ..services.errors import ServiceError
from . import deps
from .errors import status_of

log = logging.getLogger("slipway.run")
FIRST_MESSAGE_TIMEOUT = 15.0
MAX_COMMAND = 8192


class Denied(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def prepare(app_id: str, authorization: str | None) -> tuple[str, str, dict, str | None]:
    """Authorize as the REST endpoints do (the app's owner, collaborators, admins) and read what the
    session runs: (app id, image, environment, memory, registry credentials). Raises Denied."""
    with session_factory()() as db:
        try:
            user = deps.current_user(db, authorization)
            app, allowed = access.find_app(db, user, app_id)
            deps.require_app(app is not None, allowed)
            image, env, memory, registry = apps.one_off(db, app)
        except HTTPException as exc:
            raise Denied(exc.status_code, str(exc.detail)) from None
        except ServiceError as exc:
            raise Denied(status_of(exc), exc.detail) from None
        return app.id, image, env, memory, registry


async def deny(websocket: WebSocket, status: int, detail: str) -> None:
    """Refuse the handshake with an HTTP answer when the server can, else close with a policy code."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status_code=status))
    else:
        await websocket.close(code=1008, reason=detail[:120])


def _size(value, default: int | None) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return default
    return n if 0 < n <= 1000 else default


async def serve(websocket: WebSocket, app_id: str, timeout: float) -> None:
    try:
        app, image, env, memory, registry = await run_in_threadpool(prepare, app_id,
                                                                    websocket.headers.get("authorization"))
    except Denied as exc:
        await deny(websocket, exc.status, exc.detail)
        return
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_text(), FIRST_MESSAGE_TIMEOUT)
        start = json.loads(first)
        command = start.get("command") if isinstance(start, dict) else None
        if not isinstance(command, str) or not command.strip() or len(command) > MAX_COMMAND:
            raise ValueError
    except (asyncio.TimeoutError, ValueError, KeyError, TypeError):
        await _finish(websocket, {"detail": "expected a first text frame {\"command\": \"...\"}"}, 1008)
        return
    except WebSocketDisconnect:
        return
    try:
        session = await run_in_threadpool(apps.attach, app, image, command, env, memory,
                                          _size(start.get("cols"), None), _size(start.get("rows"), None), timeout,
                                          registry)
    except ServiceError as exc:
        await _finish(websocket, {"detail": exc.detail}, 1011)
        return
    try:
        await asyncio.wait_for(_pump(websocket, session), timeout)
    except asyncio.TimeoutError:
        await _finish(websocket, {"detail": f"the session reached its time limit ({timeout:g}s)"}, 1000)
    except WebSocketDisconnect:
        pass  # the client went away: the finally below removes the container
    except Exception:  # noqa: BLE001 - whatever happened, the container goes
        log.exception("interactive session of %s failed", app)
        await _finish(websocket, {"detail": "the session failed"}, 1011)
    finally:
        await run_in_threadpool(session.close)


async def _pump(websocket: WebSocket, session: RunSession) -> None:
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes] = asyncio.Queue(maxsize=64)

    def reader(put: Callable) -> None:  # a worker thread: container terminal -> queue
        while True:
            data = session.read()
            asyncio.run_coroutine_threadsafe(put(data), loop).result()
            if not data:
                return

    read_task = asyncio.ensure_future(run_in_threadpool(reader, output.put))
    input_task = asyncio.ensure_future(_input(websocket, session))
    get = None
    try:
        while True:
            if get is None:
                get = asyncio.ensure_future(output.get())
            done, _unused = await asyncio.wait({get, input_task}, return_when=asyncio.FIRST_COMPLETED)
            if input_task in done:
                input_task.result()  # raises WebSocketDisconnect when the client went away
                input_task = asyncio.ensure_future(asyncio.Event().wait())  # input ended; output goes on
            if get in done:
                data, get = get.result(), None
                if not data:
                    break
                await websocket.send_bytes(data)
        code = await run_in_threadpool(session.wait)
        await _finish(websocket, {"exit_code": code}, 1000)
    finally:
        input_task.cancel()
        if get is not None:
            get.cancel()
        await run_in_threadpool(session.close)  # the reader thread's read() returns b""
        for _unused in range(500):  # let the reader thread end: it may be waiting for room in the queue
            while not output.empty():
                output.get_nowait()
            if read_task.done():
                break
            await asyncio.sleep(0.01)


async def _input(websocket: WebSocket, session: RunSession) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("bytes") is not None:
            await run_in_threadpool(session.write, message["bytes"])
        elif message.get("text") is not None:
            try:
                control = json.loads(message["text"])
                resize = control.get("resize") if isinstance(control, dict) else None
            except ValueError:
                continue
            if isinstance(resize, dict):
                cols, rows = _size(resize.get("cols"), None), _size(resize.get("rows"), None)
                if cols and rows:
                    await run_in_threadpool(session.resize, cols, rows)


async def _finish(websocket: WebSocket, message: dict, code: int) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    try:
        await websocket.send_text(json.dumps(message))
        await websocket.close(code=code)
    except Exception:  # noqa: BLE001 - the client may already be gone
        pass
