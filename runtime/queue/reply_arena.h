/*
 * reply_arena.h - hiredis reply objects built in one arena per reply.
 *
 * hiredis' default reader allocates two blocks per string and per array
 * of a reply: a 256-entry XREADGROUP reply costs over 5 000 malloc and
 * free calls, about 22 per job (bench/profile.sh). These functions build
 * the same redisReply tree, field for field, inside blocks owned by the
 * reply's root: one block for a short reply, a few doubling ones for a
 * long one, all freed together when hiredis frees the root. Nothing is
 * kept between replies, so a reader may be freed at any time.
 *
 * Install with reply_arena_install(reader) before the reader parses
 * anything; freeReplyObject() must then never be called on its replies
 * (hiredis' async layer frees them through reader->fn, as it must).
 */
#ifndef JOBRT_QUEUE_REPLY_ARENA_H
#define JOBRT_QUEUE_REPLY_ARENA_H

#include <hiredis/read.h>

/* the reader's object functions become the arena's */
void reply_arena_install(redisReader *reader);

/* a new reader that builds its replies so (NULL: out of memory) */
redisReader *reply_arena_reader_create(void);

#endif
