#include "roster/upstream/store_url.hpp"

#include <cstdlib>

#include "roster/upstream/etcd_store.hpp"
#include "roster/upstream/sqlite_store.hpp"

namespace roster::upstream {

namespace {

Unexpected<Error> invalid(std::string_view url, const std::string& why) {
  return fail(ErrorKind::Invalid, "invalid_store",
              "--store \"" + std::string(url) + "\": " + why +
                  " (expected sqlite:DIR or etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?keep-history=SECONDS])");
}

}  // namespace

Result<OpenedStore> open_store(std::string_view url) {
  if (url.starts_with("sqlite:")) {
    const std::string dir(url.substr(7));
    if (dir.empty()) return invalid(url, "no directory");
    auto store = SqliteStore::open(dir);
    if (!store) return fail(store.error());
    return OpenedStore{std::move(*store), nullptr};
  }
  if (url.starts_with("etcd://")) {
    std::string_view rest = url.substr(7);
    EtcdOptions options;
    if (const size_t query = rest.find('?'); query != std::string_view::npos) {
      const std::string_view param = rest.substr(query + 1);
      rest = rest.substr(0, query);
      constexpr std::string_view kKeep = "keep-history=";
      if (!param.starts_with(kKeep)) return invalid(url, "the one query parameter known is keep-history=SECONDS");
      const std::string seconds(param.substr(kKeep.size()));
      char* end = nullptr;
      const long value = std::strtol(seconds.c_str(), &end, 10);
      if (seconds.empty() || *end != '\0' || value < 0 || value > 86400 * 365)
        return invalid(url, "keep-history must be a whole number of seconds (0: never compact)");
      options.keep_history = std::chrono::seconds(value);
    }
    const size_t slash = rest.find('/');
    if (slash != std::string_view::npos) {
      options.prefix = std::string(rest.substr(slash + 1));
      rest = rest.substr(0, slash);
    }
    if (slash != std::string_view::npos && options.prefix.empty()) return invalid(url, "an empty key prefix");
    for (size_t start = 0; start <= rest.size();) {
      size_t comma = rest.find(',', start);
      if (comma == std::string_view::npos) comma = rest.size();
      if (comma == start) return invalid(url, "an empty endpoint");
      options.endpoints.emplace_back(rest.substr(start, comma - start));
      start = comma + 1;
    }
    auto store = EtcdStore::open(std::move(options));
    if (!store) return fail(store.error());
    Cluster* cluster = store->get();
    return OpenedStore{std::move(*store), cluster};
  }
  return invalid(url, "unknown kind of store");
}

}  // namespace roster::upstream
