#!/usr/bin/env python3
"""Stream MNIST frames into a running engram over ZeroMQ (the sensor wire schema).

Needs only Debian's python3-zmq and python3-msgpack; no engram code. Each frame is a multipart
[topic][msgpack header][payload] as documented in io/sensors/sensor_frame.h and the README.

  python3 examples/sensor_publisher.py --endpoint tcp://127.0.0.1:5700 \
      --tasks 0,1/2,3 --per-task 3000

sends 3000 training images of classes {0,1} as task 0, then 3000 of {2,3} as task 1, with
labels, per-source sequence numbers and acquisition times. PUSH blocks when engram's
high-water marks are reached (the `block` policy), so a slow learner slows the publisher.
"""
import argparse
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
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5700")
    parser.add_argument("--data", default=os.path.join(HERE, "..", "data", "mnist"))
    parser.add_argument("--tasks", default="0,1/2,3", help="classes per task, tasks split by /")
    parser.add_argument("--per-task", type=int, default=3000, help="frames per task")
    parser.add_argument("--source", default="mnist-camera")
    parser.add_argument("--rate", type=float, default=0, help="frames per second (0 = as fast as accepted)")
    parser.add_argument("--server-key", help="engram's CURVE public key (Z85): encrypt and "
                        "authenticate with --key-file")
    parser.add_argument("--key-file", help="this publisher's key pair as printed by "
                        "`engram keygen` (lines 'public <Z85>' and 'secret <Z85>')")
    args = parser.parse_args()
    if bool(args.server_key) != bool(args.key_file):
        parser.error("--server-key and --key-file go together")

    (n, rows, cols), images = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    (_,), labels = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    pixels = rows * cols

    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 10000)  # let queued frames reach engram before exiting
    sock.setsockopt(zmq.SNDTIMEO, 30000)  # give up if engram stops taking frames for 30 s
    if args.server_key:
        keys = dict(line.split(None, 1) for line in open(args.key_file).read().splitlines()
                    if line.strip())
        sock.curve_serverkey = args.server_key.encode()
        sock.curve_publickey = keys["public"].strip().encode()
        sock.curve_secretkey = keys["secret"].strip().encode()
    sock.connect(args.endpoint)

    seq = 0
    sent = 0
    start = time.time()
    for task, group in enumerate(args.tasks.split("/")):
        classes = {int(c) for c in group.split(",")}
        count = 0
        for i in range(n):
            if labels[i] not in classes:
                continue
            header = {"v": 1, "src": args.source, "seq": seq, "t_acq": time.time_ns(),
                      "enc": "u8", "shape": [rows, cols], "label": labels[i], "task": task}
            try:
                sock.send_multipart([b"mnist", msgpack.packb(header),
                                     images[i * pixels:(i + 1) * pixels]])
            except zmq.Again:
                sys.exit(f"engram took no frame for 30 s at {args.endpoint}; is it running?")
            seq += 1
            sent += 1
            count += 1
            if args.rate > 0:
                time.sleep(1.0 / args.rate)
            if count == args.per_task:
                break
    elapsed = time.time() - start
    print(f"sent {sent} frames in {elapsed:.1f} s ({sent / max(elapsed, 1e-9):.0f} frames/s)",
          file=sys.stderr)
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
