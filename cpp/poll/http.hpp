// A minimal blocking HTTP/1.1 client for Flink's REST API (Netty): one kept-alive connection per
// client, every wait bounded by poll(). No external libraries, so the poller has no dependency
// that could hide a fault (proxies, connection pools, retries with their own timing).
#pragma once

#include <map>
#include <stdexcept>
#include <string>

namespace fj {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string>
      headers;  ///< names in lower case; repeated ones joined by ", "
};

/// A request failed without an answer: what() is "<reason> at host:port", e.g.
/// "connection refused at n1:8081", "timed out after 2.0 s at n1:8081".
class HttpError : public std::runtime_error {
 public:
  HttpError(const std::string& endpoint, const std::string& reason, bool sent = false)
      : std::runtime_error(reason + " at " + endpoint),
        endpoint_(endpoint),
        reason_(reason),
        sent_(sent) {}
  const std::string& endpoint() const { return endpoint_; }
  const std::string& reason() const { return reason_; }
  /// The whole request was sent before it failed: the server may have acted on it.
  bool sent() const { return sent_; }

 private:
  std::string endpoint_;
  std::string reason_;
  bool sent_;
};

/// Not thread-safe: one request at a time (use one client per thread).
class HttpClient {
 public:
  HttpClient(std::string host, int port, double timeout_s = 2.0);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends one request and reads the whole answer. The timeout bounds the whole request
  /// (resolve excepted: getaddrinfo cannot be interrupted), connect included. A kept connection
  /// that the server closed meanwhile is replaced once, transparently. Throws HttpError.
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::string& content_type = "");

  void set_timeout(double timeout_s) { timeout_s_ = timeout_s; }
  double timeout() const { return timeout_s_; }
  /// "host:port"
  const std::string& endpoint() const { return endpoint_; }
  /// Connections opened so far (for tests and diagnostics: keep-alive means few).
  int connections_opened() const { return connections_; }
  /// Drops the kept connection, if any.
  void disconnect();

 private:
  void connect(double deadline);
  HttpResponse exchange(const std::string& request, const std::string& method, double deadline,
                        bool& nothing_received);
  [[noreturn]] void fail(const std::string& reason, bool sent = false);

  std::string host_;
  int port_;
  double timeout_s_;
  std::string endpoint_;
  int fd_ = -1;
  int connections_ = 0;
};

}  // namespace fj
