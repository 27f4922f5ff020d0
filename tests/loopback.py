"""loopback.py: what the test suite's loopback servers (cw-emulator.py,
webhook-receiver.py) share: the threaded server, and serving until TERM
with the port written where the tests wait for it."""

import os
import signal
import threading
from http.server import ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


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
