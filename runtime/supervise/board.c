/*
 * board.c - creating, attaching and describing the shared board of a
 * worker process; see board.h.
 */
#define _GNU_SOURCE
#include "supervise/board.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"

size_t board_size(uint32_t n_slots)
{
    return sizeof(board_t) + (size_t)n_slots * sizeof(board_slot_t);
}

void board_init(board_t *b, uint32_t n_slots)
{
    b->magic = BOARD_MAGIC;
    b->layout = BOARD_LAYOUT;
    b->n_slots = n_slots;
    atomic_store(&b->crash_slot, -1);
}

board_t *board_create_private(uint32_t n_slots)
{
    void *p = mmap(NULL, board_size(n_slots), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    board_init(p, n_slots);
    return p;
}

board_t *board_create_shared(uint32_t n_slots, int *fd, char *err,
                             size_t err_len)
{
    size_t size = board_size(n_slots);
    int f = memfd_create("jobrt-board", MFD_CLOEXEC);
    if (f < 0) {
        snprintf(err, err_len, "cannot create a worker board (memfd): %s",
                 strerror(errno));
        return NULL;
    }
    if (ftruncate(f, (off_t)size) != 0) {
        snprintf(err, err_len, "cannot size a worker board: %s",
                 strerror(errno));
        close(f);
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "cannot map a worker board: %s",
                 strerror(errno));
        close(f);
        return NULL;
    }
    board_init(p, n_slots);
    *fd = f;
    return p;
}

board_t *board_attach(int fd, uint32_t n_slots, char *err, size_t err_len)
{
    struct stat st;
    size_t size = board_size(n_slots);
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != size) {
        snprintf(err, err_len, "the supervisor's board (fd %d) is not one "
                 "for %u slots", fd, n_slots);
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        snprintf(err, err_len, "cannot map the supervisor's board: %s",
                 strerror(errno));
        return NULL;
    }
    board_t *b = p;
    if (b->magic != BOARD_MAGIC || b->layout != BOARD_LAYOUT ||
        b->n_slots != n_slots) {
        snprintf(err, err_len, "the supervisor's board has another layout "
                 "(a jobrt binary of another version?)");
        munmap(p, size);
        return NULL;
    }
    return b;
}

void board_unmap(board_t *b, uint32_t n_slots)
{
    if (b)
        munmap(b, board_size(n_slots));
}

void board_copy(char *dst, size_t cap, const char *src, size_t len)
{
    if (src == NULL)
        len = 0;
    if (len >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        utf8_truncate(dst, cap - 1);
        return;
    }
    if (len)
        memcpy(dst, src, len);
    dst[len] = '\0';
}
