#pragma once
// Where a run goes: pure functions over plain values, shared by the pool actor and the
// simulator. Order: warm container of the action > paused one (resume) > stem cell of the
// kind and memory > new container within the user memory > (node full) wait for a busy
// container of the same action > evict least recently used idle containers > wait.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace whisk::policy {

enum class slot_state { starting, stem, busy, ready, paused, removing };
const char* to_string(slot_state s);

struct container_info {
  std::uint64_t id = 0;
  slot_state state = slot_state::starting;
  std::string kind;
  std::int64_t memory_mb = 256;
  std::string action_key;      // empty for a stem cell
  std::int64_t active = 0;     // runs placed and not yet answered
  std::int64_t concurrency = 1;
  std::uint64_t last_used = 0; // higher is more recent
};

struct run_need {
  std::string action_key;
  std::string kind;
  std::int64_t memory_mb = 256;
  std::int64_t concurrency = 1;
};

enum class placement_kind { warm, resume, stem_cell, create, evict_and_create, wait };

struct placement {
  placement_kind kind = placement_kind::wait;
  std::uint64_t id = 0;               // warm / resume / stem_cell
  std::vector<std::uint64_t> victims; // evict_and_create
};

// The pool as the functions below read it: pointers, so that a caller with containers of
// its own (the pool actor) lends them without copying. The overloads over values are the same.
using pool_view = std::vector<const container_info*>;
pool_view view_of(const std::vector<container_info>& pool);

std::int64_t memory_in_use(const pool_view& pool);
std::int64_t memory_in_use(const std::vector<container_info>& pool);

// Least recently used idle containers (ready or paused, nothing running) whose removal
// frees at least `need_mb` beyond `free_mb`; empty if even all of them would not.
std::vector<std::uint64_t> pick_victims(const pool_view& pool, std::int64_t need_mb, std::int64_t free_mb);
std::vector<std::uint64_t> pick_victims(const std::vector<container_info>& pool, std::int64_t need_mb, std::int64_t free_mb);

// Chooses idle containers (ready or paused, nothing running) whose removal frees at least
// `need_mb` beyond `free_mb`, in the order they should go; empty when even all would not.
using victim_picker = std::function<std::vector<std::uint64_t>(const pool_view& pool, std::int64_t need_mb, std::int64_t free_mb)>;

// The same decision for a caller that keeps its containers indexed: `candidates` must hold
// at least every container bound to the action and every unbound one (stem cells); the
// memory still free is asked only when a new container is considered (cold path). Step 6
// asks `pick` (a keep-alive policy's eviction order; it sees `candidates` and chooses among
// all of the caller's idle containers); without one, pick_victims among `candidates`.
placement place(const pool_view& candidates, const run_need& need, std::int64_t user_memory_mb,
                const std::function<std::int64_t()>& free_mb, const victim_picker& pick = {});
// The same over values.
placement schedule(const std::vector<container_info>& pool, const run_need& need, std::int64_t user_memory_mb,
                   const victim_picker& pick = {});

struct stem_cell_config {
  std::string kind;
  std::int64_t memory_mb = 256;
  std::int64_t count = 1;
};

// Stem cells to start now so that each configured kind has `count` (starting or ready),
// as far as the user memory allows.
std::vector<stem_cell_config> missing_stem_cells(const pool_view& pool, const std::vector<stem_cell_config>& wanted,
                                                 std::int64_t user_memory_mb);
std::vector<stem_cell_config> missing_stem_cells(const std::vector<container_info>& pool,
                                                 const std::vector<stem_cell_config>& wanted, std::int64_t user_memory_mb);

} // namespace whisk::policy
