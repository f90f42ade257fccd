"""Run the server: load the model, bind the port (errors here are the user's: exit 2), then uvicorn."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from brainnet.core.errors import UserInputError
from brainnet.serve.limits import Limits


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: a free one); a clear error when it cannot be had."""
    if not 0 <= port <= 65535:
        raise UserInputError(f"--port must be in 0..65535; received {port}.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UserInputError(
            f"--host {host!r} is not an address this machine knows ({e.strerror})."
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise UserInputError(
            f"cannot listen on {host}:{port}: {e.strerror}. Pick another --port (0 picks a free one)."
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(
    model_dir: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    limits: Limits | None = None,
    access_log: bool = True,
) -> None:
    """Serve ``model_dir`` until Ctrl-C or SIGTERM.

    Raises:
        UserInputError: the model directory cannot be served, or the address cannot be bound.
    """
    import uvicorn

    from brainnet.serve.app import create_app
    from brainnet.serve.model import ServedModel

    served = ServedModel(model_dir)
    app = create_app(served, limits)
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(
        f"serving {served.path} ({served.kind}, {len(served.labels)} labels) on "
        f"http://{shown}:{bound_port}/  (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: --host {host} accepts connections from other machines; the server has no "
            "authentication, put it behind a proxy that has.",
            file=sys.stderr,
            flush=True,
        )
    config = uvicorn.Config(
        app,
        access_log=access_log,
        log_level="info",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
