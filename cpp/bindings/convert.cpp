#include "bindings/convert.hpp"

#include <stdexcept>

#include "remote/signal_matching.hpp"

namespace py = pybind11;

namespace fj::bindings {

json to_json(py::handle h, int depth) {
  if (depth > 200) throw py::value_error("value nested too deeply for a history op");
  if (h.is_none()) return nullptr;
  if (PyBool_Check(h.ptr())) return h.ptr() == Py_True;
  if (PyLong_Check(h.ptr())) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (!overflow) return static_cast<int64_t>(v);
    unsigned long long u = PyLong_AsUnsignedLongLong(h.ptr());
    if (PyErr_Occurred()) {
      PyErr_Clear();
      throw py::value_error("integer too large for a history op: " +
                            py::repr(h).cast<std::string>());
    }
    return static_cast<uint64_t>(u);
  }
  if (PyFloat_Check(h.ptr())) return PyFloat_AS_DOUBLE(h.ptr());
  if (PyUnicode_Check(h.ptr())) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(h.ptr(), &n);
    if (!s) throw py::error_already_set();
    return std::string(s, static_cast<size_t>(n));
  }
  if (PyList_Check(h.ptr()) || PyTuple_Check(h.ptr())) {
    json a = json::array();
    auto& arr = a.get_ref<json::array_t&>();
    for (py::handle item : py::reinterpret_borrow<py::sequence>(h))
      arr.push_back(to_json(item, depth + 1));
    return a;
  }
  if (PyDict_Check(h.ptr())) {
    json o = json::object();
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
      std::string key;
      if (PyUnicode_Check(k.ptr()))
        key = k.cast<std::string>();
      else if (PyLong_Check(k.ptr()) || PyFloat_Check(k.ptr()) || PyBool_Check(k.ptr()) ||
               k.is_none())
        key = to_json(k).dump();  // as json.dumps does
      else
        throw py::type_error("history op dict keys must be str, got " +
                             py::repr(k).cast<std::string>());
      o[key] = to_json(v, depth + 1);
    }
    return o;
  }
  // numpy and friends: integers through __index__, reals through __float__.
  if (PyIndex_Check(h.ptr()))
    return to_json(py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr())), depth);
  if (PyObject_HasAttrString(h.ptr(), "__float__"))
    return py::float_(py::reinterpret_borrow<py::object>(h)).cast<double>();
  throw py::type_error("cannot record a value of type " +
                       py::str(py::type::of(h).attr("__name__")).cast<std::string>() +
                       " in a history op (JSON values only)");
}

py::object to_py(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return py::none();
    case json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case json::value_t::number_integer:
      return py::int_(j.get<int64_t>());
    case json::value_t::number_unsigned:
      return py::int_(j.get<uint64_t>());
    case json::value_t::number_float:
      return py::float_(j.get<double>());
    case json::value_t::string:
      return py::str(j.get_ref<const std::string&>());
    case json::value_t::array: {
      py::list l(j.size());
      size_t i = 0;
      for (const auto& e : j) l[i++] = to_py(e);
      return l;
    }
    case json::value_t::object: {
      py::dict d;
      for (const auto& [k, v] : j.get_ref<const json::object_t&>()) d[py::str(k)] = to_py(v);
      return d;
    }
    default:
      return py::str(j.dump());
  }
}

py::dict op_to_py(const fj::Op& op) {
  py::dict d;
  d["index"] = op.index;
  d["time"] = op.time;
  d["process"] = to_py(op.process);
  d["type"] = op.type;
  d["f"] = op.f;
  d["value"] = to_py(op.value);
  if (op.extra.is_object())
    for (const auto& [k, v] : op.extra.get_ref<const json::object_t&>()) d[py::str(k)] = to_py(v);
  return d;
}

py::list ops_to_py(const std::vector<fj::Op>& ops) {
  py::list l(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) l[i] = op_to_py(ops[i]);
  return l;
}

py::list errors_to_py(const std::vector<std::pair<size_t, std::string>>& errors) {
  py::list l;
  for (const auto& [line, why] : errors) l.append(py::make_tuple(line, why));
  return l;
}

std::string path_of(py::handle h) {
  return py::str(py::module_::import("os").attr("fspath")(h)).cast<std::string>();
}

std::vector<fj::Op> ops_from_py(py::handle seq) {
  std::vector<fj::Op> ops;
  std::string error;
  size_t i = 0;
  for (py::handle item : py::reinterpret_borrow<py::iterable>(seq)) {
    fj::Op op;
    if (!fj::op_from_json(to_json(item), op, error))
      throw py::value_error("op " + std::to_string(i) + " is not a history op: " + error);
    ops.push_back(std::move(op));
    ++i;
  }
  return ops;
}

int signal_of(py::handle h) {
  if (PyBool_Check(h.ptr())) throw py::type_error("a signal is a name or an int, not a bool");
  if (PyLong_Check(h.ptr())) {
    const int number = h.cast<int>();
    fj::validate_signal(number);
    return number;
  }
  if (PyUnicode_Check(h.ptr())) return fj::signal_number(h.cast<std::string>());
  throw py::type_error("a signal is a name (KILL, TERM, STOP, CONT, HUP, INT) or an int, not " +
                       py::str(py::type::of(h).attr("__name__")).cast<std::string>());
}

}  // namespace fj::bindings
