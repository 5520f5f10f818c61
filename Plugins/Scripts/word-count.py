#!/usr/bin/env python3
"""word-count: an example script actor. Copy it to write actors in any language.

A script actor reads one JSON document on stdin and writes one on stdout. Anything on
stderr is kept in the interaction's error; a non-zero exit fails the interaction. It
runs in the sandbox like any actor: a deadline, memory and file limits, no network,
and writes only in its scratch folder (its working directory).

Input:  {"text": "Senior Swift engineer, Berlin"}
Output: {"words": 4, "characters": 29}
"""
import json
import sys

request = json.load(sys.stdin)
text = request.get("text")
if not isinstance(text, str):
    print('input needs a "text" string', file=sys.stderr)
    sys.exit(2)
json.dump({"words": len(text.split()), "characters": len(text)}, sys.stdout)
