#pragma once
// Metrics for GET /metrics: plain samples gathered at scrape time, written in Prometheus'
// text format.
#include <string>
#include <utility>
#include <vector>

namespace whisk::metrics {

enum class kind { counter, gauge };

struct sample {
  std::string name; // without the "whisk_" prefix
  std::string help;
  kind type = kind::gauge;
  double value = 0;
  std::vector<std::pair<std::string, std::string>> labels;
};

// Samples of the same name become one family (help and type from the first).
std::string render(const std::vector<sample>& samples);

} // namespace whisk::metrics
