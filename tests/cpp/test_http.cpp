#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "poll/http.hpp"

// ---- The loopback HTTP server declared in loopback_server.hpp ------------------------------
#include "loopback_server.hpp"

namespace fj_test {

class LoopbackServer {
 public:
  explicit LoopbackServer(ServerHandler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0)
      throw std::runtime_error("loopback server: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard lk(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }
  std::vector<std::string> requests() const {
    std::lock_guard lk(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stop_) return;
        continue;
      }
      ++connections_;
      std::lock_guard lk(mu_);
      open_.push_back(fd);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Sleeps up to `s`, but not past the server's end.
  void nap(double s) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(s);
    while (!stop_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  void send_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  void serve(int fd) {
    std::string buf;
    char chunk[4096];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t length = 0;
      auto cl = head.find("Content-Length: ");
      if (cl != std::string::npos) length = std::stoul(head.substr(cl + 16));
      while (buf.size() < length) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return finish(fd);
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string body = buf.substr(0, length);
      buf.erase(0, length);
      std::string line = head.substr(0, head.find("\r\n"));
      std::string method = line.substr(0, line.find(' '));
      std::string target = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
      {
        std::lock_guard lk(mu_);
        requests_.push_back(method + " " + target + (body.empty() ? "" : " " + body));
      }
      ServerReply r = handler_(method, target);
      if (r.delay_s > 0) nap(r.delay_s);
      if (r.hang_up || stop_) return finish(fd);
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\n";
      out += "Content-Type: application/json; charset=UTF-8\r\n";
      if (r.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        for (size_t i = 0; i < r.body.size(); i += 7) {
          std::string piece = r.body.substr(i, 7);
          char size[16];
          std::snprintf(size, sizeof size, "%zx", piece.size());
          out += std::string(size) + (i == 0 ? ";ext=1" : "") + "\r\n" + piece + "\r\n";
        }
        out += "0\r\n\r\n";
      } else {
        out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
      }
      send_all(fd, out);
      if (r.close_after) return finish(fd);
    }
  }

  void finish(int fd) {
    std::lock_guard lk(mu_);
    open_.remove(fd);
    ::close(fd);
  }

  ServerHandler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::list<int> open_;
  std::vector<std::thread> workers_;
  std::vector<std::string> requests_;
};

std::shared_ptr<LoopbackServer> start_loopback_server(ServerHandler handler) {
  return std::make_shared<LoopbackServer>(std::move(handler));
}
int loopback_port(const LoopbackServer& s) { return s.port(); }
int loopback_connections(const LoopbackServer& s) { return s.connections(); }
std::vector<std::string> loopback_requests(const LoopbackServer& s) { return s.requests(); }

// A port nothing listens on: bound, then released.
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace fj_test

// ---- tests
// ----------------------------------------------------------------------------------------
namespace {

using fj_test::ServerReply;

const char* kJob = R"({"jid":"abc","state":"RUNNING","vertices":[{"status":"RUNNING"}]})";

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(Http, GetReadsContentLengthBodyAndHeaders) {
  auto srv = fj_test::start_loopback_server([](const std::string&, const std::string& target) {
    return ServerReply{200, target == "/jobs/abc" ? kJob : "{}"};
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  auto r = c.request("GET", "/jobs/abc");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, kJob);
  EXPECT_EQ(r.headers.at("content-type"), "application/json; charset=UTF-8");
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(std::string(kJob).size()));
  EXPECT_EQ(srv->requests(), std::vector<std::string>{"GET /jobs/abc"});
}

TEST(Http, KeepsTheConnectionAliveAcrossRequests) {
  auto srv = fj_test::start_loopback_server([](const std::string&, const std::string&) {
    return ServerReply{200, kJob};
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.request("GET", "/jobs/abc").status, 200);
  EXPECT_EQ(c.connections_opened(), 1);
  EXPECT_EQ(srv->connections(), 1);
}

TEST(Http, ReconnectsWhenTheServerClosedTheKeptConnection) {
  // Keep-alive answers, but the server drops the connection right after each one (an idle
  // timeout, a restarted JobManager): every request still succeeds, on a new connection.
  auto srv = fj_test::start_loopback_server([](const std::string&, const std::string&) {
    ServerReply r{200, kJob};
    r.close_after = true;
    return r;
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.request("GET", "/jobs/abc").body, kJob);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the close arrive
  }
  EXPECT_EQ(c.connections_opened(), 3);
}

TEST(Http, RetriesOnceWhenAKeptConnectionHangsUpOnTheRequest) {
  // The close races with the request: the server reads it and hangs up without an answer.
  std::atomic<int> calls{0};
  auto srv = fj_test::start_loopback_server([&](const std::string&, const std::string&) {
    ServerReply r{200, kJob};
    r.hang_up = ++calls == 2;
    return r;
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  EXPECT_EQ(c.request("GET", "/jobs/abc").status, 200);
  EXPECT_EQ(c.request("GET", "/jobs/abc").status, 200);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(c.connections_opened(), 2);
}

TEST(Http, DoesNotRetryAFreshConnectionThatHangsUp) {
  std::atomic<int> calls{0};
  auto srv = fj_test::start_loopback_server([&](const std::string&, const std::string&) {
    ++calls;
    ServerReply r;
    r.hang_up = true;
    return r;
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  try {
    c.request("GET", "/jobs/abc");
    FAIL() << "expected HttpError";
  } catch (const fj::HttpError& e) {
    EXPECT_EQ(e.reason(), "connection closed by the server before answering");
    EXPECT_TRUE(e.sent());
  }
  EXPECT_EQ(calls.load(), 1);
}

TEST(Http, ReadsChunkedBodies) {
  std::string big(5000, 'x');
  auto srv = fj_test::start_loopback_server([&](const std::string&, const std::string& target) {
    ServerReply r{200, target == "/big" ? big : kJob};
    r.chunked = true;
    return r;
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  EXPECT_EQ(c.request("GET", "/jobs/abc").body, kJob);
  EXPECT_EQ(c.request("GET", "/big").body, big);
  EXPECT_EQ(c.request("GET", "/jobs/abc").body, kJob);  // the stream is still in step
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST(Http, TimesOutOnASlowAnswer) {
  auto srv = fj_test::start_loopback_server([](const std::string&, const std::string&) {
    ServerReply r{200, kJob};
    r.delay_s = 3;
    return r;
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 0.2);
  auto t0 = std::chrono::steady_clock::now();
  try {
    c.request("GET", "/jobs/abc");
    FAIL() << "expected HttpError";
  } catch (const fj::HttpError& e) {
    EXPECT_EQ(e.reason(), "timed out after 0.2 s waiting for the answer");
    EXPECT_EQ(std::string(e.what()), "timed out after 0.2 s waiting for the answer at 127.0.0.1:" +
                                         std::to_string(srv->port()));
  }
  double took = since(t0);
  EXPECT_GE(took, 0.19);
  EXPECT_LT(took, 1.0);
}

TEST(Http, ReportsConnectionRefusedWithTheEndpoint) {
  int port = fj_test::unused_port();
  fj::HttpClient c("127.0.0.1", port, 1.0);
  try {
    c.request("GET", "/jobs/abc");
    FAIL() << "expected HttpError";
  } catch (const fj::HttpError& e) {
    EXPECT_EQ(std::string(e.what()), "connection refused at 127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(e.endpoint(), "127.0.0.1:" + std::to_string(port));
    EXPECT_FALSE(e.sent());
  }
}

TEST(Http, ResolvesHostNames) {
  // localhost may resolve to ::1 first, where nothing listens: the next address is tried.
  auto srv = fj_test::start_loopback_server([](const std::string&, const std::string&) {
    return ServerReply{200, kJob};
  });
  fj::HttpClient c("localhost", srv->port(), 2.0);
  EXPECT_EQ(c.request("GET", "/jobs/abc").status, 200);
  EXPECT_EQ(c.endpoint(), "localhost:" + std::to_string(srv->port()));
}

TEST(Http, PassesErrorStatusesAndSendsBodies) {
  auto srv = fj_test::start_loopback_server([](const std::string& method, const std::string& t) {
    if (method == "PATCH") return ServerReply{202, "{}"};
    if (t == "/jobs/gone") return ServerReply{404, R"({"errors":["Job not found"]})"};
    return ServerReply{503, R"({"errors":["ongoing leader election"]})"};
  });
  fj::HttpClient c("127.0.0.1", srv->port(), 2.0);
  EXPECT_EQ(c.request("GET", "/jobs/gone").status, 404);
  auto r = c.request("GET", "/jobs/abc");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("leader election"), std::string::npos);
  EXPECT_EQ(c.request("PATCH", "/jobs/abc?mode=cancel", "{\"a\":1}", "application/json").status,
            202);
  auto reqs = srv->requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2], "PATCH /jobs/abc?mode=cancel {\"a\":1}");
  EXPECT_EQ(c.connections_opened(), 1);
}

TEST(Http, TimesOutConnectingToAServerThatNeverAccepts) {
  // A listener with a full accept queue drops further SYNs: connect() hangs until the timeout.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  fj::HttpClient c("127.0.0.1", ntohs(a.sin_port), 0.3);
  auto t0 = std::chrono::steady_clock::now();
  try {
    c.request("GET", "/jobs/abc");
    ADD_FAILURE() << "expected HttpError";
  } catch (const fj::HttpError& e) {
    // Either the connect or (if the kernel completed the handshake anyway) the answer times out.
    EXPECT_EQ(std::string(e.reason()).rfind("timed out after 0.3 s", 0), 0u) << e.what();
  }
  EXPECT_LT(since(t0), 1.0);
  for (int fd : fillers) ::close(fd);
  ::close(lfd);
}

TEST(Http, ReportsAnUnresolvableHost) {
  fj::HttpClient c("no-such-host.invalid", 8081, 1.0);
  try {
    c.request("GET", "/jobs/abc");
    FAIL() << "expected HttpError";
  } catch (const fj::HttpError& e) {
    EXPECT_EQ(e.reason().rfind("cannot resolve host: ", 0), 0u) << e.what();
    EXPECT_EQ(e.endpoint(), "no-such-host.invalid:8081");
  }
}
