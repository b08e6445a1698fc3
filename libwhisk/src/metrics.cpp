#include "whisk/metrics.hpp"

#include <map>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <sstream>

namespace whisk::metrics {

std::string render(const std::vector<sample>& samples) {
  std::vector<prometheus::MetricFamily> families;
  std::map<std::string, std::size_t> index;
  for (auto& s : samples) {
    auto name = "whisk_" + s.name;
    auto [i, fresh] = index.emplace(name, families.size());
    if (fresh) {
      prometheus::MetricFamily f;
      f.name = name;
      f.help = s.help;
      f.type = s.type == kind::counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge;
      families.push_back(std::move(f));
    }
    auto& family = families[i->second];
    prometheus::ClientMetric m;
    for (auto& [k, v] : s.labels)
      m.label.push_back({k, v});
    if (family.type == prometheus::MetricType::Counter)
      m.counter.value = s.value;
    else
      m.gauge.value = s.value;
    family.metric.push_back(std::move(m));
  }
  std::ostringstream out;
  prometheus::TextSerializer{}.Serialize(out, families);
  return out.str();
}

} // namespace whisk::metrics
