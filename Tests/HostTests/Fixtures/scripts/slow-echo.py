# A script actor that takes a moment (50 ms), then answers its input: slow enough that a
# host killed mid-run has work in flight.
import sys
import time

data = sys.stdin.read()
time.sleep(0.05)
sys.stdout.write(data)
