// The history as columns, for data frames (python/flink_jepsen/analysis/load.py): numbers as
// flat vectors and every text column as codes into its distinct texts, so that a million-op
// history reaches numpy without a Python object per op. The file is mapped and scanned in
// place; a line in the form the recorder writes is taken without building any JSON, anything
// else goes through the general reader (history.cpp), so both give the same columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fj {

/// A column of texts that repeat: each row's code into `texts` (distinct, in the order they
/// first appear), or kNone for a row without one.
struct TextColumn {
  static constexpr int32_t kNone = -1;
  std::vector<int32_t> codes;
  std::vector<std::string> texts;

  bool has(size_t row) const { return codes[row] != kNone; }
  /// The text of a row ("" for none).
  std::string_view at(size_t row) const {
    return has(row) ? std::string_view(texts[static_cast<size_t>(codes[row])]) : "";
  }
};

/// One row per op in file order: index, time (ns); process as text ("0", "nemesis"); type; f;
/// value as compact JSON text (object keys sorted, as the recorder writes it); error: the op's
/// `error` field (its text if a string, else its JSON), none when absent or null.
struct HistoryColumns {
  std::vector<int64_t> index;
  std::vector<int64_t> time;
  TextColumn process, type, f, value, error;
  std::vector<std::pair<size_t, std::string>> errors;  ///< bad lines: (1-based line, reason)

  size_t size() const { return index.size(); }
};

/// Reads a JSON Lines history as columns; a corrupt line is reported in `errors` and skipped,
/// blank lines are ignored. Throws std::runtime_error if the file cannot be read.
HistoryColumns read_history_columns(const std::string& path);

}  // namespace fj
