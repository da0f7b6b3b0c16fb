// C calls that Swift's Glibc module leaves out.

#ifdef __linux__
// glibc declares it only under _GNU_SOURCE, which a module cannot set.
int sync_file_range(int fd, long long offset, long long count, unsigned int flags);

/// Starts writing the file's dirty pages to disk and returns at once
/// (SYNC_FILE_RANGE_WRITE). A later fsync then has little left to wait for.
static inline int embc_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, 2);
}
#else
static inline int embc_start_writeback(int fd) {
    (void)fd;
    return 0;
}
#endif
