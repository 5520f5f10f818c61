#!/usr/bin/env python3
"""word-count: an example script actor. Copy it to write actors in any language.

A script actor reads one JSON document on stdin and writes one on stdout. Anything on
stderr is kept in the interaction's error; a non-zero exit refuses the input. It runs in
the sandbox like any actor: a deadline, memory and file limits, no network, and writes
only in its scratch folder (its working directory). Its examples, which `wavehost plugins
check` runs, are in word-count.examples.json beside it.

Input:  {"text": "Senior Swift engineer, Berlin"}
Output: {"words": 4, "characters": 29}
"""
import json
import sys


def refuse(message):
    """Refuse the input: a message on stderr and a non-zero exit."""
    print(message, file=sys.stderr)
    sys.exit(2)


try:
    request = json.loads(sys.stdin.buffer.read().decode("utf-8"))
except (UnicodeDecodeError, ValueError, RecursionError) as error:
    refuse(f"input is not valid JSON: {error}")
if not isinstance(request, dict) or not isinstance(request.get("text"), str):
    refuse('input must be a JSON object with a "text" string')
text = request["text"]
json.dump({"words": len(text.split()), "characters": len(text)}, sys.stdout)
