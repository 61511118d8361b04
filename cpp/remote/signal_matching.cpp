#include "remote/signal_matching.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace fj {

namespace {

constexpr std::array<std::pair<const char*, int>, 6> kSignals = {{
    {"KILL", SIGKILL},
    {"TERM", SIGTERM},
    {"STOP", SIGSTOP},
    {"CONT", SIGCONT},
    {"HUP", SIGHUP},
    {"INT", SIGINT},
}};

/// A file descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

/// A whole small /proc file, or "" if it cannot be read (the process is gone).
std::string read_proc_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return out;
}

/// The parent of a process from /proc/PID/stat (fields after the command name, which may hold
/// spaces and parentheses, so parsing starts after the last ')'); 0 when unknown.
int parent_of(int pid) {
  const std::string stat = read_proc_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  int ppid = 0;
  rest >> state >> ppid;
  return ppid;
}

/// This process and its ancestors: the caller is never a target, nor whoever started it.
std::set<int> own_lineage() {
  std::set<int> out;
  for (int pid = ::getpid(); pid > 1 && out.insert(pid).second;) pid = parent_of(pid);
  return out;
}

bool parse_pid(const char* text, int& pid) {
  const char* end = text + std::char_traits<char>::length(text);
  auto [ptr, ec] = std::from_chars(text, end, pid);
  return ec == std::errc() && ptr == end && pid > 0;
}

// Patterns come on stdin, one a line, so neither this script nor any shell running it carries
// them in its command line; a pattern that matches the script's text still never hits the
// snippet: its shell and ancestors (`own`) are skipped. With bash >= 4.4 the scan is builtins
// only (no process is started: the netns filter first, then the command line read by mapfile
// and matched by [[ =~ ]], the same regcomp ERE as pgrep); older shells use pgrep, whose helper
// subshells (children of $$) are skipped too (FJ_SCAN_WITH_PGREP=1 forces that path: tests).
// `[ a -ef b ]` compares namespace inodes.
constexpr const char* kSnippet = R"SH(me=/proc/$$/ns/net
parent() { FJ_PP=; local k v; while read -r k v; do [ "$k" = PPid: ] && { FJ_PP=$v; return; }; done 2>/dev/null </proc/$1/status; }
own=" $$ "; a=$$
while [ "$a" -gt 1 ]; do parent "$a"; [ -n "$FJ_PP" ] || break; own="$own$FJ_PP "; a=$FJ_PP; done
pats=(); while IFS= read -r pat; do [ -n "$pat" ] && pats+=("$pat"); done
hit() { case "$own" in *" $1 "*) return ;; esac; kill @KILL@ "$1" 2>/dev/null && { echo "$1"; own="$own$1 "; }; }
if [ -z "$FJ_SCAN_WITH_PGREP" ] && (( BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 404 )); then
  IFS=' '
  for d in /proc/[0-9]*; do
    [ "$d/ns/net" -ef "$me" ] || continue
    mapfile -d '' -t args 2>/dev/null <"$d/cmdline" || continue
    (( ${#args[@]} )) || continue
    cmd="${args[*]}"
    for pat in "${pats[@]}"; do [[ $cmd =~ $pat ]] && { hit "${d#/proc/}"; break; }; done
  done
else
  command -v pgrep >/dev/null || { echo "pgrep not found" >&2; exit 127; }
  for pat in "${pats[@]}"; do
    for p in $(pgrep -f -- "$pat"); do
      [ "/proc/$p/ns/net" -ef "$me" ] || continue
      parent "$p"; [ "$FJ_PP" = "$$" ] && continue
      hit "$p"
    done
  done
fi
true
)SH";

/// The snippet's stdin: all patterns alternated into one regex (one match per process, one pgrep);
/// one a line if any uses a back-reference, whose numbering the grouping would shift.
std::string snippet_input(const std::vector<std::string>& patterns) {
  const bool backrefs = std::any_of(patterns.begin(), patterns.end(), [](const std::string& p) {
    for (std::size_t i = 0; i + 1 < p.size(); ++i) {
      if (p[i] == '\\' && std::isdigit(static_cast<unsigned char>(p[i + 1]))) return true;
    }
    return false;
  });
  std::string input;
  for (const auto& p : patterns) {
    if (backrefs) {
      input += p + "\n";
    } else {
      input += (input.empty() ? "(" : "|(") + p + ")";
    }
  }
  return backrefs ? input : input + "\n";
}

}  // namespace

int signal_number(const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper = upper.substr(3);
  for (const auto& [known, number] : kSignals) {
    if (upper == known) return number;
  }
  int number = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (ec == std::errc() && ptr == name.data() + name.size() && !name.empty()) {
    validate_signal(number);
    return number;
  }
  throw std::invalid_argument("unknown signal '" + name +
                              "' (expected KILL, TERM, STOP, CONT, HUP, INT or a number)");
}

std::string signal_name(int signal) {
  for (const auto& [known, number] : kSignals) {
    if (number == signal) return known;
  }
  return std::to_string(signal);
}

void validate_signal(int signal) {
  if (signal < 1 || signal > 64) {
    throw std::invalid_argument("signal " + std::to_string(signal) + " is not between 1 and 64");
  }
}

class PatternSet::Regex {
 public:
  explicit Regex(const std::string& pattern) {
    int rc = ::regcomp(&re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
      char why[256];
      ::regerror(rc, &re_, why, sizeof why);
      throw std::invalid_argument("pattern '" + pattern + "' is not an extended regex: " + why);
    }
  }
  ~Regex() { ::regfree(&re_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  bool matches(const std::string& text) const {
    return ::regexec(&re_, text.c_str(), 0, nullptr, 0) == 0;
  }

 private:
  regex_t re_;
};

PatternSet::PatternSet(const std::vector<std::string>& patterns) {
  for (const auto& p : patterns) {
    if (p.empty()) throw std::invalid_argument("an empty pattern would match every process");
    if (p.find_first_of("\n\r") != std::string::npos) {
      throw std::invalid_argument("pattern '" + p + "' spans lines");
    }
    compiled_.push_back(std::make_unique<Regex>(p));
    sources_.push_back(p);
  }
}

PatternSet::~PatternSet() = default;

bool PatternSet::matches(const std::string& command_line) const {
  return std::any_of(compiled_.begin(), compiled_.end(),
                     [&](const auto& re) { return re->matches(command_line); });
}

std::string process_command_line(int pid) {
  std::string cmd = read_proc_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmd.empty() && cmd.back() == '\0') cmd.pop_back();
  std::replace(cmd.begin(), cmd.end(), '\0', ' ');
  return cmd;
}

std::vector<int> signal_in_netns(const std::string& netns_path, const PatternSet& patterns,
                                 int signal) {
  validate_signal(signal);
  std::vector<int> out;
  if (patterns.empty()) return out;
  struct stat target {};
  if (::stat(netns_path.c_str(), &target) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot read " + netns_path);
  }
  const std::set<int> own = own_lineage();
  std::unique_ptr<DIR, DirCloser> proc(::opendir("/proc"));
  if (!proc) throw std::system_error(errno, std::generic_category(), "cannot list /proc");
  while (const dirent* entry = ::readdir(proc.get())) {
    int pid = 0;
    if (!parse_pid(entry->d_name, pid) || own.count(pid)) continue;
    const std::string dir = std::string("/proc/") + entry->d_name;
    struct stat ns {};
    if (::stat((dir + "/ns/net").c_str(), &ns) != 0) continue;  // gone (or a kernel thread)
    if (ns.st_ino != target.st_ino || ns.st_dev != target.st_dev) continue;
    const std::string cmd = process_command_line(pid);
    if (cmd.empty() || !patterns.matches(cmd)) continue;
    if (::kill(pid, signal) == 0) {
      out.push_back(pid);
    } else if (errno != ESRCH) {
      spdlog::warn("cannot signal process {} ({}): {}", pid, cmd, std::strerror(errno));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> signal_by_snippet(Remote& remote, const PatternSet& patterns, int signal) {
  validate_signal(signal);
  std::vector<int> out;
  if (patterns.empty()) return out;
  const std::string name = signal_name(signal);
  const std::string kill_arg =
      name == std::to_string(signal) ? "-n " + name : "-s " + name;  // names travel across arches
  std::string script = kSnippet;
  script.replace(script.find("@KILL@"), 6, kill_arg);
  ExecOptions options;
  options.timeout_s = 30;
  options.stdin_data = snippet_input(patterns.sources());
  const ExecResult r = remote.check(script, options);
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    int pid = 0;
    if (parse_pid(line.c_str(), pid)) out.push_back(pid);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace fj
