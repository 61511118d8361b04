/* fj_holders: a bash loadable builtin (`enable -f FILE fj_holders`) for the persistent shell
 * (shell_frames.cpp), so that its look for processes still holding the channel after a command
 * costs a few system calls instead of a dozen bash commands per process it looks at (with five
 * nodes' commands running at once, that look was about a third of a fan-out round's CPU).
 *
 *   fj_holders PGID
 *
 * Exit status 0: no process is left in process group PGID (the command's), and no process
 * started after PGID's leader, other than the shell and its parent, has the shell's descriptor 1
 * or 4 (the channel's output and error) open. 1: one does, or it cannot tell (ns_last_pid
 * unreadable, more than 4096 pids handed out since, a live process whose descriptors cannot be
 * read). 2: no or a bad PGID. These are the rules of the persistent shell's look in bash (where
 * the builtin cannot be loaded: a host of another architecture, or with a C library older than
 * glibc 2.33), with one difference: the builtin also looks across a wrap of the pid counter,
 * where the bash look gives up and retires the shell (which costs a new shell, not a wrong
 * answer, once each time the counter wraps: every 32768 pids where pid_max is that).
 *
 * C, not C++: bash loads it with dlopen, and it depends on nothing but libc. bash's headers are
 * not needed: what a loadable builtin exports (struct builtin, named <name>_struct) and how
 * bash passes the words (WORD_LIST) have been the same since bash 2. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct word_desc {
  char* word;
  int flags;
} WORD_DESC;

typedef struct word_list {
  struct word_list* next;
  WORD_DESC* word;
} WORD_LIST;

struct builtin {
  const char* name;
  int (*function)(WORD_LIST*);
  int flags;
  const char* const* long_doc;
  const char* short_doc;
  char* handle;
};

enum { kBuiltinEnabled = 0x01 };
enum { kNone = 0, kHeld = 1, kUsage = 2 };
/* Beyond this many pids since the command began, the shell does not look: it retires. */
enum { kMaxRange = 4096 };

static int parse_pid(const char* text, long* out) {
  char* end = NULL;
  errno = 0;
  const long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || (*end != '\0' && *end != '\n') || value <= 0) return 0;
  *out = value;
  return 1;
}

static int read_pid_file(const char* path, long* out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[32];
  const ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return 0;
  text[n] = '\0';
  return parse_pid(text, out);
}

static int same_file(const struct stat* a, const struct stat* b) {
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* After a failed open of a process's fd directory: a process that is gone, or going (its
 * /proc entry answers ENOENT or ESRCH while it exits), holds nothing; one that is there but
 * cannot be read (another user's, for a shell that is not root's) might. */
static int unreadable(long pid, int error) {
  if (error == ENOENT || error == ESRCH) return kNone;
  char path[32];
  snprintf(path, sizeof path, "/proc/%ld", pid);
  struct stat st;
  return stat(path, &st) == 0 ? kHeld : kNone;
}

/* Whether process (or thread) `pid` has `out` or `err` open. */
static int holds(long pid, const struct stat* out, const struct stat* err) {
  char path[48];
  snprintf(path, sizeof path, "/proc/%ld/fd", pid);
  const int dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return unreadable(pid, errno);
  /* fdopendir checks the descriptor with fstat, which fails once the process has exited. */
  DIR* dir = fdopendir(dir_fd);
  if (dir == NULL) {
    const int error = errno;
    close(dir_fd);
    return unreadable(pid, error);
  }
  int found = kNone;
  const struct dirent* entry;
  while (found == kNone && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    struct stat st;
    /* Follows the descriptor's link to the open file; one closed meanwhile is not held. */
    if (fstatat(dir_fd, entry->d_name, &st, 0) != 0) continue;
    if (same_file(&st, out) || same_file(&st, err)) found = kHeld;
  }
  closedir(dir);
  return found;
}

static int fj_holders_builtin(WORD_LIST* words) {
  long group = 0;
  if (words == NULL || words->next != NULL || !parse_pid(words->word->word, &group)) return kUsage;
  if (kill(-(pid_t)group, 0) == 0) return kHeld;
  long last = 0, max = 0;
  if (!read_pid_file("/proc/sys/kernel/ns_last_pid", &last)) return kHeld;
  /* Pids handed out since the command began: (group, last], or, if the counter wrapped (at
   * pid_max, back to low pids), (group, pid_max) and [1, last]. */
  const int wrapped = last < group;
  if (wrapped && (!read_pid_file("/proc/sys/kernel/pid_max", &max) || max <= group)) return kHeld;
  const long range = wrapped ? (max - 1 - group) + last : last - group;
  if (range > kMaxRange) return kHeld;
  struct stat out, err;
  if (fstat(1, &out) != 0 || fstat(4, &err) != 0) return kHeld;
  /* The shell and its parent (the sshd that reads the channel's pipes: a pipe's two ends are one
   * inode) always hold them; once the counter comes round to their pids they are in the range. */
  const long self = getpid(), parent = getppid();
  for (long pid = group + 1; pid <= (wrapped ? max - 1 : last); ++pid) {
    if (pid != self && pid != parent && holds(pid, &out, &err) != kNone) return kHeld;
  }
  for (long pid = 1; wrapped && pid <= last; ++pid) {
    if (pid != self && pid != parent && holds(pid, &out, &err) != kNone) return kHeld;
  }
  return kNone;
}

static const char* const fj_holders_doc[] = {
    "Whether a process other than the shell still holds the channel's output (fd 1 or 4):",
    "one in process group PGID, or one started since. Status 0: none.", NULL};

struct builtin fj_holders_struct = {"fj_holders",   fj_holders_builtin, kBuiltinEnabled,
                                    fj_holders_doc, "fj_holders PGID",  NULL};
