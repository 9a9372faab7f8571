"""The socket.io demo server: clients send a graph, results stream back as they are made.

``python demos/server.py [--host 127.0.0.1] [--port 8080] [--delay-scale 1]``

The server itself is the package ``demos/sio/`` (registry, limits,
sanitising, runs, transport, app); docs/demos.md describes the protocol, the
limits and the decisions behind them.
"""

from __future__ import annotations

import sys
from pathlib import Path

# demos/ is not installed: make its ``sio`` package importable when run as a script.
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from sio.app import main  # noqa: E402

if __name__ == "__main__":
    main()
