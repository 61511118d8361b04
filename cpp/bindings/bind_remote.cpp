// Bindings of cpp/remote: commands on nodes (ExecResult, Remote and its kinds), fan-out, daemons,
// and signalling processes by command line. Everything that touches a node releases the GIL.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"
#include "remote/daemon.hpp"
#include "remote/fanout.hpp"
#include "remote/process_remote.hpp"
#include "remote/ssh_remote.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace {

fj::ExecOptions make_options(double timeout, const std::map<std::string, std::string>& env,
                             const std::string& cwd, const std::optional<std::string>& stdin_data,
                             bool sudo) {
  fj::ExecOptions o;
  o.timeout_s = timeout;
  o.env = env;
  o.cwd = cwd;
  o.stdin_data = stdin_data;
  o.sudo = sudo;
  return o;
}

std::vector<fj::FileCopy> file_copies(
    const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<fj::FileCopy> files;
  files.reserve(pairs.size());
  for (const auto& [local, remote] : pairs) files.push_back({local, remote});
  return files;
}

#define FJ_EXEC_ARGS                                                                \
  "timeout"_a = 60.0, "env"_a = std::map<std::string, std::string>{}, "cwd"_a = "", \
  "stdin"_a = std::nullopt, "sudo"_a = false

}  // namespace

namespace fj::bindings {

void bind_remote(py::module_& m) {
  // ---- remotes ------------------------------------------------------------------------------
  py::class_<fj::ExecResult>(m, "ExecResult")
      .def(py::init<>())
      .def_readwrite("node", &fj::ExecResult::node)
      .def_readwrite("command", &fj::ExecResult::command)
      .def_readwrite("exit_status", &fj::ExecResult::exit_status)
      .def_readwrite("out", &fj::ExecResult::out)
      .def_readwrite("err", &fj::ExecResult::err)
      .def_readwrite("timed_out", &fj::ExecResult::timed_out)
      .def_readwrite("seconds", &fj::ExecResult::seconds)
      .def_property_readonly("ok", &fj::ExecResult::ok)
      .def("__repr__", [](const fj::ExecResult& r) {
        return "<ExecResult node=" + r.node + " exit=" + std::to_string(r.exit_status) +
               (r.timed_out ? " timed_out" : "") + ">";
      });

  py::class_<fj::Remote, std::shared_ptr<fj::Remote>>(m, "Remote")
      .def_property_readonly("node", &fj::Remote::node)
      .def(
          "exec",
          [](fj::Remote& r, const std::string& cmd, double timeout,
             const std::map<std::string, std::string>& env, const std::string& cwd,
             const std::optional<std::string>& stdin_data, bool sudo) {
            auto o = make_options(timeout, env, cwd, stdin_data, sudo);
            py::gil_scoped_release release;
            return r.exec(cmd, o);
          },
          "command"_a, FJ_EXEC_ARGS,
          "Runs a bash command; returns an ExecResult, never raises "
          "for a non-zero exit.")
      .def(
          "check",
          [](fj::Remote& r, const std::string& cmd, double timeout,
             const std::map<std::string, std::string>& env, const std::string& cwd,
             const std::optional<std::string>& stdin_data, bool sudo) {
            auto o = make_options(timeout, env, cwd, stdin_data, sudo);
            py::gil_scoped_release release;
            return r.check(cmd, o);
          },
          "command"_a, FJ_EXEC_ARGS, "Like exec, but raises RemoteError unless it exits 0 in time.")
      .def("upload", &fj::Remote::upload, "local_path"_a, "remote_path"_a,
           py::call_guard<py::gil_scoped_release>())
      .def(
          "upload_files",
          [](fj::Remote& r, const std::vector<std::pair<std::string, std::string>>& files) {
            auto copies = file_copies(files);
            py::gil_scoped_release release;
            r.upload_files(copies);
          },
          "files"_a, "Copies (local_path, remote_path) pairs to the node, as upload does each.")
      .def("download", &fj::Remote::download, "remote_path"_a, "local_path"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("disconnect", &fj::Remote::disconnect, py::call_guard<py::gil_scoped_release>())
      .def(
          "signal_matching",
          [](fj::Remote& r, const std::vector<std::string>& patterns, py::object signal) {
            const int number = signal_of(signal);
            py::gil_scoped_release release;
            return r.signal_matching(patterns, number);
          },
          "patterns"_a, "signal"_a = "KILL",
          "Signals (by name: KILL, TERM, STOP, CONT, HUP, INT, or number) every process of this "
          "node whose command line matches one of the patterns (extended regexes, as pgrep -f), "
          "never the caller's own; returns the pids signalled, sorted.");

  py::class_<fj::ProcessRemote, fj::Remote, std::shared_ptr<fj::ProcessRemote>>(m, "ProcessRemote")
      .def("host_path", &fj::ProcessRemote::host_path, "path"_a,
           "Where a path of this node is on the control machine (a local node's own /tmp, /var/tmp "
           "and /opt are directories of its tree); raises RemoteConnectionError for a path the "
           "node cannot see.");
  py::class_<fj::LocalRemote, fj::ProcessRemote, std::shared_ptr<fj::LocalRemote>>(m, "LocalRemote")
      .def(py::init<std::string>(), "node"_a = "control");
  py::class_<fj::NetnsRemote, fj::ProcessRemote, std::shared_ptr<fj::NetnsRemote>>(m, "NetnsRemote")
      .def(py::init([](std::string node, std::string netns, std::string uts_file,
                       std::string mount_file, std::vector<fj::PathMap::Entry> paths) {
             return std::make_shared<fj::NetnsRemote>(std::move(node), std::move(netns),
                                                      std::move(uts_file), std::move(mount_file),
                                                      fj::PathMap(std::move(paths)));
           }),
           "node"_a, "netns"_a, "uts_file"_a, "mount_file"_a = "",
           "paths"_a = std::vector<fj::PathMap::Entry>{},
           "paths: (node prefix, host prefix) pairs, an empty host prefix hiding the node prefix "
           "(PathMap); upload and download copy to and from the host paths they give.");

  py::class_<fj::SshRemote, fj::Remote, std::shared_ptr<fj::SshRemote>>(m, "SshRemote")
      .def(py::init([](std::string node, std::string host, int port, std::string username,
                       std::string password, std::string private_key, std::string host_key_policy,
                       std::string known_hosts, double connect_timeout, int retries,
                       std::string shell_builtin, std::string shell_builtin_upload) {
             fj::SshConfig c;
             c.host = std::move(host);
             c.port = port;
             c.username = std::move(username);
             c.password = std::move(password);
             c.private_key_path = std::move(private_key);
             c.host_key_policy = std::move(host_key_policy);
             c.known_hosts_path = std::move(known_hosts);
             c.connect_timeout_s = connect_timeout;
             c.retries = retries;
             c.shell_builtin = std::move(shell_builtin);
             c.shell_builtin_upload = std::move(shell_builtin_upload);
             return std::make_shared<fj::SshRemote>(std::move(node), std::move(c));
           }),
           "node"_a, "host"_a, "port"_a = 22, "username"_a = "root", "password"_a = "",
           "private_key"_a = "", "host_key_policy"_a = "no", "known_hosts"_a = "",
           "connect_timeout"_a = 10.0, "retries"_a = 3, "shell_builtin"_a = "",
           "shell_builtin_upload"_a = "",
           "shell_builtin: the node's path of the persistent shell's fj_holders builtin; empty: "
           "the shell's look in bash. shell_builtin_upload: this machine's copy "
           "(flink_jepsen.nodes.remotes.shell_builtin()), put on the host before the first "
           "command, at shell_builtin or else under ~/.cache/flink-jepsen, named by its bytes.")
      .def_property_readonly(
          "shell_builtin_path", [](const fj::SshRemote& r) { return r.config().shell_builtin; },
          "The node's path of the builtin its shells load (empty: none).");

  m.def(
      "fan_out",
      [](const std::vector<fj::RemotePtr>& remotes, const std::string& cmd, double timeout,
         const std::map<std::string, std::string>& env, const std::string& cwd,
         const std::optional<std::string>& stdin_data, bool sudo) {
        auto o = make_options(timeout, env, cwd, stdin_data, sudo);
        py::gil_scoped_release release;
        return fj::fan_out(remotes, cmd, o);
      },
      "remotes"_a, "command"_a, FJ_EXEC_ARGS,
      "Runs a command on every remote concurrently; one ExecResult per remote, in order.");
  m.def(
      "fan_out_check",
      [](const std::vector<fj::RemotePtr>& remotes, const std::string& cmd, double timeout,
         const std::map<std::string, std::string>& env, const std::string& cwd,
         const std::optional<std::string>& stdin_data, bool sudo) {
        auto o = make_options(timeout, env, cwd, stdin_data, sudo);
        py::gil_scoped_release release;
        return fj::fan_out_check(remotes, cmd, o);
      },
      "remotes"_a, "command"_a, FJ_EXEC_ARGS,
      "Like fan_out, but raises RemoteError naming the first node that failed.");

  m.def(
      "upload_to_all",
      [](const std::vector<fj::RemotePtr>& remotes,
         const std::vector<std::pair<std::string, std::string>>& files) {
        auto copies = file_copies(files);
        py::gil_scoped_release release;
        fj::upload_to_all(remotes, copies);
      },
      "remotes"_a, "files"_a,
      "Copies (local_path, remote_path) pairs to every remote concurrently; raises the first "
      "node's error (node order).");

  // ---- daemons ------------------------------------------------------------------------------
  m.def(
      "start_daemon",
      [](fj::Remote& r, const std::string& command, const std::string& pidfile,
         const std::string& logfile, const std::map<std::string, std::string>& env,
         const std::string& cwd) {
        fj::DaemonSpec spec{command, pidfile, logfile, make_options(60, env, cwd, {}, false)};
        py::gil_scoped_release release;
        return fj::start_daemon(r, spec);
      },
      "remote"_a, "command"_a, "pidfile"_a, "logfile"_a,
      "env"_a = std::map<std::string, std::string>{}, "cwd"_a = "");
  m.def("daemon_running", &fj::daemon_running, "remote"_a, "pidfile"_a,
        py::call_guard<py::gil_scoped_release>());
  m.def("signal_daemon", &fj::signal_daemon, "remote"_a, "pidfile"_a, "signal"_a,
        py::call_guard<py::gil_scoped_release>());
  m.def("stop_daemon", &fj::stop_daemon, "remote"_a, "pidfile"_a, "grace"_a = 10.0,
        py::call_guard<py::gil_scoped_release>());
}

}  // namespace fj::bindings
