#include "csv_reader.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "whisk/sim/trace.hpp"

namespace whisk::sim {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Shown in messages: a field cut short, so a megabyte of junk does not become the message.
std::string shown(std::string_view s) {
  return s.size() <= 40 ? std::string(s) : fmt::format("{}...", s.substr(0, 40));
}

} // namespace

expected<csv_reader> csv_reader::open(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return make_error(errc::bad_request, fmt::format("{}: cannot open (a directory, not a file)", path.string()));
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int e = errno;
    return make_error(e == ENOENT ? errc::not_found : errc::unavailable,
                      fmt::format("{}: cannot open ({})", path.string(), std::strerror(e)));
  }
  return csv_reader(std::unique_ptr<std::FILE, file_closer>(f), path.string());
}

bool csv_reader::fill() {
  if (eof_)
    return false;
  end_ = std::fread(buf_.data(), 1, buf_.size(), f_.get());
  pos_ = 0;
  if (end_ == 0)
    eof_ = true;
  return end_ > 0;
}

expected<bool> csv_reader::next() {
  for (;;) {
    text_.clear();
    bool any = false;
    for (;;) {
      if (pos_ == end_ && !fill()) {
        if (std::ferror(f_.get()))
          return make_error(errc::unavailable, fmt::format("{}:{}: read error", file_, line_ + 1));
        break;
      }
      any = true;
      const char* start = buf_.data() + pos_;
      const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const std::size_t take = nl ? static_cast<std::size_t>(nl - start) : end_ - pos_;
      if (text_.size() + take > max_line_bytes)
        return make_error(errc::too_large, fmt::format("{}:{}:1: line longer than {} bytes", file_, line_ + 1, max_line_bytes));
      text_.append(start, take);
      pos_ += take;
      if (nl) {
        ++pos_;
        break;
      }
    }
    if (!any)
      return false;
    ++line_;
    if (line_ == 1 && text_.rfind("\xEF\xBB\xBF", 0) == 0) // a UTF-8 byte order mark
      text_.erase(0, 3);
    if (trim(text_).empty())
      continue;
    split();
    return true;
  }
}

void csv_reader::split() {
  fields_.clear();
  std::string_view rest(text_);
  for (;;) {
    const auto comma = rest.find(',');
    fields_.push_back(trim(rest.substr(0, comma)));
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
}

error csv_reader::at(std::size_t column, std::string_view what, errc code) const {
  return make_error(code, fmt::format("{}:{}:{}: {}", file_, line_, column + 1, what));
}

std::optional<error> csv_reader::expect_header(const std::vector<std::string>& names) const {
  for (std::size_t i = 0; i < names.size() && i < fields_.size(); ++i)
    if (fields_[i] != names[i])
      return at(i, fmt::format("header: expected column '{}', found '{}'", names[i], shown(fields_[i])));
  if (fields_.size() != names.size())
    return at(std::min(fields_.size(), names.size()),
              fmt::format("header: expected {} columns, found {}", names.size(), fields_.size()));
  return std::nullopt;
}

std::optional<error> csv_reader::expect_columns(std::size_t count) const {
  if (fields_.size() == count)
    return std::nullopt;
  return at(std::min(fields_.size(), count), fmt::format("expected {} columns, found {}", count, fields_.size()));
}

expected<std::uint32_t> csv_reader::count(std::size_t column, std::string_view name) const {
  const auto s = fields_[column];
  std::uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc{} && end == s.data() + s.size() && !s.empty())
    return v;
  if (ec == std::errc::result_out_of_range && end == s.data() + s.size())
    return at(column, fmt::format("{} {} is out of range (at most {})", name, shown(s), UINT32_MAX));
  std::int64_t negative = 0;
  auto [nend, nec] = std::from_chars(s.data(), s.data() + s.size(), negative);
  if (nec == std::errc{} && nend == s.data() + s.size() && negative < 0)
    return at(column, fmt::format("negative {} {}", name, negative));
  return at(column, fmt::format("{} '{}' is not a whole number", name, shown(s)));
}

expected<double> csv_reader::number(std::size_t column, std::string_view name) const {
  const auto s = fields_[column];
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return at(column, fmt::format("{} '{}' is not a number", name, shown(s)));
  return v;
}

expected<double> csv_reader::non_negative(std::size_t column, std::string_view name) const {
  auto v = number(column, name);
  if (v && *v < 0)
    return at(column, fmt::format("negative {} {}", name, shown(fields_[column])));
  return v;
}

expected<std::string_view> csv_reader::id(std::size_t column, std::string_view name) const {
  if (fields_[column].empty())
    return at(column, fmt::format("{} is empty", name));
  return fields_[column];
}

} // namespace whisk::sim
