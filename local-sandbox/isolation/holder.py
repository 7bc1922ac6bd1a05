# The unshare holder's set-up (isolation/unshare.ts) as one process: the same steps as its shell
# script, made as system calls instead of ~45 `mount`, `mkdir`, `ln`, `ip` processes. Each process
# started costs a few milliseconds of CPU (more under load or in a paravirtualised guest), and a
# sandbox's first command waits for all of them.
#
# Runs as the init (PID 1) of the namespaces `unshare` made. Argument: JSON {"root": <empty host
# directory>, "ops": [<view.ts MountOp, ro-bind with "file": true when its source is no directory>]}.
# Prints "pid <host pid>" (read from the host's procfs, before the sandbox's own is mounted), builds
# the view on a tmpfs, pivots into it (the host's mounts are detached), makes the root read-only,
# prints "ready" and execs the reaping init the shell script ends with. Any failure exits non-zero,
# naming the step. Everything it imports is loaded before the pivot hides the host.
import ctypes
import errno
import fcntl
import json
import os
import platform
import socket
import struct
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND = 32, 4096
MNT_DETACH = 2
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ["null", "zero", "full", "random", "urandom", "tty"]

libc = ctypes.CDLL(None, use_errno=True)


def check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    enc = lambda v: None if v is None else v.encode()
    check(libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def bind(source, target, flags=0):
    mount(source, target, None, MS_BIND)
    if flags:
        # Bind flags take effect only on a remount of the bind.
        mount(None, target, None, MS_REMOUNT | MS_BIND | flags)


def makedirs(path):
    os.makedirs(path, exist_ok=True)


def touch(path):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOCTTY, 0o644))


def loopback_up():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, req + b"\0" * 22)[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP) + b"\0" * 22)


def dev(d):
    mount("dev", d, "tmpfs", MS_NOSUID, "mode=0755")
    os.mkdir(f"{d}/shm")
    os.mkdir(f"{d}/pts")
    for name in DEVICES:
        touch(f"{d}/{name}")
        bind(f"/dev/{name}", f"{d}/{name}")
    for i, name in enumerate(["stdin", "stdout", "stderr"]):
        os.symlink(f"/proc/self/fd/{i}", f"{d}/{name}")
    mount("shm", f"{d}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.symlink("/proc/self/fd", f"{d}/fd")
    try:
        mount("devpts", f"{d}/pts", "devpts", 0, "newinstance,ptmxmode=0666,mode=620")
        os.symlink("pts/ptmx", f"{d}/ptmx")
    except OSError:
        pass


def apply(op, root):
    at = root + op["dst"]
    kind = op["op"]
    if kind == "ro-bind":
        if op.get("optional") and not os.path.exists(op["src"]):
            return
        if op.get("file"):
            if not os.path.lexists(at):
                makedirs(os.path.dirname(at))
                touch(at)
        else:
            makedirs(at)
        bind(op["src"], at, MS_RDONLY | MS_NOSUID | MS_NODEV)
    elif kind == "bind":
        makedirs(at)
        bind(op["src"], at)
    elif kind == "symlink":
        makedirs(os.path.dirname(at))
        os.symlink(op["target"], at)
    elif kind == "tmpfs":
        makedirs(at)
        mount("hidden", at, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    elif kind == "dir":
        makedirs(at)
    elif kind == "proc":
        makedirs(at)
        mount("proc", at, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    elif kind == "dev":
        makedirs(at)
        dev(at)
    else:
        raise ValueError(f"unknown mount op {kind}")


def pivot(root):
    number = PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(errno.ENOSYS, f"pivot_root: unknown architecture {platform.machine()}")
    os.chdir(root)
    os.mkdir(".oldroot")
    check(libc.syscall(ctypes.c_long(number), b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    check(libc.umount2(b"/.oldroot", MNT_DETACH), "umount /.oldroot")
    os.rmdir("/.oldroot")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def main():
    spec = json.loads(sys.argv[1])
    root = spec["root"]
    with open("/proc/self/stat") as f:
        print(f"pid {f.read().split()[0]}", flush=True)
    loopback_up()
    mount("sandbox-root", root, "tmpfs", 0, "mode=0755")
    for op in spec["ops"]:
        apply(op, root)
    pivot(root)
    print("ready", flush=True)
    # PID 1 of the namespace: reaps the orphans that `cmd &` jobs leave behind.
    os.execv("/bin/sh", ["sh", "-c", "while :; do sleep 2147483647 & wait; done"])


try:
    main()
except Exception as e:  # noqa: BLE001 - any failure ends the holder, saying why
    print(f"holder: {e}", file=sys.stderr, flush=True)
    sys.exit(1)
