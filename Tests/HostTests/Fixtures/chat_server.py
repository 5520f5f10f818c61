"""A loopback stand-in for an OpenAI-compatible chat server, for the llm-grader tests.
Usage: chat_server.py PORT_FILE

POST /<mode>/v1/chat/completions answers by mode:
  echo    a reply whose content is the request it got, with its Authorization header
  prose   a reply whose content is not JSON
  400     400 with an OpenAI-style error body
  500     500
  slow    waits 3 s, then replies
  loop    a first attempt (no "seed") loops "R&D, " until max_tokens, cut off; a retry's answer
          is {"summary": "A fine job."}, and GET /last answers the last request it got
  held    holds each request 300 ms, counting requests in flight per model; GET /stats
          answers the most seen at once, per model: {"a": 4, "b": 2}
Requests are served on threads of their own. Writes its port to PORT_FILE once listening.
"""
import http.server
import json
import os
import sys
import threading
import time

port_file = sys.argv[1]


def chat(content, finish="stop"):
    return {
        "model": "fixture-model",
        "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


in_flight, most, last = {}, {}, {}
counting = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, value):
        body = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/stats":
            with counting:
                return self.answer(200, dict(most))
        if self.path == "/last":
            with counting:
                return self.answer(200, dict(last))
        return self.answer(404, {"error": {"code": 404, "message": "no such path " + self.path}})

    def held(self, model):
        with counting:
            in_flight[model] = in_flight.get(model, 0) + 1
            most[model] = max(most.get(model, 0), in_flight[model])
        time.sleep(0.3)
        with counting:
            in_flight[model] -= 1
        return self.answer(200, chat("{}"))

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        mode = self.path.strip("/").split("/")[0]
        if not self.path.endswith("/v1/chat/completions"):
            return self.answer(404, {"error": {"code": 404, "message": "no such path " + self.path}})
        if mode == "echo":
            seen = {"request": request, "authorization": self.headers.get("Authorization")}
            return self.answer(200, chat(json.dumps(seen)))
        if mode == "loop":
            with counting:
                last.clear()
                last.update(request)
            if "seed" not in request:
                return self.answer(200, chat('{"summary": "Regulatory Affairs Specialist, ' + "R&D, " * 40, "length"))
            return self.answer(200, chat('{"summary": "A fine job."}'))
        if mode == "prose":
            return self.answer(200, chat("Sure! I would rate this posting a 4 out of 5 because it is clear."))
        if mode == "400":
            return self.answer(400, {"error": {"code": 400, "message": "'messages' is malformed", "type": "invalid_request_error"}})
        if mode == "500":
            return self.answer(500, {"error": {"code": 500, "message": "the model crashed", "type": "server_error"}})
        if mode == "held":
            return self.held(request.get("model", ""))
        if mode == "slow":
            time.sleep(3)
            return self.answer(200, chat("{}"))
        return self.answer(404, {"error": {"code": 404, "message": "no such mode " + mode}})


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
