"""The socket.io demo server, in focused modules.

* :mod:`sio.registry`: the demo's functions and the only names a client can use;
* :mod:`sio.limits`: admission limits and checks, and the output meter;
* :mod:`sio.sanitize`: what a client may send (reads the engine's options table);
* :mod:`sio.runs`: running the clients' graphs;
* :mod:`sio.frames`, :mod:`sio.transport`, :mod:`sio.connections`: the
  socket.io / engine.io / aiohttp layer, hardened against its clients;
* :mod:`sio.service`: the server's handlers, answers and shutdown;
* :mod:`sio.app`: ``create_app``, ``serve`` and ``main``.

``python demos/server.py`` runs :func:`sio.app.main`. The wire protocol is
the original project's; docs/demos.md describes it and every limit.
"""
