"""loopback.py: what the test suite's loopback servers (cw-emulator.py,
webhook-receiver.py) share: the threaded server, reading a request's body,
and serving until TERM with the port written where the tests wait for it."""

import os
import signal
import threading
from http.server import ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def read_body(h):
    """Read the request body (Content-Length or chunked) so a kept-alive
    connection stays in step even when the answer is an error."""
    if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            line = h.rfile.readline(65537)
            try:
                size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise ValueError("malformed chunked body")
            if size == 0:
                while h.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(h.rfile.read(size))
            h.rfile.readline(65537)
    try:
        length = int(h.headers.get("Content-Length") or 0)
    except ValueError:
        raise ValueError("malformed Content-Length")
    return h.rfile.read(length) if length > 0 else b""


def serve(server, port_file):
    """Serve until SIGTERM or SIGINT. The port goes to port_file, written
    whole under another name and renamed, once the server listens."""

    def stop(signum, frame):
        # shutdown() waits for serve_forever(), which runs in this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if port_file:
        tmp = "%s.%d.tmp" % (port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, port_file)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0
