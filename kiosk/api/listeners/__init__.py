"""The API's listeners: the Unix socket, the touchscreen's socket and the TCP listener.

uvicorn speaks HTTP; what stands between it and the network is here, because uvicorn
alone lets a client hold a connection for ever without sending a request, trickle one
byte by byte, or send 100 KB of headers, and its accept loop logs a traceback per try
once the process runs out of file descriptors.

* ``framing.py``: how far a request has arrived on a connection (head, body, between
  two), with the head and body limits; pure, no I/O.
* ``connection.py``: one accepted connection: its deadline, its refusals (408, 413,
  431), the hand-over to uvicorn's protocol.
* ``listener.py``: a listening socket's own accept loop: the caps (all connections;
  over TCP, those not yet past the token, per client address), the 503 "busy" of a
  full socket, TLS with a handshake time-out, a pause instead of a storm when the
  process is out of descriptors.
* ``server.py``: the settings of each listener from the config, binding the sockets,
  uvicorn configured around all that, and the file-descriptor budget.

Nothing here is imported by this ``__init__``: the API and the TCP gate import
``connection.py`` alone, and ``server.py`` imports them.
"""
