"""A loopback HTTP server for the fetcher tests. Usage: http_server.py PAGES_DIR PORT_FILE

Serves /pages/<file> from PAGES_DIR, and misbehaves on request: /status/500 answers 500,
/slow waits 3 s, /malformed sends a page that is not JSON. Writes its port to PORT_FILE
once listening; stops on SIGTERM.
"""
import http.server
import os
import sys
import time

pages, port_file = sys.argv[1], sys.argv[2]


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
        return self.answer(404, b"{}")


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
