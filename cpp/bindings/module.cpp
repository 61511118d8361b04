// The thin pybind11 layer: types and calls of the core, with the GIL released around everything
// that waits on a node, and C++ errors turned into Python exceptions that keep their details.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "common/log.hpp"
#include "nemesis/grudge.hpp"
#include "nemesis/partition.hpp"
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

#define FJ_EXEC_ARGS                                                                       \
  "timeout"_a = 60.0, "env"_a = std::map<std::string, std::string>{}, "cwd"_a = "", \
  "stdin"_a = std::nullopt, "sudo"_a = false

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "flink-jepsen's C++ core: remotes, fan-out, nemesis, logging";

  // ---- errors -------------------------------------------------------------------------------
  // Exception types live as long as the interpreter: created once, never freed.
  static PyObject* remote_error =
      PyErr_NewException("flink_jepsen._core.RemoteError", PyExc_RuntimeError, nullptr);
  static PyObject* connection_error = PyErr_NewException(
      "flink_jepsen._core.RemoteConnectionError", PyExc_ConnectionError, nullptr);
  m.add_object("RemoteError", py::handle(remote_error));
  m.add_object("RemoteConnectionError", py::handle(connection_error));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const fj::RemoteError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(remote_error)(e.what());
      exc.attr("result") = py::cast(e.result());
      PyErr_SetObject(remote_error, exc.ptr());
    } catch (const fj::ConnectionError& e) {
      py::object exc = py::reinterpret_borrow<py::object>(connection_error)(e.what());
      exc.attr("node") = e.node();
      PyErr_SetObject(connection_error, exc.ptr());
    }
  });

  // ---- logging ------------------------------------------------------------------------------
  m.def("log_configure", &fj::log::configure, "console_level"_a = "info");
  m.def("log_open_file", &fj::log::open_file, "path"_a, "file_level"_a = "debug");
  m.def("log_close_file", &fj::log::close_file);
  m.def("log_write", &fj::log::write, "level"_a, "name"_a, "message"_a);
  m.def("log_flush", &fj::log::flush);

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
          "command"_a, FJ_EXEC_ARGS, "Runs a bash command; returns an ExecResult, never raises "
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
      .def("download", &fj::Remote::download, "remote_path"_a, "local_path"_a,
           py::call_guard<py::gil_scoped_release>())
      .def("disconnect", &fj::Remote::disconnect, py::call_guard<py::gil_scoped_release>());

  py::class_<fj::ProcessRemote, fj::Remote, std::shared_ptr<fj::ProcessRemote>>(m,
                                                                                 "ProcessRemote");
  py::class_<fj::LocalRemote, fj::ProcessRemote, std::shared_ptr<fj::LocalRemote>>(m,
                                                                                 "LocalRemote")
      .def(py::init<std::string>(), "node"_a = "control");
  py::class_<fj::NetnsRemote, fj::ProcessRemote, std::shared_ptr<fj::NetnsRemote>>(m,
                                                                                 "NetnsRemote")
      .def(py::init<std::string, std::string, std::string>(), "node"_a, "netns"_a, "uts_file"_a);

  py::class_<fj::SshRemote, fj::Remote, std::shared_ptr<fj::SshRemote>>(m, "SshRemote")
      .def(py::init([](std::string node, std::string host, int port, std::string username,
                       std::string password, std::string private_key, std::string host_key_policy,
                       std::string known_hosts, double connect_timeout, int retries) {
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
             return std::make_shared<fj::SshRemote>(std::move(node), std::move(c));
           }),
           "node"_a, "host"_a, "port"_a = 22, "username"_a = "root", "password"_a = "",
           "private_key"_a = "", "host_key_policy"_a = "no", "known_hosts"_a = "",
           "connect_timeout"_a = 10.0, "retries"_a = 3);

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

  // ---- partitions ---------------------------------------------------------------------------
  m.def("complete_grudge", &fj::complete_grudge, "components"_a);
  m.def("bisect", &fj::bisect, "nodes"_a);
  m.def("split_one", &fj::split_one, "nodes"_a, "loner"_a);
  m.def("random_halves", &fj::random_halves, "nodes"_a, "seed"_a);
  m.def("bridge", &fj::bridge, "nodes"_a);
  m.def("majorities_ring", &fj::majorities_ring, "nodes"_a, "seed"_a);
  m.def("cut_between", &fj::cut_between, "a"_a, "b"_a);
  m.def("validate_grudge", &fj::validate_grudge, "grudge"_a, "nodes"_a);

  py::class_<fj::Partitioner, std::shared_ptr<fj::Partitioner>>(m, "Partitioner")
      .def(py::init<std::map<std::string, fj::RemotePtr>, std::map<std::string, std::string>>(),
           "remotes"_a, "addresses"_a)
      .def("setup", &fj::Partitioner::setup, py::call_guard<py::gil_scoped_release>())
      .def("drop", &fj::Partitioner::drop, "grudge"_a, py::call_guard<py::gil_scoped_release>())
      .def("heal", &fj::Partitioner::heal, py::call_guard<py::gil_scoped_release>())
      .def("teardown", &fj::Partitioner::teardown, py::call_guard<py::gil_scoped_release>())
      .def("current", &fj::Partitioner::current)
      .def_property_readonly("nodes", &fj::Partitioner::nodes);


  fj::bindings::bind_history(m);
}
