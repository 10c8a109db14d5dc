/*
 * test_reply_arena.c - replies built in an arena (queue/reply_arena.h)
 * are the same trees hiredis' own reader builds, fed whole, byte by byte
 * and pipelined; a reply long enough to chain many blocks; a reader freed
 * with half a reply in it and a protocol error mid-reply free what was
 * built (the sanitizer builds of the suite see any leak).
 */
#include <criterion/criterion.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/reply_arena.h"

/* 1 when a and b are the same tree, else 0 and why on stderr */
static int same_tree(const redisReply *a, const redisReply *b,
                     const char *path)
{
    if (a->type != b->type) {
        fprintf(stderr, "%s: type %d against %d\n", path, a->type, b->type);
        return 0;
    }
    switch (a->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        if (a->len != b->len || memcmp(a->str, b->str, a->len) != 0 ||
            a->str[a->len] != '\0') {
            fprintf(stderr, "%s: strings differ\n", path);
            return 0;
        }
        return 1;
    case REDIS_REPLY_INTEGER:
        return a->integer == b->integer;
    case REDIS_REPLY_ARRAY:
        if (a->elements != b->elements) {
            fprintf(stderr, "%s: %zu elements against %zu\n", path,
                    a->elements, b->elements);
            return 0;
        }
        for (size_t i = 0; i < a->elements; i++) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (!same_tree(a->element[i], b->element[i], sub))
                return 0;
        }
        return 1;
    default:
        return 1;
    }
}

/* Feeds `resp` in pieces of `step` bytes (0: whole) to an arena reader
 * and to hiredis' own; checks each of the `n` replies is the same. */
static void check_same(const char *resp, size_t len, size_t step, int n)
{
    redisReader *mine = reply_arena_reader_create();
    redisReader *theirs = redisReaderCreate();
    cr_assert(mine && theirs);
    if (step == 0)
        step = len;
    int got = 0;
    for (size_t off = 0; off < len; off += step) {
        size_t piece = len - off < step ? len - off : step;
        cr_assert_eq(redisReaderFeed(mine, resp + off, piece), REDIS_OK);
        cr_assert_eq(redisReaderFeed(theirs, resp + off, piece), REDIS_OK);
        for (;;) {
            void *a = NULL, *b = NULL;
            cr_assert_eq(redisReaderGetReply(mine, &a), REDIS_OK);
            cr_assert_eq(redisReaderGetReply(theirs, &b), REDIS_OK);
            cr_assert_eq(a == NULL, b == NULL, "one reader has a reply "
                         "the other has not, at byte %zu", off + piece);
            if (a == NULL)
                break;
            cr_assert(same_tree(a, b, "reply"), "reply %d differs", got);
            mine->fn->freeObject(a);
            freeReplyObject(b);
            got++;
        }
    }
    cr_assert_eq(got, n, "%d replies, wanted %d", got, n);
    redisReaderFree(mine);
    redisReaderFree(theirs);
}

#define RESP(s) s, sizeof(s) - 1

Test(reply_arena, every_type_is_the_same_as_hiredis_builds)
{
    const char resp[] = "+OK\r\n"
                        "-ERR no such key\r\n"
                        ":-42\r\n"
                        "$-1\r\n"
                        "$0\r\n\r\n"
                        "$5\r\nhello\r\n"
                        "*0\r\n"
                        "*-1\r\n"
                        "*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n"
                        "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:7\r\n";
    check_same(RESP(resp), 0, 10);
    check_same(RESP(resp), 1, 10);
    check_same(RESP(resp), 7, 10);
}

/* An XREADGROUP reply: [[stream, [[id, [k, v, ...]] x n]]] */
static char *stream_reply(int entries, size_t value_len, size_t *len)
{
    size_t cap = 256 + (size_t)entries * (value_len + 200);
    char *out = malloc(cap), *value = malloc(value_len + 1);
    cr_assert(out && value);
    memset(value, 'v', value_len);
    value[value_len] = '\0';
    size_t n = (size_t)snprintf(out, cap,
                                "*1\r\n*2\r\n$16\r\njobrt:{q}:stream\r\n*%d\r\n",
                                entries);
    for (int i = 0; i < entries; i++) {
        char id[32];
        int idlen = snprintf(id, sizeof id, "1700000000000-%d", i);
        n += (size_t)snprintf(out + n, cap - n,
                              "*2\r\n$%d\r\n%s\r\n*4\r\n$1\r\nj\r\n$%zu\r\n%s"
                              "\r\n$1\r\na\r\n$1\r\n%d\r\n",
                              idlen, id, value_len, value, i % 10);
    }
    free(value);
    *len = n;
    return out;
}

Test(reply_arena, a_long_stream_reply_chains_blocks_and_stays_the_same)
{
    size_t len;
    char *resp = stream_reply(300, 1024, &len); /* ~330 KiB */
    check_same(resp, len, 0, 1);
    check_same(resp, len, 4096, 1);
    free(resp);
    resp = stream_reply(2, 300000, &len); /* one string larger than a block */
    check_same(resp, len, 0, 1);
    free(resp);
}

Test(reply_arena, pipelined_replies_each_free_their_own_arena)
{
    size_t len;
    char *one = stream_reply(20, 64, &len);
    size_t total = len * 5;
    char *resp = malloc(total);
    cr_assert(resp);
    for (int i = 0; i < 5; i++)
        memcpy(resp + (size_t)i * len, one, len);
    check_same(resp, total, 0, 5);
    check_same(resp, total, 333, 5);
    free(one);
    free(resp);
}

Test(reply_arena, a_reader_freed_mid_reply_frees_what_it_built)
{
    size_t len;
    char *resp = stream_reply(50, 100, &len);
    redisReader *r = reply_arena_reader_create();
    cr_assert(r);
    cr_assert_eq(redisReaderFeed(r, resp, len / 2), REDIS_OK);
    void *reply = NULL;
    cr_assert_eq(redisReaderGetReply(r, &reply), REDIS_OK);
    cr_assert_null(reply, "half a reply is not a reply");
    cr_assert_not_null(r->reply, "the reader holds the half-built root");
    redisReaderFree(r); /* frees the root through free_root */
    free(resp);
}

Test(reply_arena, a_protocol_error_mid_reply_frees_the_partial_root)
{
    const char resp[] = "*3\r\n$3\r\nabc\r\n*2\r\n:1\r\n!bogus\r\n";
    redisReader *r = reply_arena_reader_create();
    cr_assert(r);
    cr_assert_eq(redisReaderFeed(r, RESP(resp)), REDIS_OK);
    void *reply = NULL;
    cr_assert_eq(redisReaderGetReply(r, &reply), REDIS_ERR);
    cr_assert_null(reply);
    cr_assert(strstr(r->errstr, "Protocol error"), "errstr: %s", r->errstr);
    redisReaderFree(r);
}

Test(reply_arena, install_replaces_a_readers_functions)
{
    redisReader *r = redisReaderCreate();
    cr_assert(r);
    reply_arena_install(r);
    cr_assert_eq(redisReaderFeed(r, RESP("*2\r\n$2\r\nhi\r\n:5\r\n")),
                 REDIS_OK);
    void *reply = NULL;
    cr_assert_eq(redisReaderGetReply(r, &reply), REDIS_OK);
    redisReply *got = reply;
    cr_assert_eq(got->type, REDIS_REPLY_ARRAY);
    cr_assert_eq(got->elements, 2);
    cr_assert_str_eq(got->element[0]->str, "hi");
    cr_assert_eq(got->element[1]->integer, 5);
    /* the elements live in the root's block, right after it */
    cr_assert((char *)got->element[0] > (char *)got &&
              (char *)got->element[0] < (char *)got + 8192);
    r->fn->freeObject(reply);
    redisReaderFree(r);
}
