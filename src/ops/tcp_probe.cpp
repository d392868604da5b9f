// A bounded TCP connect, for ssh:// Git URLs. The kube module's client speaks HTTP(S) only, and a
// connect is all doctor needs to know about an SSH host (the deploy key is Flux's business).
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fluxboot/doctor.hpp"

namespace fluxboot::ops {

std::string tcp_probe(const std::string& host, int port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return fmt::format("cannot resolve {}: {}", host, ::gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int c = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (c != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (n == 0) {
        last = fmt::format("no answer within {}ms", timeout.count());
      } else {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) c = 0;
        else last = std::strerror(err);
      }
    } else if (c != 0) {
      last = std::strerror(errno);
    }
    ::close(fd);
    if (c == 0) {
      ::freeaddrinfo(res);
      return {};
    }
  }
  ::freeaddrinfo(res);
  return last;
}

}  // namespace fluxboot::ops
