#include "poll/http.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace fj {

namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string format_seconds(double s) {
  char tmp[32];
  if (std::fabs(s * 10 - std::round(s * 10)) < 1e-9)
    std::snprintf(tmp, sizeof tmp, "%.1f", s);
  else
    std::snprintf(tmp, sizeof tmp, "%.3g", s);
  return tmp;
}

std::string errno_reason(int e) {
  switch (e) {
    case ECONNREFUSED:
      return "connection refused";
    case ECONNRESET:
      return "connection reset";
    case EHOSTUNREACH:
      return "host unreachable";
    case ENETUNREACH:
      return "network unreachable";
    case ETIMEDOUT:
      return "connection timed out";
    default:
      return std::strerror(e);
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Owns a socket while connect() may still give up on it.
class SocketGuard {
 public:
  explicit SocketGuard(int fd) : fd_(fd) {}
  ~SocketGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  SocketGuard(const SocketGuard&) = delete;
  SocketGuard& operator=(const SocketGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// The kept connection turned out closed before any byte of the answer: worth one more try.
struct ClosedBeforeAnswer {};

// Remaining milliseconds for poll(), at least 0.
int remaining_ms(double deadline) {
  double left = deadline - now_s();
  return left <= 0 ? 0 : static_cast<int>(std::ceil(left * 1000));
}

}  // namespace

HttpClient::HttpClient(std::string host, int port, double timeout_s)
    : host_(std::move(host)), port_(port), timeout_s_(timeout_s) {
  bool v6 = host_.find(':') != std::string::npos;
  endpoint_ = (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

HttpClient::~HttpClient() { disconnect(); }

void HttpClient::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void HttpClient::fail(const std::string& reason, bool sent) {
  disconnect();
  throw HttpError(endpoint_, reason, sent);
}

void HttpClient::connect(double deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string port = std::to_string(port_);
  int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) fail(std::string("cannot resolve host: ") + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addrs(found, &::freeaddrinfo);

  std::string last = "no address to connect to";
  for (addrinfo* a = addrs.get(); a; a = a->ai_next) {
    SocketGuard sock(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (sock.get() < 0) {
      last = errno_reason(errno);
      continue;
    }
    int err = 0;
    if (::connect(sock.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = errno_reason(errno);
        continue;
      }
      pollfd p{sock.get(), POLLOUT, 0};
      int n;
      do {
        n = ::poll(&p, 1, remaining_ms(deadline));
      } while (n < 0 && errno == EINTR);
      if (n == 0) fail("timed out after " + format_seconds(timeout_s_) + " s connecting");
      socklen_t len = sizeof err;
      if (n < 0 || ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        last = errno_reason(err);
        continue;
      }
    }
    int one = 1;
    ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = sock.release();
    ++connections_;
    return;
  }
  fail(last);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& path,
                                 const std::string& body, const std::string& content_type) {
  double deadline = now_s() + timeout_s_;
  std::string req;
  req.reserve(160 + path.size() + body.size());
  req += method;
  req += ' ';
  req += path.empty() ? "/" : path;
  req += " HTTP/1.1\r\nHost: ";
  req += endpoint_;
  req += "\r\nUser-Agent: flink-jepsen\r\nAccept: application/json\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || (method != "GET" && method != "HEAD" && method != "DELETE"))
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;

  // A kept connection the server has closed (idle timeout, restart) shows up readable: drop it
  // now rather than lose the request to it.
  bool reused = fd_ >= 0;
  if (reused) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) {
      disconnect();
      reused = false;
    }
  }
  if (fd_ < 0) connect(deadline);
  bool nothing = true;
  try {
    return exchange(req, method, deadline, nothing);
  } catch (const ClosedBeforeAnswer&) {
    disconnect();
    if (!reused) fail("connection closed by the server before answering", true);
  }
  // The server closed the kept connection as we used it: once more on a new one.
  connect(deadline);
  try {
    return exchange(req, method, deadline, nothing);
  } catch (const ClosedBeforeAnswer&) {
    fail("connection closed by the server before answering", true);
  }
}

HttpResponse HttpClient::exchange(const std::string& request, const std::string& method,
                                  double deadline, bool& nothing_received) {
  bool sent = false;
  auto timed_out = [&]() {
    fail("timed out after " + format_seconds(timeout_s_) + " s waiting for the answer", sent);
  };
  auto wait_for = [&](short events) {
    pollfd p{fd_, events, 0};
    for (;;) {
      int n = ::poll(&p, 1, remaining_ms(deadline));
      if (n > 0) return;
      if (n == 0) timed_out();
      if (errno != EINTR) fail(std::string("poll: ") + std::strerror(errno), sent);
    }
  };

  // Send.
  const char* p = request.data();
  size_t left = request.size();
  while (left > 0) {
    ssize_t n = ::send(fd_, p, left, MSG_NOSIGNAL);
    if (n >= 0) {
      p += n;
      left -= static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(POLLOUT);
      continue;
    }
    if (errno == EPIPE || errno == ECONNRESET) throw ClosedBeforeAnswer{};
    fail(errno_reason(errno) + " while sending", sent);
  }

  // Receive, through one buffer; `pos` is what has been consumed. From here on the server may
  // have acted on the request, whatever goes wrong.
  sent = true;
  std::string buf;
  size_t pos = 0;
  bool eof = false;
  auto fill = [&]() -> bool {  // false on EOF
    char chunk[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buf.append(chunk, static_cast<size_t>(n));
        nothing_received = false;
        return true;
      }
      if (n == 0) {
        eof = true;
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        wait_for(POLLIN);
        continue;
      }
      if (errno == ECONNRESET && nothing_received) throw ClosedBeforeAnswer{};
      fail(errno_reason(errno) + " while reading the answer", sent);
    }
  };
  auto closed_early = [&]() {
    if (nothing_received) throw ClosedBeforeAnswer{};
    fail("connection closed in the middle of the answer", sent);
  };
  auto read_line = [&]() -> std::string {
    for (;;) {
      size_t e = buf.find("\r\n", pos);
      if (e != std::string::npos) {
        std::string line = buf.substr(pos, e - pos);
        pos = e + 2;
        return line;
      }
      if (buf.size() - pos > kMaxHeaderBytes) fail("answer line too long", sent);
      if (!fill()) closed_early();
    }
  };
  auto need = [&](size_t n) {
    while (buf.size() - pos < n)
      if (!fill()) closed_early();
  };

  HttpResponse resp;
  bool keep_alive = true;
  for (;;) {  // 1xx answers precede the real one
    std::string status = read_line();
    // "HTTP/1.1 200 OK"
    if (status.rfind("HTTP/1.", 0) != 0 || status.size() < 12)
      fail("malformed status line '" + status.substr(0, 80) + "'", sent);
    int code = 0;
    auto r = std::from_chars(status.data() + 9, status.data() + 12, code);
    if (r.ec != std::errc() || r.ptr != status.data() + 12)
      fail("malformed status line '" + status.substr(0, 80) + "'", sent);
    bool http10 = status[7] == '0';
    resp.status = code;
    resp.headers.clear();
    size_t header_bytes = 0;
    for (;;) {
      std::string line = read_line();
      if (line.empty()) break;
      header_bytes += line.size();
      if (header_bytes > kMaxHeaderBytes) fail("answer headers too large", sent);
      size_t colon = line.find(':');
      if (colon == std::string::npos)
        fail("malformed header line '" + line.substr(0, 80) + "'", sent);
      std::string name = lower(line.substr(0, colon));
      std::string value = trim(std::string_view(line).substr(colon + 1));
      auto [it, fresh] = resp.headers.emplace(name, value);
      if (!fresh) it->second += ", " + value;
    }
    std::string connection =
        resp.headers.count("connection") ? lower(resp.headers["connection"]) : "";
    keep_alive = http10 ? connection.find("keep-alive") != std::string::npos
                        : connection.find("close") == std::string::npos;
    if (code >= 100 && code < 200 && code != 101) continue;
    break;
  }

  int code = resp.status;
  auto te = resp.headers.find("transfer-encoding");
  auto cl = resp.headers.find("content-length");
  if (method == "HEAD" || code == 204 || code == 304) {
    // no body
  } else if (te != resp.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
    for (;;) {
      std::string line = read_line();
      std::string_view size_text(line);
      size_text = size_text.substr(0, size_text.find(';'));
      std::string hex = trim(size_text);
      size_t size = 0;
      auto r = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
      if (hex.empty() || r.ec != std::errc() || r.ptr != hex.data() + hex.size())
        fail("malformed chunk size '" + line.substr(0, 40) + "'", sent);
      if (size == 0) {
        while (!read_line().empty()) {
        }  // trailers, ignored
        break;
      }
      need(size + 2);
      resp.body.append(buf, pos, size);
      if (buf.compare(pos + size, 2, "\r\n") != 0)
        fail("malformed chunk (no CRLF after data)", sent);
      pos += size + 2;
    }
  } else if (cl != resp.headers.end()) {
    size_t length = 0;
    const std::string& t = cl->second;
    auto r = std::from_chars(t.data(), t.data() + t.size(), length);
    if (t.empty() || r.ec != std::errc() || r.ptr != t.data() + t.size())
      fail("malformed Content-Length '" + t + "'", sent);
    need(length);
    resp.body.assign(buf, pos, length);
    pos += length;
  } else {
    // Delimited by the end of the connection.
    while (!eof) fill();
    resp.body.assign(buf, pos, std::string::npos);
    pos = buf.size();
    keep_alive = false;
  }
  // Bytes beyond the answer mean we lost track of the stream: never reuse it.
  if (!keep_alive || pos != buf.size()) disconnect();
  return resp;
}

}  // namespace fj
