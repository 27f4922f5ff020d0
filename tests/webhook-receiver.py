#!/usr/bin/env python3
"""webhook-receiver: a loopback HTTP server that plays an agent's webhook
endpoint in dq's tests.  Standard library only.

Usage
-----
  webhook-receiver.py [--port 0] [--port-file PATH] [--log PATH]
                      [--secret-file PATH] [--fail-first N] [--status CODE]
                      [--latency-ms N] [--reject-bad-signature] [--verbose]

  It accepts a POST on any path.  For each one it checks
      X-Dq-Signature: sha256=<lowercase hex HMAC-SHA256 of the raw body>
  under the secret in --secret-file (the file's bytes without trailing
  newlines, so "echo secret > file" works), and records the delivery.

  Answers: 500 for the first N POSTs (--fail-first N), then 401 when the
  signature is wrong and --reject-bad-signature is given, else --status
  (default 200).  Other methods get 405.  The port is written to
  --port-file once the server listens, as with cw-emulator.py.

Log
---
  One JSON object per POST, appended to --log and flushed at once:
  seq, method, path, query, delivery (the X-Dq-Delivery header or null),
  attempt (how many POSTs carried this delivery id so far, this one
  included), signature (the header as sent), signature_valid (true, false,
  or null without --secret-file), content_type, body (the parsed JSON, or
  null), body_text (the raw body when it is not JSON), status, at_ms
  (monotonic milliseconds since start).

Control endpoints
-----------------
  GET  /__control/deliveries  {"requests": [...], "deliveries": {id: count}}
  POST /__control/reset       forget all deliveries, empty the log
  POST /__control/config      {"fail_first": N, "status": CODE,
                               "reject_bad_signature": bool}: N more
                               failures from now on, a new default status
"""

import argparse
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from loopback import Server, read_body, serve
from urllib.parse import urlsplit


class Receiver:
    def __init__(self, opts, secret):
        self.lock = threading.Lock()
        self.secret = secret
        self.fail_left = opts.fail_first
        self.status = opts.status
        self.reject_bad = opts.reject_bad_signature
        self.latency_ms = opts.latency_ms
        self.log_file = open(opts.log, "a", encoding="utf-8") if opts.log \
            else None
        self.t0 = time.monotonic()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = []
            self.deliveries = {}
            if self.log_file:
                self.log_file.seek(0)
                self.log_file.truncate()
                self.log_file.flush()

    def check(self, body, header):
        if self.secret is None:
            return None
        want = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        prefix = "sha256="
        if not header or not header.startswith(prefix):
            return False
        return hmac.compare_digest(header[len(prefix):].strip().lower(), want)

    def deliver(self, h, body):
        """Record one POST and choose its status."""
        split = urlsplit(h.path)
        delivery = h.headers.get("X-Dq-Delivery")
        valid = self.check(body, h.headers.get("X-Dq-Signature"))
        try:
            parsed, text = json.loads(body.decode("utf-8")), None
        except (UnicodeDecodeError, ValueError):
            parsed, text = None, body.decode("utf-8", "replace")
        with self.lock:
            if self.fail_left > 0:
                self.fail_left -= 1
                status = 500
            elif self.reject_bad and valid is False:
                status = 401
            else:
                status = self.status
            key = delivery if delivery is not None else ""
            self.deliveries[key] = self.deliveries.get(key, 0) + 1
            entry = {
                "seq": len(self.requests) + 1, "method": h.command,
                "path": split.path, "query": split.query,
                "delivery": delivery, "attempt": self.deliveries[key],
                "signature": h.headers.get("X-Dq-Signature"),
                "signature_valid": valid,
                "content_type": h.headers.get("Content-Type"),
                "body": parsed, "body_text": text, "status": status,
                "at_ms": round((time.monotonic() - self.t0) * 1000.0, 3),
            }
            self.requests.append(entry)
            if self.log_file:
                self.log_file.write(json.dumps(entry, separators=(",", ":"))
                                    + "\n")
                self.log_file.flush()
        return status, {"ok": 200 <= status < 300, "seq": entry["seq"],
                        "attempt": entry["attempt"]}

    def control(self, h, name, body):
        try:
            obj = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError as exc:
            return 400, {"error": "bad JSON: %s" % exc}
        if (h.command, name) == ("GET", "deliveries"):
            with self.lock:
                return 200, {"requests": list(self.requests),
                             "deliveries": dict(self.deliveries)}
        if (h.command, name) == ("POST", "reset"):
            self.reset()
            return 200, {"ok": True}
        if (h.command, name) == ("POST", "config") and isinstance(obj, dict):
            with self.lock:
                if isinstance(obj.get("fail_first"), int):
                    self.fail_left = obj["fail_first"]
                if isinstance(obj.get("status"), int):
                    self.status = obj["status"]
                if isinstance(obj.get("reject_bad_signature"), bool):
                    self.reject_bad = obj["reject_bad_signature"]
            return 200, {"ok": True}
        return 404, {"error": "unknown control endpoint %s %s"
                     % (h.command, name)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webhook-receiver/1.0"

    def version_string(self):
        return self.server_version

    def do_any(self):
        status, payload = self.answer()
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def answer(self):
        receiver = self.server.receiver
        try:
            body = read_body(self)
        except ValueError as exc:
            self.close_connection = True
            return 400, {"error": str(exc)}
        path = urlsplit(self.path).path
        if path.startswith("/__control/"):
            name = path[len("/__control/"):].rstrip("/")
            return receiver.control(self, name, body)
        if self.command != "POST":
            return 405, {"error": "only POST is accepted"}
        if receiver.latency_ms:
            time.sleep(receiver.latency_ms / 1000.0)
        return receiver.deliver(self, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_any

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("webhook-receiver: %s\n" % (fmt % args))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="webhook-receiver",
                                 description="Webhook endpoint for tests.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--secret-file")
    ap.add_argument("--fail-first", type=int, default=0, metavar="N")
    ap.add_argument("--status", type=int, default=200, metavar="CODE")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--reject-bad-signature", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    opts = ap.parse_args(argv)

    secret = None
    if opts.secret_file:
        try:
            with open(opts.secret_file, "rb") as f:
                secret = f.read().rstrip(b"\r\n")
        except OSError as exc:
            sys.stderr.write("webhook-receiver: %s\n" % exc)
            return 2
    try:
        receiver = Receiver(opts, secret)
        server = Server(("127.0.0.1", opts.port), Handler)
    except OSError as exc:
        sys.stderr.write("webhook-receiver: %s\n" % exc)
        return 2
    server.receiver = receiver
    server.verbose = opts.verbose
    return serve(server, opts.port_file)


if __name__ == "__main__":
    sys.exit(main())
