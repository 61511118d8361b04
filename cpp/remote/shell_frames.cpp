#include "remote/shell_frames.hpp"

#include <sys/random.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <system_error>

#include "remote/remote.hpp"

namespace fj {

namespace {

// The persistent shell. It acknowledges each command (marker, "+", its own pid, on stdout) before
// starting it, so a session lost before the acknowledgement means the command never ran and may
// be retried, and the client knows which process to send a timeout's USR1 and USR2. Its stdout
// is the channel's; its stderr goes to /dev/null (job notices of `set -m`, the probes' errors)
// with the channel's kept on fd 4. Each command gets the two as its 1 and 2, with /dev/null as
// stdin. `set -m` puts every command in its own process group, which the USR1/USR2 traps signal
// (TERM then CONT, and KILL) when the client's timeout fires. After a command ends the shell
// looks for processes still holding the channel's output: its process group, and any process
// started since it began (a `setsid` escapes the group) that has fd 1 or 4 of the shell open, but
// not the shell itself nor its parent (the sshd reading the pipes): once the pid counter comes
// round to their pids, they are in that range (which retired every shell each time it did). If it
// finds one (or cannot tell) it retires: frames, then exits, so the channel's end of file comes
// when the last holder closes, exactly as an exec channel's would. A process that ends while it
// is looked at holds nothing (other nodes' commands come and go in the same pid range: counting
// one whose fd directory vanished as "cannot tell" retired about one shell in 200 rounds). Every
// line the shell prints is one write (bash's stdout is line-buffered), so each is one SSH message
// at most. Given the path of the fj_holders builtin (shell_builtin.c) as its first argument, the
// shell loads it and looks with it; where it cannot be loaded, the look is the bash below.
constexpr const char* kShellScript = R"SH(exec 4>&2 2>/dev/null
set -m
_fj_b=0
if [ "$#" -gt 0 ]; then enable -f "$1" fj_holders && _fj_b=1; shift; fi
_fj_j=0
_fj_t=0
trap '_fj_t=1; [ "$_fj_j" -gt 0 ] && { kill -TERM -- "-$_fj_j"; kill -CONT -- "-$_fj_j"; }' USR1
trap '_fj_t=1; [ "$_fj_j" -gt 0 ] && kill -KILL -- "-$_fj_j"' USR2
while LC_ALL=C IFS= read -r -N 10 _fj_n && LC_ALL=C IFS= read -r -N "$((10#$_fj_n))" _fj_c; do
  _fj_m=${_fj_c%%$'\n'*}
  _fj_c=${_fj_c#*$'\n'}
  printf '%s+%d\n' "$_fj_m" "$$"
  _fj_t=0
  case $_fj_c in
    *'$$'* | *'${$}'*) bash -c "$_fj_c" </dev/null 2>&4 4>&- & ;;
    *) (set +m; eval "$_fj_c") </dev/null 2>&4 4>&- & ;;
  esac
  _fj_j=$!
  wait "$_fj_j"; _fj_s=$?
  while [ "$_fj_t" = 1 ]; do _fj_t=0; wait "$_fj_j"; _fj_s=$?; done
  _fj_r=k
  if [ "$_fj_b" = 1 ]; then fj_holders "$_fj_j" || _fj_r=r
  elif kill -0 -- "-$_fj_j"; then _fj_r=r
  elif ! read -r _fj_l </proc/sys/kernel/ns_last_pid || [ "$_fj_l" -lt "$_fj_j" ] ||
       [ $((_fj_l - _fj_j)) -gt 4096 ]; then _fj_r=r
  else
    _fj_p=$_fj_j
    while [ "$_fj_r" = k ] && [ "$_fj_p" -lt "$_fj_l" ]; do
      _fj_p=$((_fj_p + 1))
      [ "$_fj_p" != "$$" ] && [ "$_fj_p" != "$PPID" ] && [ -e "/proc/$_fj_p" ] || continue
      if [ ! -r "/proc/$_fj_p/fd" ]; then [ -e "/proc/$_fj_p" ] || continue; _fj_r=r; break; fi
      for _fj_f in "/proc/$_fj_p/fd/"*; do
        if [ "$_fj_f" -ef /proc/$$/fd/1 ] || [ "$_fj_f" -ef /proc/$$/fd/4 ]; then _fj_r=r; break; fi
      done
    done
  fi
  printf '%s %d %s\n' "$_fj_m" "$_fj_s" "$_fj_r"
  printf '%s %d %s\n' "$_fj_m" "$_fj_s" "$_fj_r" >&4
  [ "$_fj_r" = k ] || exit 0
done
)SH";

}  // namespace

std::string persistent_shell_command(const std::string& builtin) {
  static const std::string command = "exec bash --noprofile --norc -c " + shell_quote(kShellScript);
  if (builtin.empty()) return command;
  return command + " bash " + shell_quote(builtin);
}

std::string new_frame_marker() {
  // getrandom(2) rather than a std::random_device per thread: fan-out threads are short-lived,
  // and setting one up cost more than the rest of the marker.
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::system_error(errno, std::generic_category(), "getrandom");
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string marker = "fj";
  for (unsigned char b : bytes) {
    marker += kHex[b >> 4];
    marker += kHex[b & 0xf];
  }
  return marker;
}

std::string frame_request(const std::string& marker, const std::string& script) {
  const std::size_t body = marker.size() + 1 + script.size();
  char length[16];
  std::snprintf(length, sizeof length, "%010zu", body);
  std::string request;
  request.reserve(10 + body);
  request += length;
  request += marker;
  request += '\n';
  request += script;
  return request;
}

FramedStream::FramedStream(const std::string& marker, bool acknowledged)
    : key_(marker + " "), ack_key_(marker + "+"), acknowledged_(acknowledged) {}

void FramedStream::append(const char* data, std::size_t n) {
  text_.append(data, n);
  if (framed()) return;
  if (!acknowledged_) {
    const std::size_t ack = text_.find(ack_key_);
    if (ack == std::string::npos) return;
    const std::size_t end = text_.find('\n', ack + ack_key_.size());
    if (end == std::string::npos) return;
    const char* first = text_.data() + ack + ack_key_.size();
    const auto parsed = std::from_chars(first, text_.data() + end, shell_pid_);
    if (parsed.ec != std::errc() || parsed.ptr != text_.data() + end) shell_pid_ = 0;
    text_.erase(ack, end + 1 - ack);
    acknowledged_ = true;
    scan_from_ = ack;
  }
  const std::size_t at = text_.find(key_, scan_from_);
  if (at == std::string::npos) {
    // The key may begin in the last bytes: look there again once more arrive.
    scan_from_ = text_.size() >= key_.size() ? text_.size() - key_.size() + 1 : 0;
    return;
  }
  const std::size_t end = text_.find('\n', at + key_.size());
  if (end == std::string::npos) {
    scan_from_ = at;  // the frame's line is still arriving
    return;
  }
  // "<status> <k|r>": the shell prints nothing else after the key.
  const char* first = text_.data() + at + key_.size();
  const char* last = text_.data() + end;
  int status = -1;
  const auto parsed = std::from_chars(first, last, status);
  const bool well_formed = parsed.ec == std::errc() && last - parsed.ptr == 2 &&
                           parsed.ptr[0] == ' ' && (parsed.ptr[1] == 'k' || parsed.ptr[1] == 'r');
  retiring_ = !well_formed || parsed.ptr[1] == 'r';
  status_ = well_formed ? status : -1;
  text_.erase(at, end + 1 - at);
  frame_at_ = at;
}

}  // namespace fj
