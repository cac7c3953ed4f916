#!/usr/bin/env python3
"""Writes a docker-archive holding N distinct images that share one small layer.

Usage: make_many_images.py OUT.tar N
"""
import hashlib
import io
import json
import sys
import tarfile


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    layer_buf = io.BytesIO()
    with tarfile.open(fileobj=layer_buf, mode="w", format=tarfile.USTAR_FORMAT) as layer:
        add(layer, "hello.txt", b"hello from a benchmark image\n")
    layer_bytes = layer_buf.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    manifest = []
    with tarfile.open(out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        add(tar, "layer.tar", layer_bytes)
        for i in range(count):
            config = {
                "architecture": "amd64",
                "os": "linux",
                "created": "2024-01-01T00:00:%02dZ" % (i % 60),
                "config": {"Cmd": ["/hello"], "Labels": {"index": str(i)}},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "bench image %d" % i}],
            }
            data = json.dumps(config, sort_keys=True).encode()
            name = hashlib.sha256(data).hexdigest() + ".json"
            add(tar, name, data)
            manifest.append({"Config": name, "RepoTags": ["localhost/bench/many%d:latest" % i], "Layers": ["layer.tar"]})
        add(tar, "manifest.json", json.dumps(manifest).encode())


if __name__ == "__main__":
    main()
