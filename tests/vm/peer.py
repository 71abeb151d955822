#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host-side peer of the kvmtrace-bpf test network.

Runs inside the test bed's network namespace (tests/vm/testbed.sh, tb_net_up) and
serves the guests' network workloads:

  sink   (TCP, --sink-port):   reads every connection until EOF and logs
                               "sink CLIENT_IP BYTES SECONDS"   (guest net-send)
  source (HTTP, --source-port): GET /N answers N zero bytes and logs
                               "source CLIENT_IP BYTES SECONDS" (guest net-recv)

It writes "ready" to the log once both sockets listen. Standard library only.
"""

import argparse
import http.server
import socketserver
import sys
import threading
import time

CHUNK = 65536
MAX_BYTES = 1 << 34

_log_lock = threading.Lock()
_log_file = None


def log(line):
    with _log_lock:
        _log_file.write(line + "\n")
        _log_file.flush()


class SinkHandler(socketserver.BaseRequestHandler):
    def handle(self):
        start = time.monotonic()
        total = 0
        while True:
            try:
                data = self.request.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            total += len(data)
        log("sink %s %d %.3f" % (self.client_address[0], total,
                                 time.monotonic() - start))


class SourceHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        try:
            want = int(self.path.strip("/"))
        except ValueError:
            self.send_error(400, "path must be a byte count")
            return
        if want < 0 or want > MAX_BYTES:
            self.send_error(400, "byte count out of range")
            return
        start = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(want))
        self.end_headers()
        zeros = bytes(CHUNK)
        left = want
        try:
            while left > 0:
                n = min(left, CHUNK)
                self.wfile.write(zeros[:n])
                left -= n
        except OSError:
            pass
        log("source %s %d %.3f" % (self.client_address[0], want - left,
                                   time.monotonic() - start))

    def log_message(self, fmt, *args):  # keep the log to our own lines
        pass


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


class HTTPServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    global _log_file
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", required=True)
    ap.add_argument("--sink-port", type=int, default=5001)
    ap.add_argument("--source-port", type=int, default=5002)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    _log_file = open(args.log, "a", encoding="ascii")
    try:
        sink = Server((args.bind, args.sink_port), SinkHandler)
        source = HTTPServer((args.bind, args.source_port), SourceHandler)
    except OSError as err:
        log("error %s" % err)
        sys.exit(1)
    threading.Thread(target=source.serve_forever, daemon=True).start()
    log("ready")
    sink.serve_forever()


if __name__ == "__main__":
    main()
