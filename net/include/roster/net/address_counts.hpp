// Open connections per client address (peer_ip), so that one client cannot take every slot of a
// server. A peer without an address ("": a Unix-domain socket) is never limited: local users
// reach it only as far as the socket file's permissions let them.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace roster::net {

class AddressCounts {
 public:
  // Counts one more connection from `address`, unless it has `limit` already (false then).
  // A limit of 0 means none.
  bool try_add(const std::string& address, size_t limit) {
    if (address.empty()) return true;
    if (limit != 0 && count(address) >= limit) return false;
    ++counts_[address];
    return true;
  }
  // Forgets one connection counted by try_add.
  void remove(const std::string& address) {
    auto it = counts_.find(address);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }
  size_t count(const std::string& address) const {
    auto it = counts_.find(address);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  std::unordered_map<std::string, size_t> counts_;
};

}  // namespace roster::net
