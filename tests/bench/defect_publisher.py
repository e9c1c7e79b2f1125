#!/usr/bin/env python3
"""A publisher written from the documented wire schema only, to measure the two stream defects
of issue 13 against any engram build: one that sends real MNIST digits of two tasks as f32
frames ("f32": little-endian floats in [0, 1]) and, with --poison N, N extra frames holding a
NaN spread evenly among them.

  python3 tests/bench/defect_publisher.py --endpoint tcp://127.0.0.1:5700 --per-task 2000 --poison 42

Needs Debian's python3-zmq and python3-msgpack. Prints what it sent on stderr.
"""
import argparse
import array
import gzip
import os
import struct
import sys
import time

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = struct.unpack(">I", data[:4])[0] & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5700")
    p.add_argument("--data", default=os.path.join(HERE, "..", "..", "data", "mnist"))
    p.add_argument("--tasks", default="0,1/2,3")
    p.add_argument("--per-task", type=int, default=2000)
    p.add_argument("--poison", type=int, default=0, help="extra frames holding a NaN")
    args = p.parse_args()

    (n, rows, cols), images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    (_,), labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    pixels = rows * cols
    groups = [{int(c) for c in g.split(",")} for g in args.tasks.split("/")]
    total = args.per_task * len(groups)
    poison_at = set()
    if args.poison > 0:
        step = total / args.poison
        poison_at = {int(step * k + step / 2) for k in range(args.poison)}

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 30000)
    sock.setsockopt(zmq.SNDTIMEO, 60000)
    sock.connect(args.endpoint)
    seq = sent = bad = 0

    def send(label, task, values):
        nonlocal seq
        header = {"v": 1, "src": "defect-publisher", "seq": seq, "t_acq": time.time_ns(),
                  "enc": "f32", "shape": [rows, cols], "label": label, "task": task}
        sock.send_multipart([b"mnist", msgpack.packb(header), values.tobytes()])
        seq += 1

    for task, classes in enumerate(groups):
        count = 0
        for i in range(n):
            if labels[i] not in classes:
                continue
            values = array.array("f", (v / 255.0 for v in images[i * pixels:(i + 1) * pixels]))
            if sent in poison_at:
                poisoned = array.array("f", values)
                poisoned[pixels // 2] = float("nan")
                send(labels[i], task, poisoned)
                bad += 1
            send(labels[i], task, values)
            sent += 1
            count += 1
            if count == args.per_task:
                break
    print(f"sent {sent} valid frames and {bad} frames holding a NaN", file=sys.stderr)
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
