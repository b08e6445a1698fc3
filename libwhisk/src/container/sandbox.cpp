// The runtime sandbox's parts, prepared in the host process once per backend.
#include "sandbox.hpp"

#include <cerrno>
#include <climits>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <memory>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace whisk::container {

namespace {

// Refused with EPERM. The new mount API and io_uring are here too: the first is mount by
// other means, the second runs operations that seccomp never sees.
constexpr const char* refused_calls[] = {
    "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "ptrace", "process_vm_readv", "process_vm_writev",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf",
    "perf_event_open", "keyctl", "add_key", "request_key", "unshare", "setns", "swapon", "swapoff",
    "reboot", "open_by_handle_at", "name_to_handle_at", "userfaultfd", "clock_settime",
    "clock_adjtime", "settimeofday", "adjtimex", "stime", "acct", "quotactl", "lookup_dcookie",
    "iopl", "ioperm", "io_uring_setup", "io_uring_enter", "io_uring_register"};

// clone() with any of these would make new namespaces (a user namespace needs no privilege).
constexpr unsigned long namespace_flags[] = {CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                                             CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET};

bool exists(const std::string& path) {
  struct stat st{};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string link_text(const std::string& path) {
  char buf[PATH_MAX];
  auto n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

} // namespace

root_plan make_root_plan(const std::string& resolver) {
  root_plan plan;
  const std::string& r = plan.mount_point;
  auto add = [&](root_step::kind k, const std::string& target, std::string source = {}) {
    plan.steps.push_back(root_step{k, r + target, std::move(source)});
  };
  // A top-level directory as it is: a link stays a link (merged /usr), a directory is bound.
  auto mirror = [&](const std::string& path) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0)
      return;
    if (S_ISLNK(st.st_mode))
      add(root_step::kind::symlink, path, link_text(path));
    else if (S_ISDIR(st.st_mode))
      add(root_step::kind::bind_dir, path, path);
  };
  // A file or directory of /etc, bound from wherever its links lead (resolv.conf is often a
  // link into /run, which the runtime does not have); skipped when absent.
  auto bind = [&](const std::string& path, root_step::kind k) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && (k == root_step::kind::bind_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)))
      add(k, path, path);
  };
  add(root_step::kind::bind_dir, "/usr", "/usr");
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"})
    mirror(top);

  add(root_step::kind::dir, "/etc");
  for (const char* f : {"/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/ld.so.cache",
                        "/etc/localtime", "/etc/timezone", "/etc/mime.types"})
    bind(f, root_step::kind::bind_file);
  if (resolver.empty())
    bind("/etc/resolv.conf", root_step::kind::bind_file);
  else
    add(root_step::kind::file, "/etc/resolv.conf", "nameserver " + resolver + "\n");
  // Names for the two ids a runtime can meet, not the host's list of users.
  add(root_step::kind::file, "/etc/passwd",
      "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  add(root_step::kind::file, "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
  bind("/etc/alternatives", root_step::kind::bind_dir);
  if (exists("/etc/ssl")) { // CA certificates and OpenSSL's configuration, never ssl/private
    add(root_step::kind::dir, "/etc/ssl");
    bind("/etc/ssl/certs", root_step::kind::bind_dir);
    bind("/etc/ssl/openssl.cnf", root_step::kind::bind_file);
  }

  add(root_step::kind::dir, "/dev");
  for (const char* d : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"})
    if (exists(d))
      add(root_step::kind::bind_device, d, d);
  add(root_step::kind::symlink, "/dev/fd", "/proc/self/fd");
  add(root_step::kind::symlink, "/dev/stdin", "/proc/self/fd/0");
  add(root_step::kind::symlink, "/dev/stdout", "/proc/self/fd/1");
  add(root_step::kind::symlink, "/dev/stderr", "/proc/self/fd/2");
  add(root_step::kind::dir, "/tmp");
  add(root_step::kind::dir, "/proc");
  plan.tmp = r + "/tmp";
  plan.proc = r + "/proc";
  return plan;
}

root_plan make_root_plan_from(const std::string& rootfs, const std::string& resolver) {
  root_plan plan;
  const std::string& r = plan.mount_point;
  auto add = [&](root_step::kind k, const std::string& target, std::string source = {}) {
    plan.steps.push_back(root_step{k, r + target, std::move(source)});
  };
  std::string base = rootfs;
  while (base.size() > 1 && base.back() == '/')
    base.pop_back();
  bool has_etc = false;
  std::unique_ptr<DIR, int (*)(DIR*)> dir{::opendir(base.c_str()), ::closedir};
  for (dirent* e = dir ? ::readdir(dir.get()) : nullptr; e; e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == "dev" || name == "proc" || name == "tmp" || name == "sys" || name == "run")
      continue;
    std::string path = base + "/" + name;
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0)
      continue;
    if (S_ISLNK(st.st_mode))
      add(root_step::kind::symlink, "/" + name, link_text(path));
    else if (S_ISDIR(st.st_mode))
      add(root_step::kind::bind_dir, "/" + name, path);
    else if (S_ISREG(st.st_mode))
      add(root_step::kind::bind_file, "/" + name, path);
    has_etc = has_etc || (name == "etc" && S_ISDIR(st.st_mode));
  }
  if (!has_etc) { // names for the two ids a runtime can meet, and a resolver
    add(root_step::kind::dir, "/etc");
    add(root_step::kind::file, "/etc/passwd",
        "root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
    add(root_step::kind::file, "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
    if (!resolver.empty())
      add(root_step::kind::file, "/etc/resolv.conf", "nameserver " + resolver + "\n");
  }
  add(root_step::kind::dir, "/dev");
  for (const char* d : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"})
    if (exists(d))
      add(root_step::kind::bind_device, d, d);
  add(root_step::kind::symlink, "/dev/fd", "/proc/self/fd");
  add(root_step::kind::symlink, "/dev/stdin", "/proc/self/fd/0");
  add(root_step::kind::symlink, "/dev/stdout", "/proc/self/fd/1");
  add(root_step::kind::symlink, "/dev/stderr", "/proc/self/fd/2");
  add(root_step::kind::dir, "/tmp");
  add(root_step::kind::dir, "/proc");
  plan.tmp = r + "/tmp";
  plan.proc = r + "/proc";
  return plan;
}

std::string add_read_only_dir(root_plan& plan, const std::string& source, const std::string& target) {
  if (target.size() < 2 || target[0] != '/' || target.find("/.") != std::string::npos || target.find("//") != std::string::npos)
    return fmt::format("'{}' is not an absolute path without . or .. parts", target);
  std::string t = target.back() == '/' ? target.substr(0, target.size() - 1) : target;
  const std::string full = plan.mount_point + t;
  std::vector<root_step> parents;
  for (auto slash = t.find('/', 1); slash != std::string::npos; slash = t.find('/', slash + 1))
    parents.push_back(root_step{root_step::kind::dir, plan.mount_point + t.substr(0, slash), {}});
  for (const auto& s : plan.steps) {
    bool inside = full.compare(0, s.target.size() + 1, s.target + "/") == 0;
    if (s.target == full || (inside && s.what != root_step::kind::dir))
      return fmt::format("'{}' is already part of the runtime's root", target);
    std::erase_if(parents, [&](const root_step& p) { return p.target == s.target; }); // made already
  }
  if (full.compare(0, plan.tmp.size() + 1, plan.tmp + "/") == 0 || full.compare(0, plan.proc.size() + 1, plan.proc + "/") == 0)
    return fmt::format("'{}' lies in the runtime's /tmp or /proc", target);
  plan.steps.insert(plan.steps.end(), parents.begin(), parents.end());
  plan.steps.push_back(root_step{root_step::kind::bind_dir, full, source});
  return {};
}

expected<seccomp_program> make_seccomp_program() {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx{seccomp_init(SCMP_ACT_ALLOW), seccomp_release};
  if (!ctx)
    return make_error(errc::internal, "seccomp_init failed");
  auto refuse = [&](int nr, unsigned count, const scmp_arg_cmp* args, std::uint32_t action) -> std::string {
    int rc = seccomp_rule_add_array(ctx.get(), action, nr, count, args);
    return rc == 0 ? std::string{} : fmt::format("rule for syscall {}: {}", nr, std::strerror(-rc));
  };
  for (const char* name : refused_calls) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR)
      continue; // unknown to this libseccomp: the kernel is older than the call
    if (auto e = refuse(nr, 0, nullptr, SCMP_ACT_ERRNO(EPERM)); !e.empty())
      return make_error(errc::internal, fmt::format("seccomp {}: {}", name, e));
  }
  for (auto flag : namespace_flags) {
    scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);
    if (auto e = refuse(SCMP_SYS(clone), 1, &arg, SCMP_ACT_ERRNO(EPERM)); !e.empty())
      return make_error(errc::internal, "seccomp clone: " + e);
  }
  // clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
  if (auto e = refuse(SCMP_SYS(clone3), 0, nullptr, SCMP_ACT_ERRNO(ENOSYS)); !e.empty())
    return make_error(errc::internal, "seccomp clone3: " + e);
  // Packet sockets, and raw IP sockets (raw netlink stays: getifaddrs needs it).
  scmp_arg_cmp packet = SCMP_A0(SCMP_CMP_EQ, AF_PACKET);
  if (auto e = refuse(SCMP_SYS(socket), 1, &packet, SCMP_ACT_ERRNO(EPERM)); !e.empty())
    return make_error(errc::internal, "seccomp socket: " + e);
  for (int family : {AF_INET, AF_INET6}) {
    scmp_arg_cmp raw_ip[2] = {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family)), SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW)};
    if (auto e = refuse(SCMP_SYS(socket), 2, raw_ip, SCMP_ACT_ERRNO(EPERM)); !e.empty())
      return make_error(errc::internal, "seccomp socket: " + e);
  }

  int fd = ::memfd_create("whisk-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return make_error(errc::internal, fmt::format("memfd_create: {}", std::strerror(errno)));
  seccomp_program out;
  int rc = seccomp_export_bpf(ctx.get(), fd);
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (rc == 0 && size > 0 && size % static_cast<off_t>(sizeof(sock_filter)) == 0) {
    out.code.resize(static_cast<std::size_t>(size) / sizeof(sock_filter));
    if (::pread(fd, out.code.data(), static_cast<std::size_t>(size), 0) != size)
      out.code.clear();
  }
  ::close(fd);
  if (out.code.empty() || out.code.size() > USHRT_MAX)
    return make_error(errc::internal, fmt::format("seccomp_export_bpf failed ({})", rc));
  return out;
}

int last_capability() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = 0;
  if (in >> last && last > 0 && last < 64)
    return last;
  return 40; // CAP_CHECKPOINT_RESTORE, the last one of 5.9+
}

} // namespace whisk::container
