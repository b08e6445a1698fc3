#include "whisk/container/cgroup.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <linux/magic.h>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <thread>
#include <unistd.h>

#include "whisk/log.hpp"

namespace fs = std::filesystem;

namespace whisk::container {

namespace {

constexpr const char* cgroup_mount = "/sys/fs/cgroup";

long fs_type(const std::string& path) {
  struct statfs st {};
  if (statfs(path.c_str(), &st) != 0)
    return 0;
  return static_cast<long>(st.f_type);
}

bool write_file(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  auto n = ::write(fd, data.data(), data.size());
  ::close(fd);
  return n == static_cast<ssize_t>(data.size());
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return out;
}

// Whether a cgroup file system is mounted with favordynmods: then moving a process into a
// cgroup is cheap; else a new runtime's move may wait out an RCU grace period (7-15 ms of a
// cold start on the 2-core VM, 0.2 ms with the option: benchmarks/README). (Kernels from
// 6.18 keep the cheap mode once it was on, even after a remount without the option.)
bool favors_dynamic_moves() {
  std::istringstream in(read_file("/proc/self/mounts"));
  std::string device, dir, type, options, rest;
  while (in >> device >> dir >> type >> options && std::getline(in, rest))
    if ((type == "cgroup2" || type == "cgroup") && ("," + options + ",").find(",favordynmods,") != std::string::npos)
      return true;
  return false;
}

// "key value" lines (cgroup.events, memory.events, memory.oom_control).
std::int64_t keyed_value(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string k;
  std::int64_t v;
  while (in >> k >> v)
    if (k == key)
      return v;
  return -1;
}

// controller ("" for the unified hierarchy) -> path of this process's cgroup
std::map<std::string, std::string> own_cgroups() {
  std::map<std::string, std::string> out;
  std::istringstream in(read_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find(':');
    auto b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos)
      continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::istringstream cs(controllers);
    std::string c;
    if (controllers.empty())
      out[""] = path;
    while (std::getline(cs, c, ','))
      out[c] = path;
  }
  return out;
}

bool make_dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  return fs::is_directory(path, ec);
}

bool wait_for(auto&& done) {
  // Freezing is fast (tens of microseconds) but not instantaneous: poll with short naps.
  for (int i = 0; i < 20000; ++i) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::microseconds(i < 100 ? 5 : 50));
  }
  return false;
}

} // namespace

const char* to_string(cgroup_layout l) {
  switch (l) {
    case cgroup_layout::v1: return "v1";
    case cgroup_layout::v2: return "v2";
    case cgroup_layout::hybrid: return "hybrid";
    case cgroup_layout::none: return "none";
  }
  return "none";
}

cgroup_tree cgroup_tree::open(const std::string& name) {
  cgroup_tree t;
  auto own = own_cgroups();
  auto top = fs_type(cgroup_mount);
  auto join = [](const std::string& a, const std::string& b, const std::string& c) {
    return (fs::path(a) / fs::path(b).relative_path() / c).lexically_normal().string();
  };
  if (top == CGROUP2_SUPER_MAGIC) {
    t.layout_ = cgroup_layout::v2;
    std::string own_path = own.count("") ? own[""] : "/";
    std::string parent = join(cgroup_mount, own_path, "");
    t.v2_root_ = join(cgroup_mount, own_path, name);
    make_dir(t.v2_root_);
    // Controllers must be enabled down the path; this fails when the parent holds processes.
    bool ok = write_file(parent + "/cgroup.subtree_control", "+memory +pids") &&
              write_file(t.v2_root_ + "/cgroup.subtree_control", "+memory +pids");
    if (ok) {
      t.v2_has_memory_ = true;
      t.memory_root_ = t.v2_root_;
      t.pids_root_ = t.v2_root_;
    } else {
      log_warn("cgroup: cannot enable memory/pids controllers under {}: memory limits are not enforced", parent);
    }
  } else if (top == TMPFS_MAGIC) {
    bool unified = fs_type(std::string(cgroup_mount) + "/unified") == CGROUP2_SUPER_MAGIC;
    t.layout_ = unified ? cgroup_layout::hybrid : cgroup_layout::v1;
    if (unified) {
      t.v2_root_ = join(std::string(cgroup_mount) + "/unified", own.count("") ? own[""] : "/", name);
      if (!make_dir(t.v2_root_))
        t.v2_root_.clear();
    }
    auto v1 = [&](const char* controller) -> std::string {
      std::string mount = std::string(cgroup_mount) + "/" + controller;
      if (fs_type(mount) != CGROUP_SUPER_MAGIC)
        return {};
      std::string dir = join(mount, own.count(controller) ? own[controller] : "/", name);
      return make_dir(dir) ? dir : std::string{};
    };
    t.memory_root_ = v1("memory");
    t.pids_root_ = v1("pids");
    if (t.v2_root_.empty())
      t.freezer_root_ = v1("freezer");
    if (t.memory_root_.empty())
      log_warn("cgroup: no usable v1 memory hierarchy: memory limits are not enforced");
  } else {
    log_warn("cgroup: no cgroup file system at {}: no limits, no freezer", cgroup_mount);
  }
  return t;
}

std::string cgroup_tree::describe() const {
  return fmt::format("layout={} freezer={} memory={} pids={} moves={}", to_string(layout_),
                     !v2_root_.empty() ? v2_root_ + " (cgroup.freeze)" : (freezer_root_.empty() ? "none (signals)" : freezer_root_ + " (v1 freezer)"),
                     memory_root_.empty() ? "none" : memory_root_, pids_root_.empty() ? "none" : pids_root_,
                     favors_dynamic_moves() ? "fast (favordynmods)"
                                            : "no cgroup mount has favordynmods (a new runtime's move may wait an RCU grace period)");
}

std::optional<cgroup_leaf> cgroup_tree::create_leaf(const std::string& id, std::int64_t memory_mb, std::int64_t pids_max) const {
  cgroup_leaf leaf;
  auto add = [&](const std::string& root) -> std::string {
    if (root.empty())
      return {};
    std::string dir = root + "/" + id;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
      return {};
    if (std::find(leaf.dirs_.begin(), leaf.dirs_.end(), dir) == leaf.dirs_.end())
      leaf.dirs_.push_back(dir);
    return dir;
  };
  leaf.v2_dir_ = add(v2_root_);
  auto bytes = std::to_string(memory_mb * 1024 * 1024);
  if (v2_has_memory_) {
    leaf.v2_memory_dir_ = leaf.v2_dir_;
    write_file(leaf.v2_dir_ + "/memory.max", bytes);
    write_file(leaf.v2_dir_ + "/memory.swap.max", "0");
    write_file(leaf.v2_dir_ + "/pids.max", std::to_string(pids_max));
  } else {
    leaf.v1_memory_dir_ = add(memory_root_);
    if (!leaf.v1_memory_dir_.empty() && !write_file(leaf.v1_memory_dir_ + "/memory.limit_in_bytes", bytes)) {
      log_error("cgroup: cannot set memory limit in {}", leaf.v1_memory_dir_);
      leaf.remove();
      return std::nullopt;
    }
    if (auto pids = add(pids_root_); !pids.empty())
      write_file(pids + "/pids.max", std::to_string(pids_max));
    leaf.v1_freezer_dir_ = add(freezer_root_);
  }
  return leaf;
}

int cgroup_tree::remove_leftovers() const {
  std::map<std::string, cgroup_leaf> found;
  for (auto* root : {&v2_root_, &memory_root_, &pids_root_, &freezer_root_}) {
    std::error_code ec;
    if (root->empty() || !fs::is_directory(*root, ec))
      continue;
    for (auto& entry : fs::directory_iterator(*root, ec)) {
      if (!entry.is_directory())
        continue;
      auto& leaf = found[entry.path().filename().string()];
      leaf.dirs_.push_back(entry.path().string());
      if (root == &v2_root_) leaf.v2_dir_ = entry.path().string();
      if (root == &freezer_root_) leaf.v1_freezer_dir_ = entry.path().string();
    }
  }
  for (auto& [id, leaf] : found) {
    leaf.kill_all();
    leaf.remove();
  }
  return static_cast<int>(found.size());
}

void cgroup_tree::remove_tree() const {
  for (auto* root : {&v2_root_, &memory_root_, &pids_root_, &freezer_root_})
    if (!root->empty())
      ::rmdir(root->c_str());
}

bool cgroup_leaf::add_process(int pid) const {
  auto text = std::to_string(pid);
  bool ok = true;
  for (auto& d : dirs_)
    ok = write_file(d + "/cgroup.procs", text) && ok;
  return ok;
}

bool cgroup_leaf::frozen() const {
  if (!v2_dir_.empty())
    return keyed_value(read_file(v2_dir_ + "/cgroup.events"), "frozen") == 1;
  if (!v1_freezer_dir_.empty())
    return read_file(v1_freezer_dir_ + "/freezer.state").rfind("FROZEN", 0) == 0;
  return false;
}

bool cgroup_leaf::freeze() const {
  if (!v2_dir_.empty()) {
    if (!write_file(v2_dir_ + "/cgroup.freeze", "1"))
      return false;
  } else if (!v1_freezer_dir_.empty()) {
    if (!write_file(v1_freezer_dir_ + "/freezer.state", "FROZEN"))
      return false;
  } else {
    return false;
  }
  return wait_for([&] { return frozen(); });
}

bool cgroup_leaf::thaw() const {
  if (!v2_dir_.empty()) {
    if (!write_file(v2_dir_ + "/cgroup.freeze", "0"))
      return false;
    return wait_for([&] { return keyed_value(read_file(v2_dir_ + "/cgroup.events"), "frozen") == 0; });
  }
  if (!v1_freezer_dir_.empty()) {
    if (!write_file(v1_freezer_dir_ + "/freezer.state", "THAWED"))
      return false;
    return wait_for([&] { return read_file(v1_freezer_dir_ + "/freezer.state").rfind("THAWED", 0) == 0; });
  }
  return false;
}

bool cgroup_leaf::oom_killed() const {
  if (!v2_memory_dir_.empty())
    return keyed_value(read_file(v2_memory_dir_ + "/memory.events"), "oom_kill") > 0;
  if (!v1_memory_dir_.empty())
    return keyed_value(read_file(v1_memory_dir_ + "/memory.oom_control"), "oom_kill") > 0;
  return false;
}

void cgroup_leaf::kill_all() const {
  if (!v2_dir_.empty() && write_file(v2_dir_ + "/cgroup.kill", "1"))
    return;
  for (auto& d : dirs_) {
    std::istringstream in(read_file(d + "/cgroup.procs"));
    int pid;
    while (in >> pid)
      ::kill(pid, SIGKILL);
  }
  // Frozen v1 tasks only die once thawed.
  if (!v1_freezer_dir_.empty())
    write_file(v1_freezer_dir_ + "/freezer.state", "THAWED");
}

bool cgroup_leaf::remove() const {
  bool all = true;
  for (auto& d : dirs_) {
    bool gone = wait_for([&] { return ::rmdir(d.c_str()) == 0 || errno == ENOENT; });
    all = all && gone;
  }
  return all;
}

} // namespace whisk::container
