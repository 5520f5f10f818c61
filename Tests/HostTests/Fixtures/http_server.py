"""A loopback HTTP server for the fetcher tests. Usage: http_server.py PAGES_DIR PORT_FILE [FAULTS]

Serves /pages/<file> from PAGES_DIR, and misbehaves on request: /status/500 answers 500,
/slow waits 3 s, /malformed sends a page that is not JSON. FAULTS ("page-2.json=500,
page-3.json=slow") makes the first request for each named page under /faulty/<file> fail
that way; later requests get the page. For the fetcher's boundary: /link?next=URL is a page
whose next link is URL, /redirect?to=URL answers 302 to URL, and /requests is a page whose
items are the requests served so far (path and headers, lower-cased). /big?bytes=N answers
N bytes; /headers?count=N answers with N headers of 100 bytes each (a flood, for N large);
/not-http answers with a line that is not HTTP; a POST is recorded with its body and
answered 201. Writes its port to PORT_FILE once listening.
"""
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

pages, port_file = sys.argv[1], sys.argv[2]
faults = dict(item.split("=", 1) for item in sys.argv[3].split(",") if item) if len(sys.argv) > 3 else {}
served, served_lock = [], threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/requests":
            with served_lock:
                page = {"data": list(served), "paging": {"next": None}}
            return self.answer(200, json.dumps(page).encode())
        with served_lock:
            served.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        if url.path == "/link":
            return self.answer(200, json.dumps({"data": [{"id": 1}], "paging": {"next": query.get("next") or None}}).encode())
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path.startswith("/faulty/"):
            fault = faults.pop(os.path.basename(self.path), None)
            if fault == "500":
                return self.answer(500, b'{"error":"internal"}')
            if fault == "slow":
                time.sleep(3)
            if fault == "malformed":
                return self.answer(200, b'{"data": [1, 2')
            self.path = "/pages/" + os.path.basename(self.path)
        if self.path.startswith("/pages/"):
            path = os.path.join(pages, os.path.basename(self.path))
            if os.path.exists(path):
                with open(path, "rb") as page:
                    return self.answer(200, page.read())
            return self.answer(404, b'{"error":"no such page"}')
        if self.path == "/status/500":
            return self.answer(500, b'{"error":"internal"}')
        if self.path == "/slow":
            time.sleep(3)
            return self.answer(200, b'{"data":[],"paging":{"next":null}}')
        if self.path == "/malformed":
            return self.answer(200, b'{"data": [1, 2')
        if url.path == "/big":
            return self.answer(200, b"x" * int(query["bytes"]))
        if url.path == "/not-http":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.close_connection = True
            return
        if url.path == "/headers":
            try:
                self.send_response(200)
                for index in range(int(query["count"])):
                    self.send_header("X-Flood-%06d" % index, "x" * 82)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its limit, as it should
            return
        return self.answer(404, b"{}")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with served_lock:
            served.append({"path": self.path, "method": "POST", "body": body.decode(errors="replace"),
                           "headers": {k.lower(): v for k, v in self.headers.items()}})
        return self.answer(201, json.dumps({"received": len(body)}).encode())


    def do_HEAD(self):
        with served_lock:
            served.append({"path": self.path, "method": "HEAD", "headers": {k.lower(): v for k, v in self.headers.items()}})
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()

    def do_DELETE(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with served_lock:
            served.append({"path": self.path, "method": "DELETE", "body": body.decode(errors="replace"),
                           "headers": {k.lower(): v for k, v in self.headers.items()}})
        return self.answer(200, b"{}")


# Threaded: a retry must not queue behind the slow request it gave up on.
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
