// The hybrid histogram policy (Shahrad et al., USENIX ATC'20): learn each app's idle times
// and keep (or pre-warm) its containers around where the next run is likely to come.
#include "whisk/policy/keep_alive.hpp"

#include <algorithm>
#include <cmath>

namespace whisk::policy {

idle_time_histogram::idle_time_histogram(millis bin_ms, millis range_ms)
    : bin_ms_(std::max<millis>(bin_ms, 1)), bins_(static_cast<std::size_t>(std::max<millis>(range_ms / bin_ms_, 1)), 0) {}

void idle_time_histogram::add(millis idle) {
  idle = std::max<millis>(idle, 0);
  auto bin = static_cast<std::size_t>(idle / bin_ms_);
  if (bin >= bins_.size()) {
    ++out_of_bounds_;
    out_of_bounds_sum_ms_ += static_cast<double>(idle);
    return;
  }
  // (c + 1)^2 - c^2: the sum of squares follows without a pass over the bins
  sum_squares_ += static_cast<double>(2 * bins_[bin] + 1);
  ++bins_[bin];
  ++in_bounds_;
}

double idle_time_histogram::out_of_bounds_mean_ms() const {
  return out_of_bounds_ == 0 ? 0.0 : out_of_bounds_sum_ms_ / static_cast<double>(out_of_bounds_);
}

double idle_time_histogram::cv() const {
  auto n = static_cast<double>(bins_.size());
  auto mean = static_cast<double>(in_bounds_) / n;
  if (mean == 0)
    return 0;
  auto variance = std::max(sum_squares_ / n - mean * mean, 0.0);
  return std::sqrt(variance) / mean;
}

std::size_t idle_time_histogram::percentile_bin(double p) const {
  // nearest rank; the slack keeps 0.05 x 100 from landing one sample late
  auto target = p * static_cast<double>(in_bounds_) - 1e-9;
  std::int64_t cumulative = 0;
  for (std::size_t i = 0; i < bins_.size(); ++i) {
    cumulative += bins_[i];
    if (cumulative > 0 && static_cast<double>(cumulative) >= target)
      return i;
  }
  return bins_.size() - 1;
}

const char* to_string(hybrid_pattern p) {
  switch (p) {
    case hybrid_pattern::too_few_samples: return "too few samples";
    case hybrid_pattern::out_of_bounds: return "out of bounds";
    case hybrid_pattern::uncertain: return "uncertain";
    case hybrid_pattern::histogram: return "histogram";
  }
  return "?";
}

hybrid_windows hybrid_windows_for(const idle_time_histogram& h, const hybrid_config& cfg) {
  auto range_ms = static_cast<millis>(h.bins().size()) * h.bin_ms();
  auto total = h.in_bounds() + h.out_of_bounds();
  if (total < cfg.min_samples)
    return {hybrid_pattern::too_few_samples, 0, range_ms};
  // The paper forecasts the next idle time with ARIMA here; the mean of the out-of-bounds
  // idle times stands in for that forecast, with the paper's 15% margins around it.
  if (static_cast<double>(h.out_of_bounds()) >= cfg.out_of_bounds_share * static_cast<double>(total)) {
    auto mean = h.out_of_bounds_mean_ms();
    return {hybrid_pattern::out_of_bounds, std::llround(mean * (1 - cfg.forecast_margin)),
            std::llround(mean * (1 + cfg.forecast_margin))};
  }
  if (h.cv() < cfg.cv_threshold)
    return {hybrid_pattern::uncertain, 0, range_ms};
  // the head rounds down to its bin's start, the tail up to its bin's end: both err warm
  auto head = static_cast<double>(static_cast<millis>(h.percentile_bin(cfg.head)) * h.bin_ms());
  auto tail = static_cast<double>(static_cast<millis>(h.percentile_bin(cfg.tail) + 1) * h.bin_ms());
  return {hybrid_pattern::histogram, std::llround(head * (1 - cfg.margin)), std::llround(tail * (1 + cfg.margin))};
}

keep_alive_decision decision_for(const hybrid_windows& w) {
  if (w.prewarm_ms <= 0)
    return {w.keep_alive_ms, std::nullopt};
  // a pre-warm window: unload at once, come back before the next run is due
  return {0, prewarm_window{w.prewarm_ms, w.keep_alive_ms}};
}

hybrid_keep_alive::app_state& hybrid_keep_alive::state_of(std::string_view app) {
  auto it = apps_.find(app);
  if (it == apps_.end())
    it = apps_.try_emplace(std::string(app), app_state{idle_time_histogram(cfg_.bin_ms, cfg_.range_ms), std::nullopt}).first;
  return it->second;
}

void hybrid_keep_alive::on_arrival(const function_ref& fn, millis now, start_kind) {
  auto& app = state_of(fn.app_key());
  if (app.idle_since) {
    app.histogram.add(now - *app.idle_since);
    app.idle_since.reset();
  }
}

void hybrid_keep_alive::on_idle(std::uint64_t, const function_ref& fn, millis now) {
  state_of(fn.app_key()).idle_since = now;
}

hybrid_windows hybrid_keep_alive::windows(std::string_view app) const {
  auto it = apps_.find(app);
  if (it == apps_.end())
    return hybrid_windows_for(idle_time_histogram(cfg_.bin_ms, cfg_.range_ms), cfg_);
  return hybrid_windows_for(it->second.histogram, cfg_);
}

keep_alive_decision hybrid_keep_alive::keep_alive(std::uint64_t, const function_ref& fn, millis) const {
  return decision_for(windows(fn.app_key()));
}

} // namespace whisk::policy
