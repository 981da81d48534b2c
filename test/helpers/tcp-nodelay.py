"""Print TCP_NODELAY (0 or 1) of one TCP socket held by another process.

usage: python3 tcp-nodelay.py PID LOCAL_PORT REMOTE_PORT

The socket is the one of PID whose local port and remote port are these (IPv4 or IPv6, from
/proc/PID/net/tcp*). It is copied out of PID with pidfd_getfd (Linux 5.6+; needs ptrace rights
over PID, which a child has over its parent as the same user or as root) and read with getsockopt.
Exits 2 when no such socket is found, 3 when it cannot be copied.
"""
import ctypes
import os
import socket
import sys

SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture


def socket_inode(pid: int, local_port: int, remote_port: int) -> str | None:
    for table in ('tcp', 'tcp6'):
        try:
            with open(f'/proc/{pid}/net/{table}') as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    if int(local.rsplit(':', 1)[1], 16) == local_port and int(remote.rsplit(':', 1)[1], 16) == remote_port:
                        return inode
        except FileNotFoundError:
            continue
    return None


def descriptor_of(pid: int, inode: str) -> int | None:
    wanted = f'socket:[{inode}]'
    for name in os.listdir(f'/proc/{pid}/fd'):
        try:
            if os.readlink(f'/proc/{pid}/fd/{name}') == wanted:
                return int(name)
        except OSError:
            continue
    return None


def main() -> int:
    pid, local_port, remote_port = (int(value) for value in sys.argv[1:4])
    inode = socket_inode(pid, local_port, remote_port)
    target = None if inode is None else descriptor_of(pid, inode)
    if target is None:
        print(f'no socket of {pid} from port {local_port} to port {remote_port}', file=sys.stderr)
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, target, 0)
    os.close(pidfd)
    if fd < 0:
        print(f'pidfd_getfd: {os.strerror(ctypes.get_errno())}', file=sys.stderr)
        return 3
    copy = socket.socket(fileno=fd)
    try:
        print(copy.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        # Closes the copy only: the socket stays open in PID.
        copy.close()
    return 0


sys.exit(main())
