#pragma once
// A comma-separated file read line by line with bounded memory, whose every complaint
// names FILE:LINE:COLUMN. No quoting: the Azure traces have none.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/expected.hpp"

namespace whisk::sim {

class csv_reader {
public:
  // errc::not_found when the file is missing, errc::unavailable when it cannot be read.
  static expected<csv_reader> open(const std::filesystem::path& path);

  // The next line that is not blank (fields trimmed of spaces, tabs and a CR); false at the
  // end of the file; an error for a line over max_line_bytes or a read failure.
  expected<bool> next();

  std::size_t line() const { return line_; }
  const std::vector<std::string_view>& fields() const { return fields_; }
  const std::string& file() const { return file_; }

  // "FILE:LINE:COLUMN: what" for the field at 0-based `column`.
  error at(std::size_t column, std::string_view what, errc code = errc::bad_request) const;

  // The line must have exactly `names` (the header) / `count` fields.
  std::optional<error> expect_header(const std::vector<std::string>& names) const;
  std::optional<error> expect_columns(std::size_t count) const;

  // Field parsers; `name` says what the column holds in the message.
  expected<std::uint32_t> count(std::size_t column, std::string_view name) const;    // whole number >= 0
  expected<double> non_negative(std::size_t column, std::string_view name) const;   // finite number >= 0
  expected<double> number(std::size_t column, std::string_view name) const;         // finite number
  expected<std::string_view> id(std::size_t column, std::string_view name) const;   // not empty

private:
  struct file_closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  csv_reader(std::unique_ptr<std::FILE, file_closer> f, std::string file) : f_(std::move(f)), file_(std::move(file)) {}
  bool fill();
  void split();

  std::unique_ptr<std::FILE, file_closer> f_;
  std::string file_;
  std::vector<char> buf_ = std::vector<char>(64 * 1024);
  std::size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  std::string text_; // the current line
  std::vector<std::string_view> fields_;
  std::size_t line_ = 0;
};

} // namespace whisk::sim
