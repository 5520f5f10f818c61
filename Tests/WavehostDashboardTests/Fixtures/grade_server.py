"""A loopback stand-in for an OpenAI-compatible chat server that grades, for the dashboard
tests: llm-grader (the real plugin) asks it, and it answers {"grade": N, "reason": ...}.
Usage: grade_server.py PORT_FILE

The grade is deterministic: 3 to 5 when the prompt holds the word "detailed", else 2 to 4,
picked by the prompt's bytes, so one variant's outputs score higher than the other's.
Writes its port to PORT_FILE once listening.
"""
import http.server
import json
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        if not self.path.endswith("/v1/chat/completions"):
            return self.answer(404, {"error": {"code": 404, "message": "no such path " + self.path}})
        prompt = request["messages"][-1]["content"]
        grade = (3 if "detailed" in prompt else 2) + sum(prompt.encode()) % 3
        content = json.dumps({"grade": grade, "reason": "graded by the stand-in"})
        self.answer(200, {
            "model": "grade-fixture",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        })

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
