#include <fmt/format.h>

#include "whisk/store/store.hpp"

namespace whisk {

expected<std::unique_ptr<store>> open_store(const std::string& spec, const std::filesystem::path& data_dir, const key_hasher& keys) {
  if (spec.empty())
    return open_sqlite_store((data_dir / "whisk.db").string(), &keys);
  if (is_postgres_uri(spec))
    return open_postgres_store(spec);
  return make_error(errc::bad_request,
                    fmt::format("--store '{}' is not a PostgreSQL URI (postgresql://USER@HOST:PORT/DB or "
                                "postgresql:///DB?host=/socket/dir); leave it out for SQLite in the data dir",
                                redacted_uri(spec)));
}

} // namespace whisk
