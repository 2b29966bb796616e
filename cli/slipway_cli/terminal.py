"""`slipway run` with a terminal: the local terminal in raw mode, bridged to the controller's WebSocket.

Keys go to the container as they are typed (Ctrl-C included: it reaches the remote process), output is
written as it comes, window size changes are sent along, and the CLI exits with the command's status.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sys
import threading

from slipway_cli.errors import CLIError
from slipway_cli.websocket import Closed


def _size() -> tuple[int, int]:
    cols, rows = shutil.get_terminal_size((80, 24))
    try:
        cols, rows = os.get_terminal_size(sys.stdin.fileno())
    except (OSError, ValueError):
        pass
    return cols, rows


def session(client, app: str, command: str) -> int:
    ws = client.attach(app)
    cols, rows = _size()
    ws.send_text(json.dumps({"command": command, "cols": cols, "rows": rows}))
    result: dict = {}
    done = threading.Event()
    out = sys.stdout.buffer

    def receive() -> None:
        try:
            while True:
                message = ws.recv()
                if isinstance(message, bytes):
                    out.write(message)
                    out.flush()
                    continue
                try:
                    body = json.loads(message)
                except ValueError:
                    continue
                if isinstance(body, dict):
                    result.update(body)
        except Closed as exc:
            result.setdefault("close", exc.code)
        except OSError as exc:
            result.setdefault("detail", f"connection to the controller lost ({exc})")
        finally:
            done.set()

    reader = threading.Thread(target=receive, daemon=True)
    reader.start()

    stdin_fd = sys.stdin.fileno()
    is_tty = os.isatty(stdin_fd)
    saved = None
    old_winch = None
    if is_tty:
        import termios
        import tty
        saved = termios.tcgetattr(stdin_fd)
        tty.setraw(stdin_fd)

        def on_winch(*_):
            c, r = _size()
            try:
                ws.send_text(json.dumps({"resize": {"cols": c, "rows": r}}))
            except OSError:
                pass
        old_winch = signal.signal(signal.SIGWINCH, on_winch)
    try:
        stdin_open = True
        while not done.is_set():
            if not stdin_open:
                done.wait(0.2)
                continue
            try:
                ready, _, _ = select.select([stdin_fd], [], [], 0.2)
            except InterruptedError:
                continue
            if not ready:
                continue
            data = os.read(stdin_fd, 65536)
            if not data:
                stdin_open = False  # a piped stdin ended: keep reading output
                continue
            try:
                ws.send_binary(data)
            except OSError:
                break
    except KeyboardInterrupt:  # only without a terminal (raw mode passes Ctrl-C on)
        pass
    finally:
        if saved is not None:
            import termios
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
        ws.close()
        reader.join(2)
    if "exit_code" in result:
        try:
            code = int(result["exit_code"])
        except (TypeError, ValueError):
            return 1
        return code if 0 <= code <= 255 else 1
    if result.get("detail"):
        raise CLIError(str(result["detail"]))
    raise CLIError("the session ended without an exit status")
