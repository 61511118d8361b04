#include "remote/remote.hpp"

#include <sstream>

#include "remote/signal_matching.hpp"

namespace fj {

namespace {
std::string describe(const ExecResult& r) {
  std::ostringstream msg;
  msg << "on node " << r.node << ": command `" << r.command << "` ";
  if (r.timed_out) {
    msg << "timed out after " << r.seconds << " s and was killed";
  } else {
    msg << "exited with status " << r.exit_status;
  }
  const std::string tail = tail_lines(r.err, 10);
  if (!tail.empty()) msg << "; stderr tail:\n" << tail;
  return msg.str();
}
}  // namespace

RemoteError::RemoteError(ExecResult result)
    : std::runtime_error(describe(result)), result_(std::move(result)) {}

ExecResult Remote::check(const std::string& command, const ExecOptions& options) {
  ExecResult r = exec(command, options);
  if (!r.ok()) throw RemoteError(std::move(r));
  return r;
}

void Remote::upload_files(const std::vector<FileCopy>& files) {
  for (const auto& f : files) upload(f.local_path, f.remote_path);
}

std::vector<int> Remote::signal_matching(const std::vector<std::string>& patterns, int signal) {
  return signal_by_snippet(*this, PatternSet(patterns), signal);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

std::string wrap_command(const std::string& command, const ExecOptions& options) {
  std::string script;
  for (const auto& [key, value] : options.env) {
    script += "export " + key + "=" + shell_quote(value) + "\n";
  }
  if (!options.cwd.empty()) script += "cd " + shell_quote(options.cwd) + " || exit 125\n";
  script += command;
  if (options.sudo) return "sudo -n -- bash -c " + shell_quote(script);
  return script;
}

std::string tail_lines(const std::string& text, std::size_t max_lines) {
  std::size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  std::size_t pos = end;
  std::size_t lines = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++lines == max_lines) break;
    --pos;
  }
  return text.substr(pos, end - pos);
}

}  // namespace fj
