// One log for the whole run: C++ components and Python's logging write through the same spdlog
// sinks (the console and the run's jepsen.log), so a run's story is in one file, in order.
#pragma once

#include <string>

namespace fj::log {

/// Levels by name: trace, debug, info, warn, error, critical, off.
void configure(const std::string& console_level);
/// Adds (or replaces) the run's log file; everything at file_level and above goes there.
void open_file(const std::string& path, const std::string& file_level = "debug");
/// Closes the run's log file (flushes it); the console sink stays.
void close_file();
/// Writes one message as `name` at `level`.
void write(const std::string& level, const std::string& name, const std::string& message);
void flush();

}  // namespace fj::log
