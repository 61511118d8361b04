// Bindings of cpp/nemesis: grudge shapes, the Partitioner and the FaultInjector (faults carried
// out and recorded by the core). Everything that touches a node releases the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "bindings/convert.hpp"
#include "nemesis/clock.hpp"
#include "nemesis/faults.hpp"
#include "nemesis/grudge.hpp"
#include "nemesis/partition.hpp"
#include "nemesis/shapes.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace fj::bindings {

void bind_nemesis(py::module_& m) {
  // ---- partitions ---------------------------------------------------------------------------
  m.def("complete_grudge", &fj::complete_grudge, "components"_a);
  m.def("bisect", &fj::bisect, "nodes"_a);
  m.def("split_one", &fj::split_one, "nodes"_a, "loner"_a);
  m.def("random_halves", &fj::random_halves, "nodes"_a, "seed"_a);
  m.def("bridge", &fj::bridge, "nodes"_a);
  m.def("majorities_ring", &fj::majorities_ring, "nodes"_a, "seed"_a);
  m.def("cut_between", &fj::cut_between, "a"_a, "b"_a);
  m.def("validate_grudge", &fj::validate_grudge, "grudge"_a, "nodes"_a);
  m.def(
      "plan_partition",
      [](const py::dict& shape, const std::vector<std::string>& nodes) {
        auto plan = fj::plan_partition(to_json(shape), nodes);
        return py::dict(to_py(nlohmann::json{{"grudge", fj::grudge_to_json(plan.grudge)},
                                             {"shape", plan.description}}));
      },
      "shape"_a, "nodes"_a,
      "The grudge and description a partition shape gives over these nodes, as "
      "FaultInjector.partition computes it (nothing is applied). ValueError for a bad shape.");

  m.attr("FAKETIME_LIBRARY") = fj::kFaketimeLibrary;
  m.attr("PACKET_PROBE") = fj::kPacketProbe;
  m.def("scrub_command", &fj::scrub_command,
        "The bash that empties every chain the faults fill (for a run's start).");
  m.def(
      "parse_packet_capabilities",
      [](const std::string& out) {
        const auto caps = fj::parse_capabilities(out);
        return std::vector<std::string>(caps.begin(), caps.end());
      },
      "probe_output"_a, "The packet faults a node's PACKET_PROBE output says it can carry out.");
  m.def("faketime_spec", &fj::faketime_spec, "offset"_a,
        "libfaketime's spec of a clock offset in seconds ('+12.500000s').");

  py::class_<fj::Partitioner, std::shared_ptr<fj::Partitioner>>(m, "Partitioner")
      .def(py::init<std::map<std::string, fj::RemotePtr>, std::map<std::string, std::string>>(),
           "remotes"_a, "addresses"_a)
      .def("setup", &fj::Partitioner::setup, py::call_guard<py::gil_scoped_release>())
      .def("drop", &fj::Partitioner::drop, "grudge"_a, py::call_guard<py::gil_scoped_release>())
      .def("heal", &fj::Partitioner::heal, py::call_guard<py::gil_scoped_release>())
      .def("teardown", &fj::Partitioner::teardown, py::call_guard<py::gil_scoped_release>())
      .def("current", &fj::Partitioner::current)
      .def_property_readonly("nodes", &fj::Partitioner::nodes);

  // ---- faults -------------------------------------------------------------------------------
  py::class_<fj::FaultInjector, std::shared_ptr<fj::FaultInjector>>(
      m, "FaultInjector",
      "Faults carried out by the core, each recorded as an invoke and its completion (info with "
      "the outcome, or fail with an error when it had no effect) of process 'nemesis'.")
      .def(py::init<std::map<std::string, fj::RemotePtr>, std::map<std::string, std::string>,
                    std::shared_ptr<fj::HistoryRecorder>>(),
           "remotes"_a, "addresses"_a, "history"_a)
      .def("setup", &fj::FaultInjector::setup, py::call_guard<py::gil_scoped_release>(),
           "Creates the partition chain on every node (not recorded).")
      .def("teardown", &fj::FaultInjector::teardown, py::call_guard<py::gil_scoped_release>(),
           "Removes the partition chain from every node (not recorded).")
      .def(
          "signal",
          [](fj::FaultInjector& fi, const std::string& f,
             const std::map<std::string, std::vector<std::string>>& targets, py::object signal,
             py::object value) {
            const int number = signal_of(signal);
            json v = to_json(value);
            json outcome;
            {
              py::gil_scoped_release release;
              outcome = fi.signal(f, targets, number, std::move(v));
            }
            return py::dict(to_py(outcome));
          },
          "f"_a, "targets"_a, "signal"_a = "KILL", "value"_a = py::none(),
          "Signals the processes matching each node's patterns (targets: node -> patterns), all "
          "nodes at once. value: the invoke's value (None: {'nodes': [...]}). Returns the outcome: "
          "{'nodes', 'signal', 'killed' (KILL, TERM) or 'signalled': {node: [pids]}, 'errors' "
          "(nodes whose remote failed)}, with 'error' when it was recorded as a fail.")
      .def(
          "partition",
          [](fj::FaultInjector& fi, const std::string& f, const py::dict& shape) {
            json s = to_json(shape);
            json outcome;
            {
              py::gil_scoped_release release;
              outcome = fi.partition(f, s);
            }
            return py::dict(to_py(outcome));
          },
          "f"_a, "shape"_a,
          "Cuts the network as the shape says ({'shape': 'random-halves', 'nodes': [...], 'seed': "
          "N}, 'halves', 'one' (with 'loner'), 'bridge', 'majorities-ring' (with 'seed'), "
          "'components' (with 'components'), 'grudge' (with 'grudge'); optional 'description'). "
          "Returns {'grudge': {node: [peers]}, 'shape': description}, with 'error' when it was "
          "recorded as a fail. ValueError for a bad shape (nothing recorded).")
      .def(
          "heal",
          [](fj::FaultInjector& fi, const std::string& f) {
            json outcome;
            {
              py::gil_scoped_release release;
              outcome = fi.heal(f);
            }
            return py::dict(to_py(outcome));
          },
          "f"_a,
          "Heals every partition: returns {'healed': the grudge that was in force}. A failure is "
          "recorded as a fail and raised.")
      .def(
          "packets",
          [](fj::FaultInjector& fi, const std::string& f, const std::vector<std::string>& nodes,
             const py::dict& fault, const std::vector<std::string>& peers) {
            json spec = to_json(fault);
            json outcome;
            {
              py::gil_scoped_release release;
              outcome = fi.packets(f, nodes, peers, spec);
            }
            return py::dict(to_py(outcome));
          },
          "f"_a, "nodes"_a, "fault"_a, "peers"_a = std::vector<std::string>{},
          "Gives the nodes a packet fault on their links to every other node (or to peers): "
          "fault = {'loss': p, 'duplicate': p, 'delay_ms': ms, 'jitter_ms': ms, 'reorder': p}. "
          "Loss hits both directions, the rest the nodes' outgoing packets. Returns the outcome, "
          "with 'error' when it was recorded as a fail (a node lacks the capability). ValueError "
          "for a bad fault or node (nothing recorded).")
      .def(
          "heal_packets",
          [](fj::FaultInjector& fi, const std::string& f) {
            json outcome;
            {
              py::gil_scoped_release release;
              outcome = fi.heal_packets(f);
            }
            return py::dict(to_py(outcome));
          },
          "f"_a, "Removes every packet fault: returns {'healed': {node: fault}}.")
      .def("packet_capabilities", &fj::FaultInjector::packet_capabilities,
           py::call_guard<py::gil_scoped_release>(),
           "node -> the packet faults it can carry out ('loss', 'duplicate', 'delay', "
           "'reorder'), probed on the node once.")
      .def(
          "clock",
          [](fj::FaultInjector& fi, const std::string& f,
             const std::map<std::string, std::vector<std::string>>& files, double offset,
             py::object value, bool record) {
            json v = to_json(value);
            json outcome;
            {
              py::gil_scoped_release release;
              outcome = fi.clock(f, files, offset, std::move(v), record);
            }
            return py::dict(to_py(outcome));
          },
          "f"_a, "files"_a, "offset"_a, "value"_a = py::none(), "record"_a = true,
          "Sets the clock offset (seconds) of the processes started under libfaketime with these "
          "clock files (node -> files). Returns {'nodes', 'offset', 'files', 'errors'}, with "
          "'error' when recorded as a fail. record=False: nothing recorded, a failure raises.")
      .def("current", &fj::FaultInjector::current, "The grudge in force: node -> peers it drops.")
      .def_property_readonly("nodes", &fj::FaultInjector::nodes);
}

}  // namespace fj::bindings
