// Bindings of cpp/kafka: the exactly-once workload's producer. Everything it does runs in its own
// threads; start and stop release the GIL (stop waits for delivery reports).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/bindings.hpp"
#include "kafka/producer.hpp"

namespace py = pybind11;
using namespace pybind11::literals;

namespace fj::bindings {

void bind_kafka(py::module_& m) {
  m.attr("KAFKA_PRODUCER_PROCESS_BASE") = fj::kafka::kProducerProcessBase;
  py::class_<fj::kafka::SequencedProducer>(m, "KafkaProducer")
      .def(py::init([](const std::string& bootstrap, const std::string& topic,
                       std::shared_ptr<fj::HistoryRecorder> history, int64_t keys, double rate,
                       double delivery_timeout_s, size_t batch_records, double batch_seconds,
                       std::map<std::string, std::string> properties) {
             fj::kafka::ProducerConfig c;
             c.bootstrap = bootstrap;
             c.topic = topic;
             c.keys = keys;
             c.rate = rate;
             c.delivery_timeout_s = delivery_timeout_s;
             c.batch_records = batch_records;
             c.batch_seconds = batch_seconds;
             c.properties = std::move(properties);
             return std::make_unique<fj::kafka::SequencedProducer>(std::move(c),
                                                                   std::move(history));
           }),
           "bootstrap"_a, "topic"_a, "history"_a, "keys"_a = 16, "rate"_a = 500.0,
           "delivery_timeout_s"_a = 30.0, "batch_records"_a = 1000, "batch_seconds"_a = 0.1,
           "properties"_a = std::map<std::string, std::string>{},
           "An idempotent acks=all producer of sequenced records (id, key, per-key seq) that "
           "records every record's outcome in `history`; ValueError names a bad setting.")
      .def("start", &fj::kafka::SequencedProducer::start, py::call_guard<py::gil_scoped_release>())
      .def("stop", &fj::kafka::SequencedProducer::stop, py::call_guard<py::gil_scoped_release>(),
           "Stops producing and waits for the delivery reports of everything sent.")
      .def_property_readonly("stopping", &fj::kafka::SequencedProducer::stopping)
      .def_property_readonly("sent", &fj::kafka::SequencedProducer::sent)
      .def_property_readonly("acked", &fj::kafka::SequencedProducer::acked)
      .def_property_readonly("not_written", &fj::kafka::SequencedProducer::not_written)
      .def_property_readonly("unknown", &fj::kafka::SequencedProducer::unknown)
      .def_property_readonly("error", &fj::kafka::SequencedProducer::error);
}

}  // namespace fj::bindings
