#include "remote/daemon.hpp"

namespace fj {

namespace {
ExecOptions quick() {
  ExecOptions o;
  o.timeout_s = 30;
  return o;
}
// A killed daemon is re-parented to the machine's init, which may be slow to reap it (or never
// do it, in some containers): a zombie counts as dead.
const char* kAlive = "fj_alive() { ps -o stat= -p \"$1\" 2>/dev/null | grep -qv Z; }\n";
std::string alive_test(const std::string& pidfile) {
  const std::string q = shell_quote(pidfile);
  return "[ -s " + q + " ] && fj_alive \"$(cat " + q + ")\"";
}
}  // namespace

bool daemon_running(Remote& remote, const std::string& pidfile) {
  return remote.exec(kAlive + alive_test(pidfile), quick()).exit_status == 0;
}

bool start_daemon(Remote& remote, const DaemonSpec& spec) {
  const std::string pid = shell_quote(spec.pidfile);
  const std::string log = shell_quote(spec.logfile);
  std::string script =
      kAlive + ("if " + alive_test(spec.pidfile) + "; then echo running; exit 0; fi\n");
  script += "mkdir -p \"$(dirname " + pid + ")\" \"$(dirname " + log + ")\"\n";
  // setsid: the daemon leads its own process group, so signals reach everything it forks.
  script += "setsid bash -c " + shell_quote("exec " + spec.command) + " >>" + log +
            " 2>&1 </dev/null &\n";
  script += "echo $! > " + pid + "\necho started\n";
  ExecOptions o = spec.options;
  if (o.timeout_s <= 0 || o.timeout_s > 60) o.timeout_s = 60;
  return remote.check(script, o).out.find("started") != std::string::npos;
}

bool signal_daemon(Remote& remote, const std::string& pidfile, const std::string& signal) {
  const std::string q = shell_quote(pidfile);
  std::string script = kAlive + alive_test(pidfile) + " || exit 3\n";
  script += "p=$(cat " + q + ")\nkill -s " + shell_quote(signal) +
            " -- -$p 2>/dev/null || kill -s " + shell_quote(signal) + " $p\n";
  return remote.exec(script, quick()).exit_status == 0;
}

void stop_daemon(Remote& remote, const std::string& pidfile, double grace_s) {
  const std::string q = shell_quote(pidfile);
  std::string script = kAlive + ("if " + alive_test(pidfile) + "; then\n p=$(cat " + q + ")\n") +
                       " kill -TERM -- -$p 2>/dev/null || kill -TERM $p\n" + " for i in $(seq " +
                       std::to_string(static_cast<int>(grace_s * 10)) +
                       "); do fj_alive $p || break; sleep 0.1; done\n" +
                       " kill -KILL -- -$p 2>/dev/null; kill -KILL $p 2>/dev/null\nfi\n" +
                       "rm -f " + q + "\n";
  ExecOptions o = quick();
  o.timeout_s = grace_s + 30;
  remote.exec(script, o);
}

}  // namespace fj
