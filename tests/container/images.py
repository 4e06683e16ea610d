#!/usr/bin/env python3
"""The image under test, with podman: the base images, then the build.

podman on these machines (no Docker engine) needs runc, the cgroupfs manager,
explicit ulimits, the docker image format (the OCI one drops HEALTHCHECK) and
the host network during builds: PODMAN and ULIMITS below carry them.

The Dockerfile's FROM images come from the local store, else from the
registry, else (no registry reachable) stand-ins are made offline:
  debian:bookworm-slim  debootstrap --variant=minbase bookworm
  rust:1-bookworm       the same + gcc, make, perl, git, curl and this
                        machine's Rust toolchain under /usr/local/{rustup,cargo};
                        CARGO_HTTP_CAINFO trusts this machine's CA bundle
                        (cargo goes out through a TLS proxy that only it trusts)
A stand-in is never made when the image is already present.

usage: images.py [--tag chat-server:latest]   base images, then the build;
       prints the build time and the image size.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=1000:1000"]
SLIM = "docker.io/library/debian:bookworm-slim"
RUST = "docker.io/library/rust:1-bookworm"
TAG = "localhost/chat-server:latest"


def log(msg):
    print(f"\033[1;34m==>\033[0m {msg}", file=sys.stderr, flush=True)


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def exists(image):
    return subprocess.run([*PODMAN, "image", "exists", image]).returncode == 0


def pull(image):
    """The real image when a registry answers (a short try: none may be reachable)."""
    try:
        r = subprocess.run([*PODMAN, "pull", "-q", image], capture_output=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return r.returncode == 0


def mirror():
    """The Debian mirror this machine's apt already uses."""
    for f in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        m = re.search(r"^URIs:\s*(\S+)", f.read_text(), re.M)
        if m:
            return m.group(1)
    src = Path("/etc/apt/sources.list")
    if src.exists():
        m = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", src.read_text(), re.M)
        if m:
            return m.group(1)
    sys.exit("no Debian mirror found in the apt sources")


def debootstrap(work):
    root = work / "slim"
    if not root.exists():
        log(f"debootstrap --variant=minbase bookworm ({mirror()})")
        with open(work / "debootstrap.log", "wb") as out:
            sh("debootstrap", "--variant=minbase", "bookworm", root, mirror(), stdout=out, stderr=out)
        for p in [*(root / "var/lib/apt/lists").glob("*"), *(root / "var/cache/apt").glob("*.bin")]:
            if p.is_file():
                p.unlink()
    return root


def podman_import(root, image, *changes):
    tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
    args = [a for c in (*changes, 'CMD ["bash"]') for a in ("--change", c)]
    sh(*PODMAN, "import", *args, "-", image, stdin=tar.stdout, stdout=subprocess.DEVNULL)
    if tar.wait() != 0:
        sys.exit(f"tar of {root} failed")


def make_slim(work):
    podman_import(debootstrap(work), SLIM)


def make_rust(work):
    root = work / "rust"
    shutil.rmtree(root, ignore_errors=True)
    sh("cp", "-a", debootstrap(work), root)
    shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
    pkgs = "gcc libc6-dev make perl pkg-config git curl ca-certificates xz-utils"
    sh("chroot", root, "sh", "-c",
       f"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
       f"--no-install-recommends {pkgs} >/dev/null && rm -rf /var/lib/apt/lists/*")
    home = Path(os.environ.get("RUSTUP_HOME", Path.home() / ".rustup"))
    cargo_bin = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "bin"
    out = subprocess.run(["rustup", "toolchain", "list"], capture_output=True, text=True, check=True).stdout
    tc = next(line.split()[0] for line in out.splitlines() if "default" in line)
    dest = root / "usr/local/rustup/toolchains"
    dest.mkdir(parents=True)
    sh("cp", "-a", home / "toolchains" / tc, dest)
    shutil.rmtree(dest / tc / "share/doc", ignore_errors=True)
    (root / "usr/local/rustup/settings.toml").write_text(
        f'default_toolchain = "{tc}"\nprofile = "minimal"\nversion = "12"\n')
    (root / "usr/local/cargo/bin").mkdir(parents=True)
    shutil.copy(cargo_bin / "rustup", root / "usr/local/cargo/bin/rustup")
    for t in ("cargo", "rustc", "rustdoc", "rustfmt", "cargo-clippy", "clippy-driver"):
        os.symlink("rustup", root / "usr/local/cargo/bin" / t)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", root / "etc/ssl/host-ca.pem")
    podman_import(
        root, RUST,
        "ENV RUSTUP_HOME=/usr/local/rustup", "ENV CARGO_HOME=/usr/local/cargo",
        "ENV CARGO_HTTP_CAINFO=/etc/ssl/host-ca.pem",
        "ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    )


def ensure_base_images():
    missing = [i for i in (SLIM, RUST) if not exists(i)]
    if missing and os.environ.get("CONTAINER_PULL", "1") != "0":
        for image in list(missing):
            log(f"podman pull {image}")
            if pull(image):
                missing.remove(image)
            else:
                log(f"no registry answered for {image}: a local stand-in is made")
    if not missing:
        return
    with tempfile.TemporaryDirectory(prefix="chat-base.") as w:
        for image in missing:
            log(f"stand-in for {image}")
            (make_slim if image == SLIM else make_rust)(Path(w))


def image_size(image):
    out = subprocess.run([*PODMAN, "image", "inspect", "--format", "{{.Size}}", image],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def build(tag=TAG):
    """The repository's Dockerfile as it is; returns the seconds it took."""
    log(f"podman build -t {tag} .")
    start = time.monotonic()
    sh(*PODMAN, "build", "--format", "docker", "--network", "host", *ULIMITS,
       "-t", tag, "-f", ROOT / "Dockerfile", ROOT)
    secs = time.monotonic() - start
    # The build stage's image (1.3 GB, never reused: COPY . . changes) goes;
    # the cache mounts (crates, compiled dependencies) and the base images stay.
    subprocess.run([*PODMAN, "image", "prune", "-f"], stdout=subprocess.DEVNULL)
    return secs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default=TAG)
    args = parser.parse_args()
    try:
        ensure_base_images()
        secs = build(args.tag)
    except subprocess.CalledProcessError as e:
        sys.exit(f"images.py: {' '.join(map(str, e.cmd))}: exit {e.returncode}")
    log(f"image {args.tag} built in {secs:.0f} s, {image_size(args.tag) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
