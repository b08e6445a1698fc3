# Run as a python:3 action by tests/test_sandbox.sh: every attempt to reach the host answers
# "refused: <errno name>" (or "ALLOWED: ..." when it worked); "facts" describe the sandbox.
import ctypes, errno, os, socket

def attempt(fn):
    try:
        return "ALLOWED: %s" % (fn(),)
    except OSError as e:
        return "refused: %s" % errno.errorcode.get(e.errno, str(e.errno))
    except socket.timeout:
        return "refused: timeout"

def read(path):
    with open(path, "rb") as f:
        return "%d bytes" % len(f.read())

def connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
        return "connected"
    finally:
        s.close()

libc = ctypes.CDLL(None, use_errno=True)

def syscall(nr, *args):
    def call():
        if libc.syscall(nr, *args) == -1:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        return "returned"
    return call

def first_line(path, key):
    for line in open(path):
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None

# x86_64 system call numbers
NR = dict(ptrace=101, settimeofday=164, mount=165, umount2=166, swapon=167, reboot=169, pivot_root=155,
          init_module=175, delete_module=176, clock_settime=227, kexec_load=246, keyctl=250, unshare=272,
          perf_event_open=298, open_by_handle_at=304, setns=308, process_vm_readv=310, finit_module=313,
          bpf=321, userfaultfd=323)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000

def main(args):
    data, checkout, port, host_pid = args["data"], args["checkout"], int(args["port"]), int(args["host_pid"])
    r = {}
    r["read whisk.db"] = attempt(lambda: read(data + "/whisk.db"))
    r["read whisk.db-wal"] = attempt(lambda: read(data + "/whisk.db-wal"))
    r["read wskprops"] = attempt(lambda: read(data + "/wskprops"))
    r["list /root"] = attempt(lambda: os.listdir("/root"))
    r["list /home"] = attempt(lambda: os.listdir("/home"))
    r["list the checkout"] = attempt(lambda: os.listdir(checkout))
    r["read the host's /sys"] = attempt(lambda: os.listdir("/sys/kernel"))
    r["read whisk-node's environ"] = attempt(lambda: read("/proc/%d/environ" % host_pid))
    r["read the other runtime's /tmp file"] = attempt(lambda: read("/tmp/written-by-node"))
    r["connect to whisk-node on 127.0.0.1"] = attempt(lambda: connect("127.0.0.1", port))
    r["connect to whisk-node through the gateway"] = attempt(lambda: connect("10.0.2.2", port))
    r["raw socket"] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    r["packet socket"] = attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
    r["mount"] = attempt(syscall(NR["mount"], b"none", b"/tmp", b"tmpfs", 0, None))
    r["umount2"] = attempt(syscall(NR["umount2"], b"/proc", 2))
    r["pivot_root"] = attempt(syscall(NR["pivot_root"], b"/tmp", b"/tmp"))
    r["ptrace"] = attempt(syscall(NR["ptrace"], 0, 0, None, None))  # PTRACE_TRACEME
    r["process_vm_readv"] = attempt(syscall(NR["process_vm_readv"], 1, None, 0, None, 0, 0))
    r["unshare"] = attempt(syscall(NR["unshare"], CLONE_NEWUSER | CLONE_NEWNS))
    r["setns"] = attempt(syscall(NR["setns"], 0, 0))
    devnull = os.open("/dev/null", os.O_RDONLY)
    r["init_module"] = attempt(syscall(NR["init_module"], b"\0" * 64, 64, b""))
    r["finit_module"] = attempt(syscall(NR["finit_module"], devnull, b"", 0))
    r["delete_module"] = attempt(syscall(NR["delete_module"], b"ext4", 0))
    os.close(devnull)
    r["kexec_load"] = attempt(syscall(NR["kexec_load"], 0, 0, None, 0))
    r["bpf"] = attempt(syscall(NR["bpf"], 0, None, 0))
    r["perf_event_open"] = attempt(syscall(NR["perf_event_open"], None, 0, -1, -1, 0))
    r["keyctl"] = attempt(syscall(NR["keyctl"], 0, 0, 0, 0, 0))
    r["swapon"] = attempt(syscall(NR["swapon"], b"/tmp/none", 0))
    r["reboot"] = attempt(syscall(NR["reboot"], 0, 0, 0, None))  # no magic: EINVAL if it ever got through
    r["open_by_handle_at"] = attempt(syscall(NR["open_by_handle_at"], -1, None, 0))
    r["userfaultfd"] = attempt(syscall(NR["userfaultfd"], 0))
    r["clock_settime"] = attempt(syscall(NR["clock_settime"], 0, None))
    r["settimeofday"] = attempt(syscall(NR["settimeofday"], None, None))
    facts = {
        "pid": os.getpid(),
        "pid 1": open("/proc/1/cmdline", "rb").read().split(b"\0")[0].decode(),
        "pid 1 environ has PATH": b"PATH=" in open("/proc/1/environ", "rb").read(),
        "root": sorted(os.listdir("/")),
        "uid": os.getuid(),
        "Seccomp": first_line("/proc/self/status", "Seccomp"),
        "NoNewPrivs": first_line("/proc/self/status", "NoNewPrivs"),
        "caps": [first_line("/proc/self/status", c) for c in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
        "default route": [l.split()[0] for l in open("/proc/net/route").read().splitlines()[1:] if l.split()[1] == "00000000"],
        "dns": open("/etc/resolv.conf").read().strip(),
        "devices": sorted(os.listdir("/dev")),
        "urandom": len(open("/dev/urandom", "rb").read(16)),
    }
    return {"attempts": r, "facts": facts}
