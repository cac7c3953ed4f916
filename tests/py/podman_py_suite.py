"""podman-py (the `podman` package) against Berth's Libpod API: containers, images,
pods, volumes and networks. Run by tests/tests/api_clients.rs with BERTH_URL (the
socket's unix:// URL) and BERTH_IMAGE (a busybox image the store has); exits non-zero
on the first failed check."""

import os
import sys

from podman import PodmanClient
from podman.errors import NotFound

image = os.environ["BERTH_IMAGE"]
checks = 0


def check(cond, what):
    global checks
    if not cond:
        sys.exit(f"podman-py: FAILED: {what}")
    checks += 1


with PodmanClient(base_url=os.environ["BERTH_URL"], timeout=60) as client:
    check(client.ping(), "ping")
    check("host" in client.info(), "info")

    # Images.
    check(client.images.exists(image), "image exists")
    img = client.images.get(image)
    check(image in img.tags, f"tags {img.tags}")
    check(any(image in i.tags for i in client.images.list()), "image list")

    # Search and tags, through the registry's catalog.
    registry = image.split("/")[0]
    hits = client.images.search(f"{registry}/busy")
    check(any(h["Name"] == f"{registry}/berth-test/busybox" and h["Index"] == registry
              for h in hits), f"search {hits}")
    tags = client.images.search(f"{registry}/berth-test/busybox", listTags=True)
    check(any(t["Tag"] == "latest" for t in tags), f"tags {tags}")

    # A container through its life.
    c = client.containers.create(image, command=["sh", "-c", "echo hello $WHO; exit 3"],
                                 name="podmanpy-run", environment={"WHO": "podman-py"},
                                 labels={"suite": "podman-py"})
    check(c.name == "podmanpy-run", f"name {c.name}")
    check(client.containers.exists("podmanpy-run"), "container exists")
    c.start()
    check(c.wait() == 3, "exit code through wait")
    logs = b"".join(c.logs(stdout=True, stderr=True))
    check(logs == b"hello podman-py\n", f"logs {logs!r}")
    c.reload()
    check(c.status == "exited", f"status {c.status}")
    listed = client.containers.list(all=True, filters={"label": "suite=podman-py"})
    check([x.name for x in listed] == ["podmanpy-run"], f"list {listed}")
    c.remove()
    check(not client.containers.exists("podmanpy-run"), "removed")
    try:
        client.containers.get("podmanpy-run")
        check(False, "a removed container is gone")
    except NotFound:
        check(True, "")

    # Volumes and networks.
    vol = client.volumes.create("podmanpy-vol", labels={"suite": "podman-py"})
    check(vol.name == "podmanpy-vol", "volume create")
    check(client.volumes.exists("podmanpy-vol"), "volume exists")
    net = client.networks.create("podmanpy-net")
    check(net.name == "podmanpy-net", "network create")
    check(any(n.name == "podmanpy-net" for n in client.networks.list()), "network list")

    # A pod with a member on a volume: both run, then go.
    pod = client.pods.create("podmanpy-pod", labels={"suite": "podman-py"})
    check(client.pods.exists("podmanpy-pod"), "pod exists")
    member = client.containers.create(image, command=["sleep", "1000"], name="podmanpy-member",
                                      pod=pod.id, volumes={"podmanpy-vol": {"bind": "/data", "mode": "rw"}})
    pod.start()
    pod.reload()
    check(pod.attrs["State"] == "Running", f"pod state {pod.attrs['State']}")
    member.reload()
    check(member.status == "running", f"member {member.status}")
    code, out = member.exec_run(["sh", "-c", "echo kept > /data/f; cat /data/f"], demux=True)
    check(code == 0 and out[0] == b"kept\n", f"exec {code} {out!r}")
    check(any(p.name == "podmanpy-pod" for p in client.pods.list()), "pod list")
    pod.stop(timeout=0)
    pod.remove(force=True)
    check(not client.pods.exists("podmanpy-pod"), "pod removed")
    check(not client.containers.exists("podmanpy-member"), "member removed with its pod")
    vol.remove()
    check(not client.volumes.exists("podmanpy-vol"), "volume removed")
    net.remove()
    check(not client.networks.exists("podmanpy-net"), "network removed")

print(f"podman-py: {checks} checks ok")
