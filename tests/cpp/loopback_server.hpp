// A loopback HTTP server scripted per request, for the HTTP client and poller tests
// (defined in test_http.cpp).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fj_test {

struct ServerReply {
  int status = 200;
  std::string body;
  double delay_s = 0;        ///< wait this long before answering
  bool chunked = false;      ///< send the body in chunks
  bool close_after = false;  ///< close the connection after answering, without saying so
  bool hang_up = false;      ///< close the connection instead of answering
};
using ServerHandler =
    std::function<ServerReply(const std::string& method, const std::string& target)>;
class LoopbackServer;
std::shared_ptr<LoopbackServer> start_loopback_server(ServerHandler handler);
int loopback_port(const LoopbackServer& s);
int loopback_connections(const LoopbackServer& s);
std::vector<std::string> loopback_requests(const LoopbackServer& s);  ///< "METHOD target [body]"
int unused_port();

}  // namespace fj_test
