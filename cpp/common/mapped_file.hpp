// A history file mapped read-only, for the readers that scan it in place (the checkers).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fj {

// A read-only mapping of the whole history. Parsed stretches are handed back to the kernel as the
// parse goes (release), so a history several times larger than its records costs no memory.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      throw std::runtime_error("cannot open history " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw std::runtime_error("cannot read history " + path + ": not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      int e = errno;
      ::close(fd);
      if (p == MAP_FAILED)
        throw std::runtime_error("cannot map history " + path + ": " + std::strerror(e));
      data_ = static_cast<const char*>(p);
      ::madvise(p, size_, MADV_SEQUENTIAL);
    } else {
      ::close(fd);
    }
  }
  ~MappedFile() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view view() const { return {data_, size_}; }

  /// Drops the whole pages inside [from, to) from memory; they are read again if touched.
  void release(size_t from, size_t to) const {
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t a = (from + page - 1) / page * page;
    size_t b = to / page * page;
    if (data_ && b > a) ::madvise(const_cast<char*>(data_) + a, b - a, MADV_DONTNEED);
  }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

// Where a history is cut to be read in slices, one per core: at line starts, so each slice holds
// whole lines; {0, size} (one slice) below min_bytes, where threads cost more than they save.
inline std::vector<size_t> line_slices(std::string_view all, size_t min_bytes = 4u << 20) {
  unsigned workers = std::max(1u, std::min(std::thread::hardware_concurrency(), 16u));
  if (all.size() < min_bytes) workers = 1;
  std::vector<size_t> cuts{0};
  for (unsigned w = 1; w < workers; ++w) {
    size_t at = std::max(cuts.back(), all.size() / workers * w);
    size_t nl = all.find('\n', at);
    if (nl == std::string_view::npos || nl + 1 >= all.size()) break;
    cuts.push_back(nl + 1);
  }
  cuts.push_back(all.size());
  return cuts;
}

}  // namespace fj
