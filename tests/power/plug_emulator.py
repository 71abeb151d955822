#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Edimax SP-2101W smart plug emulator for kvmtrace-bpf's tests (Python standard library only).

Serves POST /smartplug.cgi on loopback the way the plug does: checks the XML envelope, asks for
Basic or Digest credentials (admin/1234 unless told otherwise), and answers NowPower/NowCurrent
queries from a script of steps, one step per authenticated request or per second. A step is a
wattage ("25.53") or a fault:

  401           HTTP 401 even with good credentials
  failed        <CMD id="get">FAILED</CMD>          failed-bare   the bare text FAILED
  header-error  "XML Header error" (what the plug says to a bad envelope)
  empty         200 with an empty body              500           HTTP 500
  malformed     mismatched tags                     truncated     XML cut inside NowPower
  partial       Content-Length larger than what is sent, then close
  big           10 MB body with a Content-Length    big-nolength  10 MB body ended by close
  nonnum        NowPower "N/A"                      negative      NowPower "-12.5"
  huge          NowPower "999999999"                nometer       no NowPower element (SP-1101W)
  hang          read the request, never answer (until the client leaves or --hang-seconds)
  close         read the request, close without answering
  delay:S:W     answer W watts after S seconds

Prints "listening on ADDR PORT" on stdout once ready (useful with --port 0), and one line per
request on the log (stderr unless --log): wall-clock time, seconds since start, client, auth
result, step number and what was answered, so a test can match readings to intervals.
After the last step the last one repeats.
"""

import argparse
import base64
import hashlib
import http.server
import os
import secrets
import select
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET

REALM = "SP2101W"
DECL = '<?xml version="1.0" encoding="UTF8"?>'
FAULTS = {
    "401", "failed", "failed-bare", "header-error", "empty", "500", "malformed", "truncated",
    "partial", "big", "big-nolength", "nonnum", "negative", "huge", "nometer", "hang", "close",
}
BIG = 10 * 1024 * 1024


def check_step(step):
    if step in FAULTS:
        return step
    if step.startswith("delay:"):
        _, secs, watts = step.split(":")
        float(secs)
        float(watts)
        return step
    float(step)
    return step


def reply_xml(cmd_id, inner):
    return f'{DECL}<SMARTPLUG id="edimax"><CMD id="{cmd_id}">{inner}</CMD></SMARTPLUG>'


def meter_xml(power, current, wanted):
    """The NOW_POWER part of a reply with the fields asked for (all of them for an empty query)."""
    fields = {
        "Device.System.Power.LastToggleTime": "20240101120000",
        "Device.System.Power.NowCurrent": current,
        "Device.System.Power.NowPower": power,
        "Device.System.Power.NowEnergy.Day": "0.512",
        "Device.System.Power.NowEnergy.Week": "3.210",
        "Device.System.Power.NowEnergy.Month": "12.345",
    }
    names = wanted or list(fields)
    return "<NOW_POWER>" + "".join(
        f"<{n}>{fields[n]}</{n}>" for n in names if n in fields and fields[n] is not None
    ) + "</NOW_POWER>"


class Plug:
    def __init__(self, args):
        self.args = args
        self.steps = args.steps
        self.start = time.monotonic()
        self.served = 0
        self.nonces = set()
        self.lock = threading.Lock()
        self.log = open(args.log, "a", buffering=1) if args.log else sys.stderr

    def next_step(self):
        with self.lock:
            if self.args.step == "second":
                i = int(time.monotonic() - self.start)
            else:
                i = self.served
            self.served += 1
        i = min(i, len(self.steps) - 1)
        return i, self.steps[i]

    def new_nonce(self):
        nonce = secrets.token_hex(16)
        with self.lock:
            self.nonces.add(nonce)
        return nonce

    def record(self, client, auth, step, what):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
        stamp += f".{int(now % 1 * 1000):03d}"
        self.log.write(f"{stamp} {now:.3f} +{time.monotonic() - self.start:.3f} {client} "
                       f"auth={auth} step={step} reply={what}\n")

    def check_auth(self, method, header):
        """'ok', 'none' (no credentials sent) or 'bad'."""
        a = self.args
        if a.auth == "none":
            return "ok"
        if not header:
            return "none"
        scheme, _, rest = header.partition(" ")
        if a.auth == "basic":
            if scheme.lower() != "basic":
                return "bad"
            try:
                user, _, password = base64.b64decode(rest.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return "bad"
            return "ok" if (user, password) == (a.user, a.password) else "bad"
        if scheme.lower() != "digest":
            return "bad"
        p = parse_digest(rest)
        if p.get("username") != a.user or p.get("realm") != REALM:
            return "bad"
        with self.lock:
            known = p.get("nonce") in self.nonces
        if not known:
            return "bad"

        def md5(s):
            return hashlib.md5(s.encode()).hexdigest()

        ha1 = md5(f"{a.user}:{REALM}:{a.password}")
        ha2 = md5(f"{method}:{p.get('uri', '')}")
        if p.get("qop"):
            nc, cnonce = p.get("nc", ""), p.get("cnonce", "")
            want = md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:{p['qop']}:{ha2}")
        else:
            want = md5(f"{ha1}:{p['nonce']}:{ha2}")
        return "ok" if p.get("response") == want else "bad"

    def challenge(self):
        if self.args.auth == "basic":
            return f'Basic realm="{REALM}"'
        return f'Digest realm="{REALM}", nonce="{self.new_nonce()}", qop="auth", algorithm=MD5'


def parse_digest(s):
    """key=value and key="value" pairs of a Digest Authorization header."""
    out = {}
    i, n = 0, len(s)
    while i < n:
        while i < n and s[i] in " ,":
            i += 1
        eq = s.find("=", i)
        if eq < 0:
            break
        key = s[i:eq].strip()
        i = eq + 1
        if i < n and s[i] == '"':
            end = s.find('"', i + 1)
            if end < 0:
                end = n
            out[key] = s[i + 1:end]
            i = end + 1
        else:
            end = s.find(",", i)
            if end < 0:
                end = n
            out[key] = s[i:end].strip()
            i = end
    return out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Edimax-emulator"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def client(self):
        return f"{self.client_address[0]}:{self.client_address[1]}"

    def send(self, code, body=b"", headers=(), length=None):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if length is not False:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Content-Type", "text/xml")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if body:
            self.wfile.write(body)

    def do_GET(self):
        plug = self.server.plug
        plug.record(self.client(), "-", "-", "405 GET")
        self.send(405)

    def do_POST(self):
        plug = self.server.plug
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 65536)) if length > 0 else b""
        if self.path != "/smartplug.cgi":
            plug.record(self.client(), "-", "-", f"404 {self.path}")
            self.send(404)
            return
        auth = plug.check_auth("POST", self.headers.get("Authorization"))
        if auth != "ok":
            plug.record(self.client(), auth, "-", "401 challenge")
            self.send(401, headers=[("WWW-Authenticate", plug.challenge())])
            return
        try:
            root = ET.fromstring(body)
            cmd = root.find("CMD")
            if root.tag != "SMARTPLUG" or root.get("id") != "edimax" or cmd is None \
                    or cmd.get("id") not in ("get", "setup"):
                raise ValueError("envelope")
        except (ET.ParseError, ValueError):
            plug.record(self.client(), auth, "-", "header-error (bad envelope)")
            self.send(200, b"XML Header error")
            return
        state = cmd.find("Device.System.Power.State") is not None
        now_power = cmd.find("NOW_POWER")
        wanted = [c.tag for c in now_power] if now_power is not None else []
        i, step = plug.next_step()
        plug.record(self.client(), auth, i, step)
        self.answer(step, cmd.get("id"), state, now_power is not None, wanted)

    def answer(self, step, cmd_id, state, metering, wanted):
        def ok(power, current="0.1000"):
            inner = ""
            if state:
                inner += "<Device.System.Power.State>ON</Device.System.Power.State>"
            if metering:
                inner += meter_xml(power, current, wanted)
            return reply_xml(cmd_id, inner).encode()

        if step.startswith("delay:"):
            _, secs, watts = step.split(":")
            time.sleep(float(secs))
            step = watts
        if step not in FAULTS:
            watts = float(step)
            self.send(200, ok(step, f"{watts / 230:.4f}"))
        elif step == "401":
            self.send(401, headers=[("WWW-Authenticate", self.server.plug.challenge())])
        elif step == "500":
            self.send(500)
        elif step == "failed":
            self.send(200, reply_xml(cmd_id, "FAILED").encode())
        elif step == "failed-bare":
            self.send(200, b"FAILED")
        elif step == "header-error":
            self.send(200, b"XML Header error")
        elif step == "empty":
            self.send(200)
        elif step == "malformed":
            self.send(200, (DECL + '<SMARTPLUG id="edimax"><CMD id="get"><NOW_POWER>'
                            '<Device.System.Power.NowPower>25.53</NowPower></CMD>').encode())
        elif step == "truncated":
            self.send(200, ok("25.53")[:-60])
        elif step == "partial":
            full = ok("25.53")
            self.send(200, full[:len(full) // 2], length=len(full))
        elif step in ("big", "big-nolength"):
            self.big(step == "big")
        elif step == "nonnum":
            self.send(200, ok("N/A"))
        elif step == "negative":
            self.send(200, ok("-12.5"))
        elif step == "huge":
            self.send(200, ok("999999999"))
        elif step == "nometer":
            self.send(200, ok(None, None))
        elif step == "hang":
            self.hang()
        elif step == "close":
            self.close_connection = True

    def big(self, with_length):
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        if with_length:
            self.send_header("Content-Length", str(BIG))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"<!-- " + b"x" * 65526 + b" -->"
        try:
            self.wfile.write((DECL + '<SMARTPLUG id="edimax">').encode())
            for _ in range(BIG // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            pass

    def hang(self):
        """A plug that accepted the connection and went away: wait for the client to leave."""
        self.close_connection = True
        deadline = time.monotonic() + self.server.plug.args.hang_seconds
        sock = self.connection
        while time.monotonic() < deadline:
            r, _, _ = select.select([sock], [], [], 0.1)
            if r:
                try:
                    if not sock.recv(4096):
                        return
                except OSError:
                    return

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=10000, help="TCP port, 0 for any free one")
    ap.add_argument("--bind", default="127.0.0.1", help="loopback address (127.0.0.1 or ::1)")
    ap.add_argument("--auth", choices=("basic", "digest", "none"), default="digest")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--password", default="1234")
    ap.add_argument("--step", choices=("request", "second"), default="request",
                    help="advance the script per authenticated request or per second")
    ap.add_argument("--script", help="file with one step per line (# comments)")
    ap.add_argument("--log", help="request log file (default stderr)")
    ap.add_argument("--hang-seconds", type=float, default=30.0)
    ap.add_argument("steps", nargs="*", help="steps after those of --script")
    args = ap.parse_args()

    if args.bind not in ("127.0.0.1", "::1", "localhost"):
        ap.error("the emulator listens on loopback only")
    steps = []
    if args.script:
        with open(args.script) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    steps.append(line)
    steps += args.steps
    if not steps:
        steps = ["25.53"]
    try:
        args.steps = [check_step(s) for s in steps]
    except ValueError:
        ap.error(f"bad step in {steps}: a number, delay:S:W or one of {sorted(FAULTS)}")

    if ":" in args.bind:
        Server.address_family = socket.AF_INET6
    srv = Server((args.bind, args.port), Handler)
    srv.plug = Plug(args)
    print(f"listening on {args.bind} {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
