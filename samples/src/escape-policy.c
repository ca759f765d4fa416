/* Jail escape corpus: the --untrusted syscall policy.
 * usage: escape-policy ATTEMPT OUTSIDE_DIR HOST_PID   (see escape.h)
 * HOST_PID is a process outside the jail (the test's own).  Every call is made
 * with arguments that would be harmless even if it reached the host kernel. */
#include "escape.h"
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <netinet/in.h>

static int host_pid(int argc, char **argv) { return argc > 3 ? atoi(argv[3]) : 1; }

static void a_ptrace(int argc, char **argv) {
    must_fail("PTRACE_ATTACH host pid", syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, host_pid(argc, argv), 0, 0));
    must_fail("PTRACE_SEIZE host pid", syscall(SYS_ptrace, 0x4206, host_pid(argc, argv), 0, 0));
    must_fail("PTRACE_TRACEME", syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0));
}

static void a_process_vm_readv(int argc, char **argv) {
    char buf[64];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    must_fail("process_vm_readv host pid", syscall(SYS_process_vm_readv, host_pid(argc, argv), &local, 1, &remote, 1, 0));
    must_fail("process_vm_readv self", syscall(SYS_process_vm_readv, getpid(), &local, 1, &local, 1, 0));
}

static void a_process_vm_writev(int argc, char **argv) {
    char buf[64] = {0};
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x10, sizeof buf};   /* an unmapped address */
    must_fail("process_vm_writev host pid", syscall(SYS_process_vm_writev, host_pid(argc, argv), &local, 1, &remote, 1, 0));
}

static void a_mount(int argc, char **argv) {
    make_scratch();
    must_fail("mount tmpfs", syscall(SYS_mount, "none", scratch, "tmpfs", 0, NULL));
    must_fail("mount bind /", syscall(SYS_mount, "/", scratch, NULL, 0x1000 /* MS_BIND */, NULL));
    must_fail("mount remount /", syscall(SYS_mount, NULL, "/", NULL, 0x20 | 1 /* MS_REMOUNT|RDONLY */, NULL));
}

static void a_umount2(int argc, char **argv) {
    make_scratch();
    must_fail("umount2 scratch (not a mount point)", syscall(SYS_umount2, scratch, 0));
    must_fail("umount2 /proc MNT_DETACH", syscall(SYS_umount2, "/proc", 2 /* MNT_DETACH */));
}

static void a_pivot_root(int argc, char **argv) {
    make_scratch();
    must_fail("pivot_root", syscall(SYS_pivot_root, scratch, scratch));
}

static void a_bpf(int argc, char **argv) {
    char attr[128] = {0};                  /* BPF_MAP_CREATE with a zero attr: EINVAL natively */
    must_fail("bpf", syscall(SYS_bpf, 0, attr, sizeof attr));
}

static void a_kexec_load(int argc, char **argv) {
    must_fail("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL /* bad flags */));
#ifdef SYS_kexec_file_load
    must_fail("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0xdead0000UL));
#endif
}

static void a_modules(int argc, char **argv) {
    must_fail("init_module", syscall(SYS_init_module, NULL, 0, ""));
    must_fail("finit_module", syscall(SYS_finit_module, -1, "", 0));
    must_fail("delete_module", syscall(SYS_delete_module, "guise_no_such_module", 0x800 /* O_NONBLOCK */));
}

static void a_reboot(int argc, char **argv) {
    /* bad magic: Linux checks the capability first (EPERM), then the magic (EINVAL) */
    must_fail("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
}

static void a_setns(int argc, char **argv) {
    int fd = open("/proc/self/ns/mnt", O_RDONLY);
    must_fail("setns(0, 0)", syscall(SYS_setns, 0, 0));
    if (fd >= 0) must_fail("setns(own mnt ns)", syscall(SYS_setns, fd, 0));
}

static void a_unshare(int argc, char **argv) {
    must_fail("unshare(NEWNS)", syscall(SYS_unshare, 0x00020000));
    must_fail("unshare(NEWUSER)", syscall(SYS_unshare, 0x10000000));
    must_fail("unshare(NEWNET)", syscall(SYS_unshare, 0x40000000));
}

static void a_open_by_handle_at(int argc, char **argv) {
    struct { unsigned int bytes; int type; unsigned char h[128]; } fh = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY);
    int fd = syscall(SYS_open_by_handle_at, mount_fd, &fh, O_RDONLY);
    if (fd >= 0) { check_fd("open_by_handle_at", fd); escaped("open_by_handle_at opened a file"); }
    else note_errno("open_by_handle_at", errno);
    /* name_to_handle_at on an inside file is harmless; use its handle anyway */
    int mnt;
    fh.bytes = 128;
    if (syscall(SYS_name_to_handle_at, AT_FDCWD, "/etc/secret", &fh, &mnt, 0) == 0) {
        fd = syscall(SYS_open_by_handle_at, mount_fd, &fh, O_RDONLY);
        if (fd >= 0) escaped("open_by_handle_at of a real handle opened a file");
        else note_errno("open_by_handle_at(real handle)", errno);
    }
}

static void a_perf_event_open(int argc, char **argv) {
    char attr[128] = {0};
    *(unsigned int *)(attr + 4) = sizeof attr;     /* size; type 0 = PERF_TYPE_HARDWARE */
    must_fail("perf_event_open self", syscall(SYS_perf_event_open, attr, 0, -1, -1, 0));
    must_fail("perf_event_open host pid", syscall(SYS_perf_event_open, attr, host_pid(argc, argv), -1, -1, 0));
}

static void a_socket_inet(int argc, char **argv) {
    int fams[] = {AF_INET, AF_INET6}, types[] = {SOCK_STREAM, SOCK_DGRAM};
    for (int f = 0; f < 2; f++)
        for (int t = 0; t < 2; t++) {
            int s = socket(fams[f], types[t], 0);
            if (s >= 0) {
                struct sockaddr_in sa = {0};
                sa.sin_family = AF_INET;
                sa.sin_port = htons(9);
                sa.sin_addr.s_addr = htonl(0x7f000001);
                escaped("socket(%d, %d) made", fams[f], types[t]);
                close(s);
            } else note_errno("socket", errno);
        }
}

static void a_abstract_unix(int argc, char **argv) {
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, "\0guise-escape-abstract", 22);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 22;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0) { failed("socket AF_UNIX: %s", errname(errno)); return; }
    must_fail("bind abstract", bind(s, (struct sockaddr *)&sa, len));
    close(s);
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    must_fail("connect abstract", connect(s, (struct sockaddr *)&sa, len));
    close(s);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    must_fail("sendto abstract", sendto(s, "x", 1, 0, (struct sockaddr *)&sa, len));
    close(s);
    /* the abstract names the host uses (systemd, X11, dbus): refused, never connected */
    const char *names[] = {"\0/tmp/.X11-unix/X0", "\0/org/kernel/linux/storage/multipathd", NULL};
    for (int i = 0; names[i]; i++) {
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(sa.sun_path, 0, sizeof sa.sun_path);
        size_t n = 1 + strlen(names[i] + 1);
        memcpy(sa.sun_path, names[i], n);
        must_fail("connect host abstract name", connect(s, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + n));
        close(s);
    }
}

static void a_kill_outside(int argc, char **argv) {
    int pid = host_pid(argc, argv);
    must_fail("kill(host pid, 0)", kill(pid, 0));
    must_fail("kill(host pid, SIGCONT)", kill(pid, SIGCONT));   /* harmless if it ever arrived */
    must_fail("kill(-host pid, 0)", kill(-pid, 0));
#ifdef SYS_tgkill
    must_fail("tgkill(host pid)", syscall(SYS_tgkill, pid, pid, 0));
#endif
#ifdef SYS_pidfd_open
    long pfd = syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0) escaped("pidfd_open(host pid) gave fd %ld", pfd);
    else note_errno("pidfd_open(host pid)", errno);
#endif
}

static void a_identity(int argc, char **argv) {
    if (getuid() != 65534) failed("getuid() = %d, not 65534", (int)getuid());
    if (geteuid() != 65534) failed("geteuid() = %d, not 65534", (int)geteuid());
    if (getgid() != 65534) fprintf(stderr, "  getgid() = %d\n", (int)getgid());
    must_fail("setuid(0)", setuid(0));
    must_fail("setreuid(0, 0)", setreuid(0, 0));
    if (getuid() != 65534 || geteuid() != 65534) escaped("uid changed to %d/%d", (int)getuid(), (int)geteuid());
}

static const struct entry table[] = {
    {"ptrace", a_ptrace}, {"process-vm-readv", a_process_vm_readv},
    {"process-vm-writev", a_process_vm_writev}, {"mount", a_mount}, {"umount2", a_umount2},
    {"pivot-root", a_pivot_root}, {"bpf", a_bpf}, {"kexec-load", a_kexec_load},
    {"modules", a_modules}, {"reboot", a_reboot}, {"setns", a_setns}, {"unshare", a_unshare},
    {"open-by-handle-at", a_open_by_handle_at}, {"perf-event-open", a_perf_event_open},
    {"socket-inet", a_socket_inet}, {"abstract-unix", a_abstract_unix},
    {"kill-outside", a_kill_outside}, {"identity", a_identity}, {NULL, NULL}};

int main(int argc, char **argv) { return dispatch(table, argc, argv); }
