#pragma once
// The process backend's cgroup tree, on v1, v2 or hybrid layouts. The tree lives under
// the cgroup of the process that creates it, in a directory named after the owner, so a
// restart can find and remove what a crashed run left behind.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace whisk::container {

enum class cgroup_layout { v1, v2, hybrid, none };
const char* to_string(cgroup_layout l);

class cgroup_leaf {
public:
  cgroup_leaf() = default;
  bool add_process(int pid) const;
  bool freeze() const;  // returns once the kernel reports the group frozen
  bool thaw() const;
  bool frozen() const;  // what the kernel reports now
  bool oom_killed() const;
  void kill_all() const;
  bool remove() const;  // rmdir in every hierarchy (retries while tasks exit)
  const std::vector<std::string>& dirs() const { return dirs_; }
  std::string freeze_dir() const { return v2_dir_.empty() ? v1_freezer_dir_ : v2_dir_; }

private:
  friend class cgroup_tree;
  std::vector<std::string> dirs_;  // every hierarchy's directory for this leaf
  std::string v2_dir_;             // unified directory (pure v2 or hybrid), empty if none
  std::string v1_memory_dir_, v1_freezer_dir_;
  std::string v2_memory_dir_;      // when v2 has the memory controller
};

class cgroup_tree {
public:
  // Detects the layout and prepares `<own cgroup>/<name>` in each hierarchy used.
  static cgroup_tree open(const std::string& name);
  cgroup_layout layout() const { return layout_; }
  bool memory_limits() const { return !memory_root_.empty(); }
  std::string describe() const;
  // Creates leaf `id` with a memory limit (MB) and a pids limit.
  std::optional<cgroup_leaf> create_leaf(const std::string& id, std::int64_t memory_mb, std::int64_t pids_max) const;
  // Kills and removes every leaf left in the tree (by an earlier run of the same owner).
  int remove_leftovers() const;
  // Removes the tree's own directories (empty leaves only).
  void remove_tree() const;

private:
  cgroup_layout layout_ = cgroup_layout::none;
  std::string v2_root_;      // <mount>/<own path>/<name> in the unified hierarchy
  std::string memory_root_;  // where memory limits are written (v1 memory or v2)
  std::string pids_root_;
  std::string freezer_root_; // v1 freezer, when no unified hierarchy freezes
  bool v2_has_memory_ = false;
};

} // namespace whisk::container
