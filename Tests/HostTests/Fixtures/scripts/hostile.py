#!/usr/bin/env python3
"""A script actor that misbehaves on request, for the sandbox tests.

Reads JSON on stdin, writes JSON on stdout. The input's "do" names the action:
echo, loop, crash (SIGSEGV), allocate (until MemoryError), fail (exit 2 with a reason on stderr), garbage (prints
non-JSON), huge (prints 100 MiB), socket (tries to open one), write (creates "path").
"""
import json
import os
import signal
import socket
import sys

request = json.load(sys.stdin)
action = request.get("do", "echo")

if action == "loop":
    while True:
        pass
elif action == "crash":
    os.kill(os.getpid(), signal.SIGSEGV)
elif action == "allocate":
    hoard = []
    while True:
        hoard.append(bytearray(16 << 20))
elif action == "fail":
    print("cannot grade this posting: no title", file=sys.stderr)
    sys.exit(2)
elif action == "garbage":
    print("this is not json {")
elif action == "huge":
    sys.stdout.write('"' + "x" * (100 << 20) + '"')
elif action == "socket":
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        json.dump({"socket": "created"}, sys.stdout)
    except OSError as error:
        json.dump({"socket": "denied", "errno": error.errno}, sys.stdout)
elif action == "write":
    try:
        with open(request["path"], "w") as handle:
            handle.write("x")
        json.dump({"write": "allowed"}, sys.stdout)
    except OSError as error:
        json.dump({"write": "denied", "errno": error.errno}, sys.stdout)
else:
    json.dump(request, sys.stdout)
