/*
 * test_dlq.c - the dead-letter library's decoding of dlq_fields, the one
 * value that holds an over-limit entry's fields as netstrings
 * ("<length>:<bytes>,", docs/protocol.md): valid values, and every way a
 * value can be malformed.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "queue/dlq.h"

Test(dlq, netstrings_decode_and_reject_malformed_values)
{
    const char ok[] = "3:job,0:,2:a\x00,";
    const char *p = ok, *end = ok + sizeof ok - 1;
    strview_t v;
    cr_assert_eq(dlq_next_netstring(&p, end, &v), 1);
    cr_assert(v.len == 3 && memcmp(v.ptr, "job", 3) == 0);
    cr_assert_eq(dlq_next_netstring(&p, end, &v), 1);
    cr_assert_eq(v.len, 0);
    cr_assert_eq(dlq_next_netstring(&p, end, &v), 1);
    cr_assert(v.len == 2 && v.ptr[1] == '\0');
    cr_assert_eq(dlq_next_netstring(&p, end, &v), 0);
    cr_assert_eq(dlq_count_netstrings("1:a,1:b,", 8), 2);
    cr_assert_eq(dlq_count_netstrings("1:a,", 4), -1, "odd count");
    const char *bad[] = {"3:ab,", "2:abc", ":a,", "x:a,", "1:ab",
                         "99999999999:a,"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(dlq_count_netstrings(bad[i], strlen(bad[i])), -1, "%s",
                     bad[i]);
}
