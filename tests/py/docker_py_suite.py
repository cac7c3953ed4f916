"""docker-py (the `docker` package) against Berth's API socket: containers, images,
networks, volumes, exec, streamed logs, attach and archives. Run by tests/tests/
api_clients.rs with DOCKER_HOST set and BERTH_IMAGE naming a busybox image the
store already has; exits non-zero on the first failed check."""

import io
import os
import sys
import tarfile
import time

import docker

image = os.environ["BERTH_IMAGE"]
client = docker.from_env(timeout=60)
checks = 0


def check(cond, what):
    global checks
    if not cond:
        sys.exit(f"docker-py: FAILED: {what}")
    checks += 1


# System.
check(client.ping() is True, "ping")
version = client.version()
check(version["ApiVersion"] == "1.41", f"version: {version}")
check("Containers" in client.info(), "info")

# Images.
img = client.images.get(image)
check(image in img.tags, f"image tags: {img.tags}")
img.tag("localhost/dockerpy", "one")
check(any(t == "localhost/dockerpy:one" for t in client.images.get(image).tags), "tag")
client.images.remove("localhost/dockerpy:one")
check(not any(t.startswith("localhost/dockerpy") for t in client.images.get(image).tags), "untag")

# Search, through the registry's catalog.
registry = image.split("/")[0]
hits = client.images.search(f"{registry}/busybox")
check(any(h["name"] == f"{registry}/berth-test/busybox" for h in hits)
      and all("busybox" in h["name"] and h["star_count"] == 0 for h in hits), f"search {hits}")

# A run to completion: its output and exit code.
out = client.containers.run(image, ["sh", "-c", "echo from-run; echo $WHO"],
                            environment={"WHO": "docker-py"}, remove=True)
check(out == b"from-run\ndocker-py\n", f"run output: {out!r}")
try:
    client.containers.run(image, ["sh", "-c", "exit 3"], remove=True)
    check(False, "a failing run raises")
except docker.errors.ContainerError as e:
    check(e.exit_status == 3, f"exit status {e.exit_status}")

# Volumes and networks.
vol = client.volumes.create("dockerpy-vol", labels={"suite": "docker-py"})
check(vol.name == "dockerpy-vol", "volume create")
check(any(v.name == "dockerpy-vol" for v in client.volumes.list()), "volume list")
net = client.networks.create("dockerpy-net")
check(net.name == "dockerpy-net", "network create")

# A long-running container on that network with that volume.
c = client.containers.run(
    image,
    ["sh", "-c", "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.2; done"],
    detach=True, name="dockerpy-box", network="dockerpy-net",
    volumes={"dockerpy-vol": {"bind": "/data", "mode": "rw"}},
    labels={"suite": "docker-py"},
)
c.reload()
check(c.status == "running", f"status {c.status}")
check(c.labels.get("suite") == "docker-py", "labels")
check(any(x.id == c.id for x in client.containers.list(filters={"label": "suite=docker-py"})),
      "list by label")
check("dockerpy-net" in c.attrs["NetworkSettings"]["Networks"], "on the network")

# Streamed logs, followed.
lines = []
for chunk in c.logs(stream=True, follow=True):
    lines.extend(chunk.decode().split())
    if len(lines) >= 4:
        break
check(all(l.startswith("tick") for l in lines), f"log lines {lines}")

# Exec: exit code and output, demultiplexed, and streamed.
code, output = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 5"], demux=True)
check(code == 5 and output == (b"out\n", b"err\n"), f"exec {code} {output!r}")
code, output = c.exec_run(["sh", "-c", "echo kept > /data/f; cat /data/f"])
check(code == 0 and output == b"kept\n", f"exec into the volume {output!r}")
stream = c.exec_run(["sh", "-c", "for i in 1 2 3; do echo s$i; done"], stream=True)
streamed = b"".join(stream.output)
check(streamed == b"s1\ns2\ns3\n", f"streamed exec {streamed!r}")

# Archives both ways.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"put by docker-py"
    info = tarfile.TarInfo("put.txt")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
check(c.put_archive("/tmp", buf.getvalue()), "put_archive")
bits, stat = c.get_archive("/tmp/put.txt")
got = io.BytesIO(b"".join(bits))
with tarfile.open(fileobj=got) as t:
    content = t.extractfile("put.txt").read()
check(content == b"put by docker-py" and stat["name"] == "put.txt", f"get_archive {stat}")

# Attach to a running container with stdin: what goes in comes out.
cat = client.containers.run(image, ["cat"], detach=True, stdin_open=True, name="dockerpy-cat")
sock = cat.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
raw = sock._sock
raw.sendall(b"echo-through-attach\n")
deadline = time.time() + 10
received = b""
while b"echo-through-attach" not in received and time.time() < deadline:
    received += raw.recv(4096)
check(b"echo-through-attach" in received, f"attach got {received!r}")
sock.close()
cat.remove(force=True)

# Connect, disconnect, stop, remove.
net.disconnect(c)
c.reload()
check("dockerpy-net" not in c.attrs["NetworkSettings"]["Networks"], "disconnected")
net.connect(c)
c.reload()
check("dockerpy-net" in c.attrs["NetworkSettings"]["Networks"], "connected again")
c.stop(timeout=0)
c.reload()
check(c.status == "exited", f"stopped: {c.status}")
check(c.wait()["StatusCode"] in (137, 143), "wait after stop")
c.remove()
try:
    client.containers.get("dockerpy-box")
    check(False, "a removed container is gone")
except docker.errors.NotFound:
    check(True, "")
net.remove()
vol.remove()
check(not any(v.name == "dockerpy-vol" for v in client.volumes.list()), "volume removed")
print(f"docker-py: {checks} checks ok")
