"""The kernel launcher: runs as its own process, as the grader's user, then becomes the kernel.

    python -I launcher.py [options] -- python -m ipykernel_launcher -f conn.json

It applies the sandbox to itself, in an order where each step still has the privileges it
needs, and then `execve`s the kernel command, so the kernel is this very process (same pid, so
the grader's bookkeeping is unchanged):

1. join the per-kernel cgroups (memory, pids), so everything the kernel starts is counted;
2. new network namespace (only a private loopback: no network) and mount namespace, where the
   course folder, the submissions' folder, /root and other private folders are covered by
   empty read-only tmpfs (only the Python installation is mounted back), /tmp and /dev/shm
   are private and small, and /proc hides other users' processes;
3. resource limits (file size, data segment, processes, no core dumps);
4. a scrubbed environment (no tokens or passwords inherited from the grader);
5. no-new-privileges, then a user of its own (a uid no other process uses).

It imports only the standard library and is run with `python -I` (no current folder on
sys.path): it runs as root in a folder the student's code has written to.
Every step that the machine does not allow is skipped and written to the JSON report
(`--report`), which is how the grader learns what was actually in force.
`--selftest` does all of it and prints that report after checking that Python and ipykernel
are still reachable, instead of starting a kernel.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import importlib.util
import json
import os
import re
import resource
import socket
import struct
import sys
from typing import Any

Report = dict[str, Any]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG = 38, 1
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
O_PATH = getattr(os, "O_PATH", 0o10000000)

# Variables that look like credentials are not passed to the student's code.
SECRET = re.compile(
    r"(TOKEN|SECRET|PASSW|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|_KEY$|"
    r"AUTH|COOKIE|SESSION|^AWS_|^GH_|^GITHUB_|^GITLAB_|^CI_JOB|^ACTIONS_|"
    r"^SSH_|^GPG_|^GOOGLE_APPLICATION|^AZURE_|^KUBE|^DOCKER_)",
    re.I,
)

_libc = ctypes.CDLL(None, use_errno=True)
_LINUX = all(hasattr(_libc, name) for name in ("mount", "unshare", "prctl"))
if _LINUX:  # elsewhere (macOS) only the limits and the environment apply
    _libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    _libc.unshare.argtypes = [ctypes.c_int]


def prctl(option: int, value: int) -> None:
    if _LINUX:
        _libc.prctl(option, value, 0, 0, 0)


def _oserror(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def _enc(s: str | None) -> bytes | None:
    return s.encode() if s is not None else None


def mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    if not _LINUX or _libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)) != 0:
        raise _oserror(f"mount {target}")


def unshare(flags: int) -> None:
    if not _LINUX:
        raise OSError(0, "namespaces are a Linux feature")
    if _libc.unshare(flags) != 0:
        raise _oserror("unshare")


def loopback_up() -> None:
    """A new network namespace has only `lo`, and it is down: bring it up (private to us)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22s", b"lo", 0, b"")
        flags = struct.unpack("16sH22s", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH22s", b"lo", flags | IFF_UP, b""))


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _traversable_by_others(path: str) -> bool:
    try:
        return bool(os.stat(path).st_mode & 0o001)
    except OSError:
        return False


def blocked_ancestors(keeps: list[str]) -> list[str]:
    """Folders above a needed path that another user cannot enter (e.g. /root for pyenv)."""
    out = []
    for keep in keeps:
        parts = keep.strip("/").split("/")
        for i in range(1, len(parts)):
            anc = "/" + "/".join(parts[:i])
            if not _traversable_by_others(anc) and anc not in out:
                out.append(anc)
    return out


def cover(target: str, keeps: list[str], *, writable: bool, size: int) -> None:
    """Mount an empty tmpfs on `target`, then mount the `keeps` under it back in place.

    Each kept path is opened (O_PATH) before the tmpfs hides it and bind-mounted back from
    /proc/self/fd, which reaches the original even once it is covered.
    """
    inside = [k for k in keeps if _under(k, target) and k != target]
    inside = [k for k in inside if not any(o != k and _under(k, o) for o in inside)]
    fds = [(k, os.open(k, O_PATH)) for k in inside]
    try:
        mode = "1777" if writable else "0755"
        mount(
            "tmpfs",
            target,
            "tmpfs",
            MS_NOSUID | MS_NODEV,
            f"mode={mode},size={size if writable else 1 << 20}",
        )
        for keep, fd in fds:
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(keep, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(keep), mode=0o755, exist_ok=True)
                open(keep, "a").close()
            mount(f"/proc/self/fd/{fd}", keep, None, MS_BIND | MS_REC)
        if not writable:
            mount(None, target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for _, fd in fds:
            os.close(fd)


def hide_and_privatise(args: argparse.Namespace, report: Report) -> None:
    """The mount namespace's view: hidden folders, private temp folders, private /proc."""
    cwd = os.getcwd()
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    keeps = sorted({os.path.realpath(k) for k in args.keep if os.path.exists(k)})
    hides = [os.path.realpath(h) for h in args.hide if os.path.isdir(h)]
    if args.uid is not None:
        hides += blocked_ancestors(keeps)
    targets = [(h, False) for h in hides]
    targets += [(t, True) for t in args.private_tmp if os.path.isdir(t) and not os.path.islink(t)]
    done: list[str] = []
    for target, writable in sorted(set(targets), key=lambda t: (t[0].count("/"), t[0])):
        if any(_under(target, d) for d in done) and not any(_under(target, k) for k in keeps):
            continue  # already covered by a folder above it
        if target in keeps:
            report["errors"].append(f"{target} is needed by the kernel and was not hidden")
            continue
        try:
            cover(target, keeps, writable=writable, size=args.tmp_size)
        except OSError as exc:
            report["errors"].append(str(exc))
            continue
        done.append(target)
        report["private_tmp" if writable else "hidden"].append(target)
    os.chdir(cwd)  # the kernel's folder as this namespace sees it (it was mounted back)
    if args.uid is None:
        return  # a new /proc needs a pid namespace of our own unless we are root
    try:
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
        report["proc"] = "hidepid"
    except OSError as exc:
        report["errors"].append(str(exc))


def enter_user_namespace(flags: int, report: Report) -> None:
    """Without root: a user namespace of our own gives the network and mount namespaces.

    The uid maps to itself; the kernel then runs with no capabilities (execve as a non-zero
    uid drops them), so it cannot undo the mounts.
    """
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | flags)
    with open("/proc/self/setgroups", "w") as fh:
        fh.write("deny")
    with open("/proc/self/uid_map", "w") as fh:
        fh.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as fh:
        fh.write(f"{gid} {gid} 1")
    report["userns"] = True


def set_limits(args: argparse.Namespace, report: Report) -> None:
    wanted = [(resource.RLIMIT_CORE, 0)]
    if args.fsize:
        wanted.append((resource.RLIMIT_FSIZE, args.fsize))
    if args.data:
        wanted.append((resource.RLIMIT_DATA, args.data))
    if args.nproc and args.uid is not None:  # per-uid count: only meaningful for our own uid
        wanted.append((resource.RLIMIT_NPROC, args.nproc))
    for which, value in wanted:
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY and hard < value:
                value = hard
            resource.setrlimit(which, (value, value))
            report["rlimits"].append(which)
        except (ValueError, OSError) as exc:
            report["errors"].append(f"setrlimit {which}: {exc}")


def kernel_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SECRET.search(k)}
    env.update(
        {
            "PIP_NO_INDEX": "1",
            "PIP_NO_INPUT": "1",
            "PIP_RETRIES": "0",
            "PIP_DEFAULT_TIMEOUT": "5",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    if args.home:
        env.update(
            {
                "HOME": args.home,
                "TMPDIR": args.home,
                "MPLCONFIGDIR": os.path.join(args.home, ".config", "matplotlib"),
            }
        )
    if args.uid is not None:
        env.update({"USER": "cnn-grader-kernel", "LOGNAME": "cnn-grader-kernel"})
    return env


def selftest(report: Report) -> None:
    """After the switch: can this user still run Python with ipykernel? Which network is left?"""
    report["python_ok"] = (
        os.access(os.path.realpath(sys.executable), os.X_OK)
        and importlib.util.find_spec("ipykernel") is not None
        and importlib.util.find_spec("numpy") is not None
    )
    try:
        report["interfaces"] = sorted(name for _, name in socket.if_nameindex())
    except OSError:
        report["interfaces"] = []
    report["uid_now"] = os.getuid()
    print(json.dumps(report))


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="cnn-grader-sandbox")
    p.add_argument("--uid", type=int)
    p.add_argument("--gid", type=int)
    p.add_argument("--userns", action="store_true", help="not root: use a user namespace")
    p.add_argument("--no-net", action="store_true")
    p.add_argument("--mount-ns", action="store_true")
    p.add_argument("--hide", action="append", default=[])
    p.add_argument("--keep", action="append", default=[])
    p.add_argument("--private-tmp", action="append", default=[])
    p.add_argument("--tmp-size", type=int, default=256 << 20)
    p.add_argument("--cgroup", action="append", default=[])
    p.add_argument("--chown", action="append", default=[])
    p.add_argument("--home")
    p.add_argument("--fsize", type=int)
    p.add_argument("--data", type=int)
    p.add_argument("--nproc", type=int)
    p.add_argument("--report")
    p.add_argument("--selftest", action="store_true")
    p.add_argument("--kill-uid", type=int, help="kill every process of this uid, then exit")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.cmd and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    return args


def kill_uid(uid: int) -> int:
    """kill(-1) as that uid reaches every process of it at once, even one forking fast."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    for _ in range(200):
        try:
            os.kill(-1, 9)
        except ProcessLookupError:
            return 0
    return 1


def apply(args: argparse.Namespace, facts: Report | None = None) -> tuple[Report, dict[str, str]]:
    """Steps 1-5 on this very process, in this order; returns the report and the kernel's
    environment. Run by `main` before it execs the kernel, and by a kernel forked from a warm
    parent (zygote.py) before it runs ipykernel in place: the same steps, the same order.
    `facts` go into the report as they are (the zygote's: what the kernel was forked from)."""
    report: Report = {
        "uid": None,
        "network": "on",
        "hidden": [],
        "private_tmp": [],
        "proc": "",
        "cgroups": [],
        "rlimits": [],
        "userns": False,
        "errors": [],
        **(facts or {}),
    }
    for path in args.cgroup:
        try:
            with open(os.path.join(path, "cgroup.procs"), "w") as fh:
                fh.write(str(os.getpid()))
            report["cgroups"].append(path)
        except OSError as exc:
            report["errors"].append(f"cgroup {path}: {exc}")
    if args.no_net or args.mount_ns:
        flags = (CLONE_NEWNET if args.no_net else 0) | (CLONE_NEWNS if args.mount_ns else 0)
        try:
            if args.userns:
                enter_user_namespace(flags, report)
            else:
                unshare(flags)
        except OSError as exc:
            report["errors"].append(str(exc))
        else:
            if args.no_net:
                report["network"] = "off"
                try:
                    loopback_up()
                except OSError as exc:  # the kernel talks over Unix sockets: not fatal
                    report["errors"].append(f"loopback: {exc}")
            if args.mount_ns:
                try:
                    hide_and_privatise(args, report)
                except OSError as exc:
                    report["errors"].append(str(exc))
    for path in args.chown:
        if args.uid is not None:
            try:
                os.chown(path, args.uid, args.gid if args.gid is not None else args.uid)
            except OSError as exc:
                report["errors"].append(str(exc))
    set_limits(args, report)
    env = kernel_env(args)
    if args.uid is not None:
        report["uid"] = args.uid
    if args.report:
        fd = os.open(args.report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(report, fh)
    try:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
    except (AttributeError, OSError):
        pass
    if args.uid is not None:
        gid = args.gid if args.gid is not None else args.uid
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(args.uid, args.uid, args.uid)
    if args.home:
        os.environ["HOME"] = args.home
    # After the switch, which would clear it: when the grader goes, the kernel goes too.
    prctl(PR_SET_PDEATHSIG, 9)
    return report, env


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.kill_uid is not None:
        return kill_uid(args.kill_uid)
    report, env = apply(args)
    if args.selftest:
        selftest(report)
        return 0
    if not args.cmd:
        print("cnn-grader-sandbox: no command", file=sys.stderr)
        return 2
    try:
        os.execvpe(args.cmd[0], args.cmd, env)
    except OSError as exc:
        print(f"cnn-grader-sandbox: cannot start {args.cmd[0]}: {exc}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main())
