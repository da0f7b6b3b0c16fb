// C calls that Swift's Glibc module leaves out.

#ifdef __linux__
// glibc declares it only under _GNU_SOURCE, which a module cannot set.
int sync_file_range(int fd, long long offset, long long count, unsigned int flags);

/// Starts writing the file's dirty pages to disk and returns at once
/// (SYNC_FILE_RANGE_WRITE). A later fsync then has little left to wait for.
static inline int embc_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, 2);
}
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/// Lowers the calling thread's scheduling priority (Linux keeps a nice
/// value per thread) by `increment`; 0 on success. Any process may.
static inline int embc_lower_thread_priority(int increment) {
    id_t thread = (id_t)syscall(SYS_gettid);
    int current = getpriority(PRIO_PROCESS, thread);
    return setpriority(PRIO_PROCESS, thread, current + increment);
}
#else
static inline int embc_start_writeback(int fd) {
    (void)fd;
    return 0;
}

static inline int embc_lower_thread_priority(int increment) {
    (void)increment;
    return 0;
}
#endif

// What Scripts/release links into a release: the version ("0.2.0") and the
// build ("commit 1a2b3c4d5e6f, built 2026-12-04"), from a small object of
// its own, so that the compiled code, and its build cache, stay the same
// from one release to the next. Weak: null in any other build.
extern const char embc_release_version[] __attribute__((weak));
extern const char embc_release_build[] __attribute__((weak));

static inline const char *embc_linked_release_version(void) {
    return embc_release_version;
}

static inline const char *embc_linked_release_build(void) {
    return embc_release_build;
}
