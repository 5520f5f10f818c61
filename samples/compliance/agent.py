#!/usr/bin/env python3
"""A small sample agent for compliance-checker: the HTTP service samples/compliance/suite.json checks.

Usage: agent.py [--port 0] [--port-file FILE] [--fail STORYBOARD/PHASE]... [--slow-ms N] [--malformed]

Listens on 127.0.0.1 (port 0: any free port), prints "listening on http://127.0.0.1:PORT" and
writes PORT to --port-file once it listens. Python 3 standard library only.

Storyboards and the endpoints of their phases:
  identity/discovery  GET  /.well-known/agent.json      the agent's card
  identity/auth       POST /auth/token                   a token for the right secret, 401 for a wrong one
  catalog/list        GET  /catalog/items                the items
  catalog/item        GET  /catalog/items/ID             one item, 404 for an unknown one
  orders/create       POST /orders                       201 and the new order
  orders/status       GET  /orders/ID                    an order's status (o-100 always exists)

Misbehaviour on request:
  --fail S/P     that phase's endpoints answer wrongly: 200 whatever the right status, every string
                 in the body turned into a number and every number into a string (repeatable)
  --slow-ms N    every answer waits N ms first
  --malformed    every answer is 200 and not JSON
POST /_control with {"fail": ["S/P", ...], "delay_ms": N, "malformed": bool} changes any of them
while it runs (members left out stay as they are) and answers the new state; GET /_control
answers the state.
"""
import argparse
import http.server
import json
import os
import re
import sys
import threading
import time

ITEMS = [
    {"id": "a1", "name": "Anvil", "price": 12.5, "stock": 4},
    {"id": "b2", "name": "Bellows", "price": 30, "stock": 0},
    {"id": "c3", "name": "Chisel", "price": 4.25, "stock": 17},
]
CLIENT, SECRET = "checker", "s3cret"


class State:
    def __init__(self, fail, delay_ms, malformed):
        self.lock = threading.Lock()
        self.fail = set(fail)
        self.delay_ms = delay_ms
        self.malformed = malformed
        self.orders = {"o-100": {"id": "o-100", "item": "a1", "quantity": 1, "status": "shipped", "total": 12.5}}
        self.next_order = 101
        self.requests = 0  # received, answered or not: a test waits for a check to reach the agent

    def snapshot(self):
        with self.lock:
            return {"fail": sorted(self.fail), "delay_ms": self.delay_ms, "malformed": self.malformed,
                    "requests": self.requests}


def corrupt(value):
    """The wrong answer: strings become numbers, numbers strings, recursively."""
    if isinstance(value, dict):
        return {key: corrupt(item) for key, item in value.items()}
    if isinstance(value, list):
        return [corrupt(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (int, float)):
        return str(value)
    return value


def route(state, method, path, body):
    """(phase, status, answer) for one request; phase is None for no phase's endpoint."""
    if method == "GET" and path == "/.well-known/agent.json":
        return "identity/discovery", 200, {
            "name": "sample-agent", "version": "1.0.0", "protocol": "wavehost-sample/1",
            "capabilities": ["catalog", "orders"], "auth": {"token_url": "/auth/token"},
        }
    if method == "POST" and path == "/auth/token":
        if isinstance(body, dict) and body.get("client") == CLIENT and body.get("secret") == SECRET:
            return "identity/auth", 200, {"token": "tok-" + CLIENT, "token_type": "bearer", "expires_in": 3600}
        return "identity/auth", 401, {"error": "invalid_client"}
    if method == "GET" and path == "/catalog/items":
        return "catalog/list", 200, {"items": ITEMS, "count": len(ITEMS)}
    match = re.fullmatch(r"/catalog/items/([^/]+)", path)
    if method == "GET" and match:
        item = next((item for item in ITEMS if item["id"] == match.group(1)), None)
        if item is None:
            return "catalog/item", 404, {"error": "not_found", "id": match.group(1)}
        return "catalog/item", 200, {"item": item}
    if method == "POST" and path == "/orders":
        item = next((item for item in ITEMS if isinstance(body, dict) and item["id"] == body.get("item")), None)
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if item is None or not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            return "orders/create", 422, {"error": "invalid_order"}
        with state.lock:
            order_id = "o-%d" % state.next_order
            state.next_order += 1
            order = {"id": order_id, "item": item["id"], "quantity": quantity, "status": "pending",
                     "total": round(item["price"] * quantity, 2)}
            state.orders[order_id] = order
        return "orders/create", 201, {"order": order}
    match = re.fullmatch(r"/orders/([^/]+)", path)
    if method == "GET" and match:
        with state.lock:
            order = state.orders.get(match.group(1))
        if order is None:
            return "orders/status", 404, {"error": "not_found", "id": match.group(1)}
        return "orders/status", 200, {"id": order["id"], "status": order["status"]}
    return None, 404, {"error": "no such endpoint", "method": method, "path": path}


def handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, data, content_type="application/json"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw

        def control(self, body):
            if self.command == "POST":
                if not isinstance(body, dict):
                    return self.send(400, json.dumps({"error": "a JSON object: fail, delay_ms, malformed"}).encode())
                with state.lock:
                    if "fail" in body:
                        state.fail = set(body["fail"] or [])
                    if "delay_ms" in body:
                        state.delay_ms = int(body["delay_ms"] or 0)
                    if "malformed" in body:
                        state.malformed = bool(body["malformed"])
            self.send(200, json.dumps(state.snapshot()).encode())

        def serve(self):
            path = self.path.split("?", 1)[0]
            body = self.read_body()
            if path == "/_control":
                return self.control(body)
            with state.lock:
                state.requests += 1
            snapshot = state.snapshot()
            if snapshot["delay_ms"] > 0:
                time.sleep(snapshot["delay_ms"] / 1000)
            if snapshot["malformed"]:
                return self.send(200, b"<html><body>Internal happiness</body></html>", "text/html")
            phase, status, answer = route(state, self.command, path, body)
            if phase in snapshot["fail"]:
                status, answer = 200, corrupt(answer)
            self.send(status, json.dumps(answer).encode())

        do_GET = serve
        do_POST = serve
        do_PUT = serve
        do_DELETE = serve

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A checker that gave up on a slow answer has hung up: nothing to report.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description="The sample agent samples/compliance/suite.json checks.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--fail", action="append", default=[], metavar="STORYBOARD/PHASE")
    parser.add_argument("--slow-ms", type=int, default=0)
    parser.add_argument("--malformed", action="store_true")
    options = parser.parse_args()
    state = State(options.fail, options.slow_ms, options.malformed)
    server = Server(("127.0.0.1", options.port), handler(state))
    port = server.server_address[1]
    print("listening on http://127.0.0.1:%d" % port, flush=True)
    if options.port_file:
        with open(options.port_file + ".tmp", "w") as out:
            out.write(str(port))
        os.replace(options.port_file + ".tmp", options.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
