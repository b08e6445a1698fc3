#pragma once
#include <string>

#include "engine.hpp"

namespace whisk::load {

std::string text_report(const plan& p, const run_result& r);
std::string json_report(const plan& p, const run_result& r);
// A percentile spectrum (latency against 1/(1-p) on a log axis), one line per target.
std::string svg_plot(const plan& p, const run_result& r);

} // namespace whisk::load
