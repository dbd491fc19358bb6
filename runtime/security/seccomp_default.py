"""Docker's default seccomp policy, as data.

The facts (which syscalls, which argument checks, which capability unlocks what) are
those of moby's ``profiles/seccomp/default.json``; the format is ours (see
:class:`runtime.security.seccomp.Rule`).  Everything not listed fails with EPERM.

Highlights: ``clone`` only without CLONE_NEW* flags (unless CAP_SYS_ADMIN); ``clone3``
answers ENOSYS so libc falls back to the filterable ``clone``; ``socket`` refuses
AF_VSOCK; ``personality`` only for a few safe values; mount/unshare/setns/bpf and the
new mount API need CAP_SYS_ADMIN; module loading, reboot, clock setting, ptrace of
others etc. each need their capability; ``keyctl``/``add_key``/``request_key``,
``kexec_load``, ``userfaultfd``, ``open_by_handle_at`` (without DAC_READ_SEARCH),
``pivot_root`` are never allowed.
"""

from __future__ import annotations

from runtime.security.seccomp import Arg, Profile, Rule

_BASE = """
accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime
clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old
epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit
exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir
fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr
flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents
getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32
getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname
getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter
io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset
landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr
_llseek lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create
memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect
mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall
munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause
pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll
ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat
renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop
semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32
setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid
setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4
sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx
symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times
tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat
utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
"""

# clone flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|
# NEWPID|NEWNET.  "(flags & mask) == 0" = a plain fork/thread.
CLONE_NS_MASK = 0x7E020000
AF_VSOCK = 40


def _n(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _allow_if(caps: str, names: str) -> Rule:
    return Rule(_n(names), caps=frozenset({caps}))


RULES: tuple[Rule, ...] = (
    Rule(_n(_BASE)),
    Rule(_n("process_vm_readv process_vm_writev ptrace"), min_kernel=(4, 8)),
    Rule(("socket",), args=(Arg(0, "NE", AF_VSOCK),)),
    # personality: PER_LINUX, PER_LINUX32 (8), UNAME26 (0x20000), both, and the query.
    *(Rule(("personality",), args=(Arg(0, "EQ", v),))
      for v in (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)),
    Rule(_n("sync_file_range2 swapcontext"), arches=frozenset({"ppc64le"})),
    Rule(_n("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush "
            "set_tls"), arches=frozenset({"arm", "arm64"})),
    Rule(("arch_prctl",), arches=frozenset({"amd64", "x32"})),
    Rule(("modify_ldt",), arches=frozenset({"amd64", "x32", "x86"})),
    Rule(_n("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr"),
         arches=frozenset({"s390", "s390x"})),
    Rule(("riscv_flush_icache",), arches=frozenset({"riscv64"})),
    _allow_if("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    _allow_if("CAP_SYS_ADMIN", "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick "
              "lookup_dcookie mount mount_setattr move_mount open_tree perf_event_open "
              "quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 "
              "unshare"),
    Rule(("clone",), args=(Arg(0, "MASKED_EQ", CLONE_NS_MASK, 0),),
         not_caps=frozenset({"CAP_SYS_ADMIN"}), not_arches=frozenset({"s390", "s390x"})),
    # s390 passes clone's flags as the second argument.
    Rule(("clone",), args=(Arg(1, "MASKED_EQ", CLONE_NS_MASK, 0),),
         arches=frozenset({"s390", "s390x"}), not_caps=frozenset({"CAP_SYS_ADMIN"})),
    Rule(("clone3",), action="errno", errno=38, not_caps=frozenset({"CAP_SYS_ADMIN"})),
    _allow_if("CAP_SYS_BOOT", "reboot"),
    _allow_if("CAP_SYS_CHROOT", "chroot"),
    _allow_if("CAP_SYS_MODULE", "delete_module init_module finit_module"),
    _allow_if("CAP_SYS_PACCT", "acct"),
    _allow_if("CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv "
              "process_vm_writev ptrace"),
    _allow_if("CAP_SYS_RAWIO", "iopl ioperm"),
    _allow_if("CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"),
    _allow_if("CAP_SYS_TTY_CONFIG", "vhangup"),
    _allow_if("CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"),
    _allow_if("CAP_SYSLOG", "syslog"),
    _allow_if("CAP_BPF", "bpf"),
    _allow_if("CAP_PERFMON", "perf_event_open"),
)

# Docker's arch map: the native arch plus the ones its binaries may also run as.
ARCH_MAP: dict[str, tuple[str, ...]] = {
    "x86_64": ("x86", "x32"),
    "aarch64": ("arm",),
    "mips64": ("mips", "mips64n32"),
    "mips64n32": ("mips", "mips64"),
    "mipsel64": ("mipsel", "mipsel64n32"),
    "mipsel64n32": ("mipsel", "mipsel64"),
    "s390x": ("s390",),
    "riscv64": (),
}

DEFAULT_PROFILE = Profile(default_action="errno", default_errno=1, arch_map=ARCH_MAP,
                          rules=RULES)
