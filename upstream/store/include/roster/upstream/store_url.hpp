// roster-server's --store: which store to open, as a URL.
//   sqlite:DIR                          the embedded default, DIR/roster.db
//   etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?keep-history=SECONDS]
//                                       an etcd cluster shared by several servers; every key
//                                       under PREFIX (default roster/). The elected server
//                                       compacts etcd's history older than keep-history (600;
//                                       compaction is cluster-wide: 0 leaves it to etcd's own
//                                       --auto-compaction-* where etcd has other users)
#pragma once

#include <memory>
#include <string_view>

#include "roster/upstream/cluster.hpp"
#include "roster/upstream/store.hpp"

namespace roster::upstream {

struct OpenedStore {
  std::unique_ptr<Store> store;
  Cluster* cluster = nullptr;  // the store itself when it is shared, else none
};

// Invalid (invalid_store) for a URL of neither form, naming what is wrong; else the store's own
// errors (see sqlite_store.hpp, etcd_store.hpp).
Result<OpenedStore> open_store(std::string_view url);

}  // namespace roster::upstream
