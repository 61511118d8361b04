#include "common/log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>

namespace fj::log {

namespace {
constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %-5l %v";

struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist;
  std::shared_ptr<spdlog::sinks::sink> console;
  std::shared_ptr<spdlog::sinks::sink> file;
};

State& state() {
  static State s;
  return s;
}

std::once_flag g_init;

void ensure_init() {
  std::call_once(g_init, [] {
    auto& s = state();
    s.dist = std::make_shared<spdlog::sinks::dist_sink_mt>();
    s.console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    s.console->set_level(spdlog::level::info);
    s.dist->add_sink(s.console);
    auto logger = std::make_shared<spdlog::logger>("fj", s.dist);
    logger->set_level(spdlog::level::trace);
    logger->set_pattern(kPattern);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
  });
}
}  // namespace

void configure(const std::string& console_level) {
  ensure_init();
  std::lock_guard lock(state().mutex);
  state().console->set_level(spdlog::level::from_str(console_level));
}

void open_file(const std::string& path, const std::string& file_level) {
  ensure_init();
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (s.file) s.dist->remove_sink(s.file);
  s.file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
  s.file->set_level(spdlog::level::from_str(file_level));
  s.file->set_pattern(kPattern);
  s.dist->add_sink(s.file);
}

void close_file() {
  ensure_init();
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.file) return;
  s.file->flush();
  s.dist->remove_sink(s.file);
  s.file.reset();
}

void write(const std::string& level, const std::string& name, const std::string& message) {
  ensure_init();
  spdlog::default_logger_raw()->log(spdlog::level::from_str(level), "[{}] {}", name, message);
}

void flush() {
  ensure_init();
  spdlog::default_logger_raw()->flush();
}

}  // namespace fj::log
