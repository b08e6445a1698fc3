#include "whisk/container/routing_backend.hpp"

namespace whisk::container {

routing_backend::routing_backend(std::map<std::string, std::shared_ptr<backend>> by_kind, std::shared_ptr<backend> fallback)
    : by_kind_(std::move(by_kind)), fallback_(std::move(fallback)) {}

std::string routing_backend::name() const {
  std::string out = fallback_->name();
  for (auto& [kind, b] : by_kind_) {
    out.append("+").append(b->name()).append("(").append(kind).append(")");
  }
  return out;
}

std::optional<routing_backend::route> routing_backend::find(container_id id) {
  std::lock_guard guard{mx_};
  auto i = routes_.find(id);
  if (i == routes_.end())
    return std::nullopt;
  return i->second;
}

void routing_backend::create(const spec& s, create_done done) {
  auto i = by_kind_.find(s.kind);
  backend* target = i == by_kind_.end() ? fallback_.get() : i->second.get();
  target->create(s, [this, target, done = std::move(done)](expected<container_id> inner) {
    if (!inner) {
      done(inner.err());
      return;
    }
    container_id id;
    {
      std::lock_guard guard{mx_};
      id = next_id_++;
      routes_[id] = route{target, *inner};
    }
    done(id);
  });
}

void routing_backend::init(container_id id, init_request req, op_done done) {
  if (auto r = find(id))
    r->target->init(r->inner, std::move(req), std::move(done));
  else
    done(outcome{outcome_kind::failed, "no such container", {}, 0});
}

void routing_backend::run(container_id id, run_request req, op_done done) {
  if (auto r = find(id))
    r->target->run(r->inner, std::move(req), std::move(done));
  else
    done(outcome{outcome_kind::failed, "no such container", {}, 0});
}

void routing_backend::suspend(container_id id, flag_done done) {
  if (auto r = find(id))
    r->target->suspend(r->inner, std::move(done));
  else
    done(false);
}

void routing_backend::resume(container_id id, flag_done done) {
  if (auto r = find(id))
    r->target->resume(r->inner, std::move(done));
  else
    done(false);
}

void routing_backend::destroy(container_id id, std::function<void()> done) {
  std::optional<route> r;
  {
    std::lock_guard guard{mx_};
    if (auto i = routes_.find(id); i != routes_.end()) {
      r = i->second;
      routes_.erase(i);
    }
  }
  if (r)
    r->target->destroy(r->inner, std::move(done));
  else
    done();
}

} // namespace whisk::container
