/*
 * reply_arena.c - hiredis reply objects in an arena owned by the reply's
 * root; see reply_arena.h.
 *
 * Layout: the root's first block starts with an arena_t, then the root
 * redisReply, then free space. A child finds its root by walking its read
 * task up to the task without a parent (hiredis nests at most 9 deep) and
 * allocates from the root's arena; when the current block is full a new
 * one of twice the size (or of the size asked, if larger) is chained on.
 * freeObject is only ever called on a root, and frees every block.
 */
#include "queue/reply_arena.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#define FIRST_ARRAY_BLOCK 4096      /* a root array's first block */
#define MAX_GROWN_BLOCK (1u << 20)  /* blocks double up to this */
#define ALIGN 16

typedef struct block {
    struct block *next;
} block_t;

typedef struct {
    block_t *extra;   /* blocks chained on, newest first */
    char *pos, *end;  /* free space in the newest block */
    size_t next_size; /* the size of the next block chained on */
} arena_t;

/* sizeof(arena_t) rounded up, so the root reply is aligned */
#define HEADER_SIZE ((sizeof(arena_t) + ALIGN - 1) / ALIGN * ALIGN)

static size_t round_up(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

static arena_t *arena_of(redisReply *root)
{
    return (arena_t *)(void *)((char *)root - HEADER_SIZE);
}

static redisReply *root_of(const redisReadTask *task)
{
    while (task->parent)
        task = task->parent;
    return task->obj;
}

static void *arena_alloc(arena_t *a, size_t n)
{
    n = round_up(n);
    if (n <= (size_t)(a->end - a->pos)) {
        void *p = a->pos;
        a->pos += n;
        return p;
    }
    size_t size = a->next_size;
    if (size < n + sizeof(block_t) + ALIGN)
        size = n + sizeof(block_t) + ALIGN;
    block_t *b = malloc(size);
    if (b == NULL)
        return NULL;
    b->next = a->extra;
    a->extra = b;
    char *start = (char *)b + round_up(sizeof(block_t));
    a->pos = start + n;
    a->end = (char *)b + size;
    if (a->next_size < MAX_GROWN_BLOCK)
        a->next_size *= 2;
    return start;
}

/* A new reply of `type`: a root gets a block of its own of at least
 * `extra` free bytes after it; a child comes from its root's arena and is
 * hung in its parent's element array. */
static redisReply *new_reply(const redisReadTask *task, int type,
                             size_t extra)
{
    redisReply *r;
    if (task->parent == NULL) {
        size_t size = HEADER_SIZE + round_up(sizeof(redisReply)) + extra;
        char *block = malloc(size);
        if (block == NULL)
            return NULL;
        arena_t *a = (arena_t *)(void *)block;
        a->extra = NULL;
        a->pos = block + HEADER_SIZE + round_up(sizeof(redisReply));
        a->end = block + size;
        a->next_size = FIRST_ARRAY_BLOCK * 2;
        r = (redisReply *)(void *)(block + HEADER_SIZE);
    } else {
        r = arena_alloc(arena_of(root_of(task)), sizeof(redisReply));
        if (r == NULL)
            return NULL;
    }
    memset(r, 0, sizeof *r);
    r->type = type;
    if (task->parent) {
        redisReply *parent = task->parent->obj;
        parent->element[task->idx] = r;
    }
    return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
    if (len >= SIZE_MAX / 2)
        return NULL;
    int root = task->parent == NULL;
    redisReply *r = new_reply(task, task->type, root ? len + 1 : 0);
    if (r == NULL)
        return NULL;
    char *buf = root ? (char *)r + round_up(sizeof(redisReply))
                     : arena_alloc(arena_of(root_of(task)), len + 1);
    if (buf == NULL)
        return NULL; /* the root's arena is freed with it */
    memcpy(buf, str, len);
    buf[len] = '\0';
    r->str = buf;
    r->len = len;
    return r;
}

static void *create_array(const redisReadTask *task, int elements)
{
    size_t n = elements > 0 ? (size_t)elements : 0;
    if (n > SIZE_MAX / sizeof(redisReply *) / 2)
        return NULL;
    size_t bytes = n * sizeof(redisReply *);
    size_t extra = bytes + FIRST_ARRAY_BLOCK;
    redisReply *r =
        new_reply(task, REDIS_REPLY_ARRAY, task->parent ? 0 : extra);
    if (r == NULL)
        return NULL;
    if (n > 0) {
        /* a root's task has no obj yet: it is set when this returns */
        arena_t *a = arena_of(task->parent ? root_of(task) : r);
        r->element = arena_alloc(a, bytes);
        if (r->element == NULL)
            return NULL;
        memset(r->element, 0, bytes);
    }
    r->elements = n;
    return r;
}

static void *create_integer(const redisReadTask *task, long long value)
{
    redisReply *r = new_reply(task, REDIS_REPLY_INTEGER, 0);
    if (r)
        r->integer = value;
    return r;
}

static void *create_nil(const redisReadTask *task)
{
    return new_reply(task, REDIS_REPLY_NIL, 0);
}

static void free_root(void *reply)
{
    if (reply == NULL)
        return;
    arena_t *a = arena_of(reply);
    for (block_t *b = a->extra, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

static redisReplyObjectFunctions arena_functions = {
    create_string, create_array, create_integer, create_nil, free_root};

void reply_arena_install(redisReader *reader)
{
    reader->fn = &arena_functions;
}

redisReader *reply_arena_reader_create(void)
{
    return redisReaderCreateWithFunctions(&arena_functions);
}
