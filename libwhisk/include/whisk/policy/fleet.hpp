#pragma once
// Where the cluster scheduler puts a run: a pure function over the fleet it knows (agents
// and their containers), shared by whisk-scheduler and the simulator. Order: warm container
// of the action > stem cell of the kind and memory > new container on an agent with room >
// evict least recently used idle containers on one agent > reject with a reason.
// Only healthy agents are used; leased or removing containers are never used or evicted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/policy/placement.hpp"

namespace whisk::policy {

enum class agent_health { healthy, unhealthy, unresponsive, offline };
const char* to_string(agent_health h);

struct fleet_agent {
  std::string name;
  agent_health health = agent_health::healthy;
  std::int64_t user_memory_mb = 0;
};

struct fleet_container {
  std::uint64_t id = 0;          // the scheduler's id
  std::string agent;             // fleet_agent::name
  slot_state state = slot_state::starting; // stem, ready, busy, paused, starting, removing
  std::string kind;
  std::int64_t memory_mb = 256;
  std::string action_key;        // empty for a stem cell
  bool leased = false;           // held by a controller: never allocated again, never evicted
  std::uint64_t last_used = 0;   // higher is more recent
};

struct fleet_view {
  std::vector<fleet_agent> agents;
  std::vector<fleet_container> containers;
};

enum class allocation_kind { warm, stem_cell, create, evict_and_create, reject };
const char* to_string(allocation_kind k); // "warm", "stem-cell", "create", "evict-and-create", "reject"

struct allocation {
  allocation_kind kind = allocation_kind::reject;
  std::uint64_t container = 0;          // warm / stem_cell
  std::string agent;                    // every kind but reject
  std::vector<std::uint64_t> victims;   // evict_and_create: containers to delete on `agent` first
  std::string reason;                   // reject: a sentence a user can read
};

// How a new container's agent is chosen.
enum class agent_choice { most_free_memory, home_hash };
bool parse_agent_choice(std::string_view text, agent_choice& out); // "most-free-memory" | "home-hash"
const char* to_string(agent_choice c);

// User memory (0 for an unknown agent) minus the memory of its containers not removing.
std::int64_t free_memory(const fleet_view& v, const std::string& agent);

allocation allocate(const fleet_view& v, const run_need& need, agent_choice choice);

// FNV-1a 64: the same on every machine and build, unlike std::hash.
std::uint64_t stable_hash(std::string_view text);

// The order in which home_hash tries n agents (indices into the healthy agents sorted by
// name): the home hash % n first, then steps of a size coprime to n (also from the hash),
// so each agent is tried once (OpenWhisk's ShardingContainerPoolBalancer).
std::vector<std::size_t> home_hash_order(std::string_view action_key, std::size_t n);

} // namespace whisk::policy
