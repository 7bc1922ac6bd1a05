# The sandbox server's process starter (spawner.ts): starts processes with posix_spawn on the
# server's behalf. The server is a Node process of a few hundred MiB; Node starts a child with
# fork(), which copies the server's page tables (milliseconds of CPU per start, far more in a
# paravirtualised guest) and makes the child pay copy-on-write faults until it execs. posix_spawn
# from this small process copies nothing (glibc uses CLONE_VM|CLONE_VFORK).
#
# Protocol: JSON lines. On stdin, requests:
#   {"id": n, "file": f, "args": [...], "env": {...}, "cwd": c, "stdio": ["pipe"|"ignore", ...], "detached": bool}
#   {"release": n}            the server has opened request n's pipe ends: close this process's copies
# On stdout, answers and events:
#   {"id": n, "pid": p, "fds": [fd | null per stdio entry]}   the parent's end of each pipe, open here
#       until released: the server opens /proc/<this pid>/fd/<fd> (a pipe reopened through procfs is
#       the same pipe), so no descriptor has to cross a socket (Node cannot receive one).
#   {"id": n, "error": "ENOENT", "message": "..."}             the start failed (nothing was started)
#   {"exit": p, "code": c | null, "signal": "SIGKILL" | null}   a child ended (this process reaps them)
# And listening sockets in a sandbox's network namespace (isolation/forward.ts), without a process:
#   {"listen": n, "pid": <the namespace's init>, "addresses": [[ip, port], ...]}  on stdin; each
#   socket goes to the server over Node's IPC channel (fd NODE_CHANNEL_FD: a JSON line with the
#   descriptor attached, Node's own `NODE_HANDLE` message for a net.Server, what a Node child's
#   process.send(msg, server) writes), then {"listen": n, "count": k} or {"listen": n, "error": ...}.
# A request's answer is written before any exit of its child, so the server knows a pid before its end.
# Dies with the server (parent-death signal; and at end of stdin). The server's children carry a
# death signal of their own (setpriv --pdeathsig, or a namespace's init): they go with it.
import ctypes
import errno
import json
import os
import select
import signal
import socket
import struct
import sys

PR_SET_PDEATHSIG = 1
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
if os.getppid() == 1:
    sys.exit(0)

# Only 0-2 (and the IPC channel) stay: whatever else this process inherited (a test runner's
# descriptors, say) is closed, and nothing of its own passes to a child.
channel_fd = int(os.environ.pop("NODE_CHANNEL_FD", "-1"))
os.closerange(3, channel_fd if channel_fd >= 3 else 3)
os.closerange(max(channel_fd + 1, 3), os.sysconf("SC_OPEN_MAX"))
channel = None
if channel_fd >= 3:
    os.set_inheritable(channel_fd, False)
    channel = socket.socket(fileno=channel_fd)
own_net = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
signal.set_wakeup_fd(wake_w)
signal.signal(signal.SIGCHLD, lambda *_: None)
held = {}


def send(message):
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def resolve(file, env):
    """The program to run: `file` when it names a path, else searched on the child's PATH (as Node does)."""
    if "/" in file:
        return file
    for folder in env.get("PATH", os.defpath).split(":"):
        path = os.path.join(folder or ".", file)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))


def spawn(request):
    ours, theirs, actions = [], [], []
    try:
        for index, kind in enumerate(request["stdio"]):
            if kind == "pipe":
                read_end, write_end = os.pipe()  # close-on-exec: no child inherits another's pipe
                mine, child = (write_end, read_end) if index == 0 else (read_end, write_end)
                ours.append(mine)
                theirs.append(child)
                actions.append((os.POSIX_SPAWN_DUP2, child, index))
            else:
                ours.append(None)
                actions.append((os.POSIX_SPAWN_OPEN, index, "/dev/null", os.O_RDWR, 0))
        env = request["env"]
        path = resolve(request["file"], env)
        os.chdir(request["cwd"])
        pid = os.posix_spawn(path, [request["file"], *request["args"]], env, file_actions=actions, setsid=bool(request.get("detached")))
    except OSError as err:
        for fd in ours:
            if fd is not None:
                os.close(fd)
        code = errno.errorcode.get(err.errno or errno.EIO, "EIO")
        send({"id": request["id"], "error": code, "message": f"spawn {request['file']} {code}"})
        return
    finally:
        for fd in theirs:
            os.close(fd)
        os.chdir("/")
    held[request["id"]] = [fd for fd in ours if fd is not None]
    send({"id": request["id"], "pid": pid, "fds": ours})


def setns(fd, what):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def listen_in(request):
    """Binds each address in the namespace of init `pid` and hands the listening sockets to the server."""
    sockets = []
    try:
        if channel is None:
            raise OSError(errno.ENOTCONN, "no IPC channel to the server")
        target = os.open(f"/proc/{request['pid']}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(target, "enter the sandbox's network")
            try:
                for host, port in request["addresses"]:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sockets.append(sock)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((host, port))
                    sock.listen(128)
            finally:
                try:
                    setns(own_net, "leave the sandbox's network")
                except OSError:
                    os._exit(70)  # never start anything in a sandbox's network
        finally:
            os.close(target)
        for index, sock in enumerate(sockets):
            message = json.dumps({"cmd": "NODE_HANDLE", "type": "net.Server", "msg": {"listen": request["listen"], "index": index}}) + "\n"
            channel.sendmsg([message.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", sock.fileno()))])
        send({"listen": request["listen"], "count": len(sockets)})
    except OSError as err:
        send({"listen": request["listen"], "error": str(err)})
    finally:
        for sock in sockets:
            sock.close()


def reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if os.WIFSIGNALED(status):
            send({"exit": pid, "code": None, "signal": signal.Signals(os.WTERMSIG(status)).name})
        elif os.WIFEXITED(status):
            send({"exit": pid, "code": os.WEXITSTATUS(status), "signal": None})


def handle(line):
    request = json.loads(line)
    if "release" in request:
        for fd in held.pop(request["release"], []):
            os.close(fd)
    elif "listen" in request:
        listen_in(request)
    else:
        spawn(request)


pending = b""
while True:
    ready, _, _ = select.select([0, wake_r] + ([channel] if channel else []), [], [])
    if channel in ready:
        # The server's acknowledgements of handed sockets: nothing to do with them.
        if not channel.recv(1 << 16):
            channel.close()
            channel = None
    if wake_r in ready:
        try:
            while os.read(wake_r, 512):
                pass
        except BlockingIOError:
            pass
        reap()
    if 0 in ready:
        data = os.read(0, 1 << 16)
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                handle(line)
        reap()
