// A real one-member etcd for tests: started on free loopback ports in a fresh temp dir, killed
// (and its dir removed) when destroyed, and killed with the test process however that ends.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace roster::upstream {

class EtcdProcess {
 public:
  static std::unique_ptr<EtcdProcess> start() {
    char tmpl[] = "/tmp/roster_etcd.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    std::unique_ptr<EtcdProcess> etcd(new EtcdProcess(tmpl, free_port(), free_port()));
    etcd->launch();
    return etcd;
  }
  ~EtcdProcess() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void restart() {
    kill();
    launch();
  }

 private:
  EtcdProcess(std::string dir, int client_port, int peer_port)
      : dir_(std::move(dir)), client_port_(client_port), peer_port_(peer_port) {}

  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("no free port");
    ::close(fd);
    return ntohs(a.sin_port);
  }

  void launch() {
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    const std::string data = dir_ + "/data", log = dir_ + "/etcd.log";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test, even one that crashes
      if (std::freopen(log.c_str(), "a", stderr) == nullptr) ::_exit(127);
      ::execlp("etcd", "etcd", "--name", "m", "--data-dir", data.c_str(), "--listen-client-urls", client.c_str(),
               "--advertise-client-urls", client.c_str(), "--listen-peer-urls", peer.c_str(),
               "--initial-advertise-peer-urls", peer.c_str(), "--initial-cluster", ("m=" + peer).c_str(),
               "--max-txn-ops", "10000", "--heartbeat-interval", "50", "--election-timeout", "500", nullptr);
      ::_exit(127);
    }
    const std::string probe = "etcdctl --endpoints " + endpoint() + " --command-timeout=1s endpoint health >/dev/null 2>&1";
    for (int i = 0; i < 200; ++i) {
      if (std::system(probe.c_str()) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("etcd did not become healthy; see " + log);
  }

  std::string dir_;
  int client_port_, peer_port_;
  pid_t pid_ = -1;
};

}  // namespace roster::upstream
