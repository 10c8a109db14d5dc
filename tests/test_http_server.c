/*
 * test_http_server.c - the operations endpoint's HTTP server
 * (http/server.c): --http ADDR:PORT parsing, and on a real loop and
 * socket, the orders in which a connection can end while a handler still
 * holds its request (the client leaves, the server closes, both), each
 * of which must free everything exactly once (run it under ASan) and
 * leave the loop with no handle open; the connection limits (a new
 * connection takes an idle one's place; one peer holds at most
 * HTTP_MAX_PER_PEER); the status line and default headers of an answer.
 * The loop is turned with UV_RUN_ONCE, woken by a timer, until what a
 * test waits for holds or a deadline passes.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/util.h"
#include "http/server.h"

/* ---- http_parse_listen ------------------------------------------------- */

static void parses(const char *spec, const char *host, int port)
{
    char h[64], err[200] = "";
    int p = -1;
    cr_assert_eq(http_parse_listen(spec, h, sizeof h, &p, err, sizeof err), 0,
                 "'%s': %s", spec, err);
    cr_assert_str_eq(h, host, "'%s'", spec);
    cr_assert_eq(p, port, "'%s'", spec);
}

static void refuses(const char *spec, const char *why)
{
    char h[64], err[200] = "";
    int p = -7;
    cr_assert_eq(http_parse_listen(spec, h, sizeof h, &p, err, sizeof err), -1,
                 "'%s' was accepted", spec);
    cr_assert_eq(p, -7, "'%s': port written on failure", spec);
    cr_assert_not_null(strstr(err, why), "'%s': '%s', want '%s'", spec, err,
                       why);
    cr_assert_not_null(strstr(err, spec), "'%s': the error does not name it",
                       spec);
}

Test(http_parse_listen, good_addresses)
{
    parses(":9180", "127.0.0.1", 9180);
    parses("127.0.0.1:80", "127.0.0.1", 80);
    parses("0.0.0.0:0", "0.0.0.0", 0);
    parses("10.1.2.3:65535", "10.1.2.3", 65535);
    parses("[::1]:80", "::1", 80);
    parses("[::]:9180", "::", 9180);
    parses("[fe80::1:2]:443", "fe80::1:2", 443);
    parses("[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1);
    parses(":00080", "127.0.0.1", 80);
}

Test(http_parse_listen, bad_ports)
{
    refuses("127.0.0.1", "is not ADDR:PORT");
    refuses("", "is not ADDR:PORT");
    refuses("127.0.0.1:", "port must be");
    refuses(":", "port must be");
    refuses("127.0.0.1:65536", "port must be");
    refuses("127.0.0.1:99999999999999999999", "port must be");
    refuses("127.0.0.1:-1", "port must be");
    refuses("127.0.0.1:+80", "port must be");
    refuses("127.0.0.1: 80", "port must be");
    refuses("127.0.0.1:80 ", "port must be");
    refuses("127.0.0.1:8o", "port must be");
    refuses("127.0.0.1:0x50", "port must be");
    refuses("127.0.0.1:000080", "port must be");
    refuses("[::1]", "port must be");
}

Test(http_parse_listen, bad_hosts)
{
    refuses("localhost:80", "not a numeric IPv4 or IPv6 address");
    refuses("example.com:80", "not a numeric");
    refuses("1.2.3:80", "not a numeric");
    refuses("256.1.1.1:80", "not a numeric");
    refuses("127.0.0.1 :80", "not a numeric");
    refuses("[::1:80", "not a numeric");
    refuses("::1]:80", "not a numeric");
    refuses("[fe80::1%eth0]:80", "not a numeric");
    refuses("[]:80", "no address between");
    refuses("::1:80", "an IPv6 address goes in brackets");
    refuses(":::80", "an IPv6 address goes in brackets");
    refuses("[127.0.0.1]:80", "only an IPv6 address goes in brackets");
    char long_spec[200];
    memset(long_spec, '1', 150);
    strcpy(long_spec + 150, ":80");
    refuses(long_spec, "address too long");
}

/* ---- a real server ----------------------------------------------------- */

#define MAX_HELD 128

typedef struct {
    http_request_t *held; /* the handler keeps the request */
    int calls;
    int answer_now;
    http_request_t *all[MAX_HELD]; /* every request kept (hold_all) */
    int n_all, hold_all;
    int status;           /* of answer_now's answers; 0: 200 */
    const char *extra;    /* their extra headers */
} handler_state_t;

static void handler(void *arg, http_request_t *req)
{
    handler_state_t *hs = arg;
    hs->calls++;
    if (hs->hold_all && hs->n_all < MAX_HELD)
        hs->all[hs->n_all++] = req;
    else if (hs->answer_now)
        http_respond(req, hs->status ? hs->status : 200, "text/plain",
                     hs->extra ? hs->extra : "", "ok\n", 3);
    else
        hs->held = req;
}

static uv_loop_t loop;
static uv_timer_t pump_timer; /* wakes UV_RUN_ONCE to look again */
static http_server_t *srv;
static handler_state_t hs;

static void on_pump_timer(uv_timer_t *t) { (void)t; }

static void setup(void)
{
    cr_assert_eq(uv_loop_init(&loop), 0);
    uv_timer_init(&loop, &pump_timer);
    memset(&hs, 0, sizeof hs);
    char err[200];
    http_server_opts_t o = {"127.0.0.1", 0, handler, &hs};
    srv = http_server_start(&loop, &o, err, sizeof err);
    cr_assert_not_null(srv, "%s", err);
    cr_assert_gt(http_server_port(srv), 0);
}

/* Runs the loop until every handle is closed (the server freed): the
 * loop closes cleanly only then. */
static void teardown(void)
{
    int64_t deadline = util_mono_ms() + 5000;
    uv_close((uv_handle_t *)&pump_timer, NULL);
    while (uv_run(&loop, UV_RUN_NOWAIT) != 0 && util_mono_ms() < deadline)
        usleep(1000);
    cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
}


/* A connection to the server from the loopback address from (connect()
 * completes in the kernel; the loop accepts it later). */
static int client_from(const char *from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    cr_assert_eq(inet_pton(AF_INET, from, &me.sin_addr), 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&me, sizeof me), 0, "%s", from);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)http_server_port(srv))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    struct timeval tv = {5, 0}; /* a read that would hang fails instead */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

static int client(void) { return client_from("127.0.0.1"); }

static void send_all(int fd, const char *s)
{
    cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Turns the loop until cond holds (5 s at most): each turn blocks until
 * an event, or the 5 ms timer, so that nothing spins. */
#define PUMP_UNTIL(cond)                                                   \
    do {                                                                   \
        int64_t until_ = util_mono_ms() + 5000;                            \
        uv_timer_start(&pump_timer, on_pump_timer, 5, 5);                  \
        while (!(cond) && util_mono_ms() < until_)                         \
            uv_run(&loop, UV_RUN_ONCE);                                    \
        uv_timer_stop(&pump_timer);                                        \
        cr_assert(cond, "timed out waiting for " #cond);                   \
    } while (0)

/* Lets the loop work for ms (not a check: what follows must not depend
 * on it). */
static void pump_ms(int ms)
{
    int64_t until = util_mono_ms() + ms;
    uv_timer_start(&pump_timer, on_pump_timer, 5, 5);
    while (util_mono_ms() < until)
        uv_run(&loop, UV_RUN_ONCE);
    uv_timer_stop(&pump_timer);
}

/* The server closed fd (EOF or reset), without sending anything first. */
static int closed_by_server(int fd)
{
    char ch;
    ssize_t n = recv(fd, &ch, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* How many of fds[0..n) the server closed. */
static int n_closed(const int *fds, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += closed_by_server(fds[i]);
    return k;
}

/* fds[0..n) each have an answer to read (or were closed). */
static int all_readable(const int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        struct pollfd p = {fds[i], POLLIN, 0};
        if (poll(&p, 1, 0) != 1)
            return 0;
    }
    return 1;
}

/* Reads one whole answer (small: one read) from fd into buf. */
static void read_answer(int fd, char *buf, size_t len)
{
    ssize_t n = read(fd, buf, len - 1);
    cr_assert_gt(n, 0, "no answer");
    buf[n] = '\0';
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

#define GET "GET /x?a=1#frag HTTP/1.1\r\nHost: h\r\nOrigin: http://h\r\n\r\n"

Test(http_server, the_request_as_the_handler_sees_it)
{
    setup();
    int fd = client();
    send_all(fd, GET);
    PUMP_UNTIL(hs.held != NULL);
    cr_assert_str_eq(hs.held->method, "GET");
    cr_assert_str_eq(hs.held->path, "/x");
    cr_assert_str_eq(hs.held->query, "a=1");
    cr_assert_str_eq(hs.held->host, "h");
    cr_assert_str_eq(hs.held->origin, "http://h");
    cr_assert_str_eq(hs.held->authorization, "");
    cr_assert_eq(hs.held->peer_loopback, 1);
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    cr_assert_eq(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", buf);
    cr_assert_not_null(strstr(buf, "\r\nContent-Length: 3\r\n"), "%s", buf);
    cr_assert_eq(strcmp(buf + n - 7, "\r\n\r\nok\n"), 0, "%s", buf);
    close(fd);
    http_server_close(srv);
    teardown();
}

Test(http_server, answer_after_the_client_left)
{
    setup();
    int fd = client();
    send_all(fd, GET);
    PUMP_UNTIL(hs.held != NULL);
    close(fd);
    pump_ms(50);
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    pump_ms(50);
    http_server_close(srv);
    teardown();
}

Test(http_server, answer_after_the_server_closed)
{
    setup();
    int fd = client();
    send_all(fd, GET);
    PUMP_UNTIL(hs.held != NULL);
    http_server_close(srv);
    pump_ms(50); /* the listener closes; the held connection waits */
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    close(fd);
    teardown();
}

Test(http_server, the_client_left_and_the_server_closed_before_the_answer)
{
    setup();
    int fd = client();
    send_all(fd, GET GET); /* and a pipelined one behind it */
    PUMP_UNTIL(hs.held != NULL);
    close(fd);
    pump_ms(20);
    http_server_close(srv);
    pump_ms(20);
    http_respond(hs.held, 503, "text/plain", "", "bye\n", 4);
    teardown();
}

Test(http_server, close_while_answers_are_written_and_lingering)
{
    setup();
    hs.answer_now = 1;
    int a = client(), b = client(), c = client();
    send_all(a, GET);
    send_all(b, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    send_all(c, "\x16\x03\x01 not http\r\n\r\n");
    PUMP_UNTIL(hs.calls == 2);
    pump_ms(20); /* b and c linger now, a is kept alive */
    http_server_close(srv);
    close(a);
    close(b);
    close(c);
    teardown();
}

/* 256 connections that each had an answer and stay open (idle
 * keep-alive), from 5 addresses, fill every slot; one more holds a
 * request the handler has. 20 new ones from another address each take
 * an idle one's place (that one is closed), are answered, and the one
 * whose request is in progress stays. */
Test(http_server, at_the_limit_a_new_connection_takes_an_idle_ones_place)
{
    setup();
    hs.answer_now = 1;
    enum { N = HTTP_MAX_CONNECTIONS - 1, NEW = 20 };
    int fds[N], held, fresh[NEW];
    char from[32], buf[512];
    for (int i = 0; i < N; i++) {
        snprintf(from, sizeof from, "127.0.0.%d", 2 + i % 5);
        fds[i] = client_from(from);
        send_all(fds[i], GET);
    }
    PUMP_UNTIL(hs.calls == N && all_readable(fds, N));
    for (int i = 0; i < N; i++)
        read_answer(fds[i], buf, sizeof buf);
    hs.answer_now = 0;
    held = client_from("127.0.0.2");
    send_all(held, GET);
    PUMP_UNTIL(hs.held != NULL);
    cr_assert_eq(n_closed(fds, N), 0);
    hs.answer_now = 1;
    for (int i = 0; i < NEW; i++) {
        fresh[i] = client_from("127.0.0.7");
        send_all(fresh[i], GET);
    }
    PUMP_UNTIL(hs.calls == N + 1 + NEW && all_readable(fresh, NEW) &&
               n_closed(fds, N) == NEW);
    for (int i = 0; i < NEW; i++) {
        read_answer(fresh[i], buf, sizeof buf);
        cr_assert_eq(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", buf);
    }
    cr_assert(!closed_by_server(held), "the connection awaiting its answer "
              "was closed for a new one");
    http_respond(hs.held, 200, "text/plain", "", "ok\n", 3);
    PUMP_UNTIL(all_readable(&held, 1));
    read_answer(held, buf, sizeof buf);
    cr_assert_eq(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17), 0, "%s", buf);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    for (int i = 0; i < NEW; i++)
        close(fresh[i]);
    close(held);
    http_server_close(srv);
    teardown();
}

/* Silent connections (no request yet) are idle too: more than the limit
 * of them leave the newest ones open, and a request on the newest is
 * answered. */
Test(http_server, silent_connections_make_room_for_new_ones)
{
    setup();
    hs.answer_now = 1;
    enum { N = HTTP_MAX_CONNECTIONS + 20 };
    int fds[N];
    char from[32];
    for (int i = 0; i < N; i++) {
        snprintf(from, sizeof from, "127.0.0.%d", 2 + i % 5);
        fds[i] = client_from(from);
    }
    PUMP_UNTIL(n_closed(fds, N) == 20);
    send_all(fds[N - 1], GET);
    PUMP_UNTIL(hs.calls == 1);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    http_server_close(srv);
    teardown();
}

/* One address holds HTTP_MAX_PER_PEER connections at most: past it, a
 * new one takes the place of one of its own idle ones, or is closed at
 * once when none is idle; another address is still served. */
Test(http_server, one_peer_holds_at_most_its_share)
{
    setup();
    hs.hold_all = 1;
    int fds[HTTP_MAX_PER_PEER], extra, other;
    char buf[512];
    for (int i = 0; i < HTTP_MAX_PER_PEER; i++) {
        fds[i] = client_from("127.0.0.8");
        send_all(fds[i], GET);
    }
    PUMP_UNTIL(hs.n_all == HTTP_MAX_PER_PEER);
    extra = client_from("127.0.0.8");
    send_all(extra, GET);
    PUMP_UNTIL(closed_by_server(extra));
    close(extra);
    hs.hold_all = 0;
    hs.answer_now = 1;
    other = client_from("127.0.0.9");
    send_all(other, GET);
    PUMP_UNTIL(hs.calls == HTTP_MAX_PER_PEER + 1);
    cr_assert_eq(n_closed(fds, HTTP_MAX_PER_PEER), 0);
    /* answered, its connections are idle: a new one takes one's place */
    for (int i = 0; i < hs.n_all; i++)
        http_respond(hs.all[i], 200, "text/plain", "", "ok\n", 3);
    PUMP_UNTIL(all_readable(fds, HTTP_MAX_PER_PEER));
    for (int i = 0; i < HTTP_MAX_PER_PEER; i++)
        read_answer(fds[i], buf, sizeof buf);
    extra = client_from("127.0.0.8");
    send_all(extra, GET);
    PUMP_UNTIL(hs.calls == HTTP_MAX_PER_PEER + 2 &&
               n_closed(fds, HTTP_MAX_PER_PEER) == 1);
    for (int i = 0; i < HTTP_MAX_PER_PEER; i++)
        close(fds[i]);
    close(extra);
    close(other);
    http_server_close(srv);
    teardown();
}

/* The status line names every status the endpoint answers with, and
 * each header comes once: a handler's own Cache-Control replaces the
 * default no-store. */
Test(http_server, status_lines_and_headers)
{
    static const struct { int status; const char *line; } st[] = {
        {200, "200 OK"}, {400, "400 Bad Request"}, {401, "401 Unauthorized"},
        {403, "403 Forbidden"}, {404, "404 Not Found"},
        {405, "405 Method Not Allowed"}, {413, "413 Payload Too Large"},
        {500, "500 Internal Server Error"}, {502, "502 Bad Gateway"},
        {503, "503 Service Unavailable"}};
    setup();
    hs.answer_now = 1;
    char buf[1024], want[64];
    int fd = client();
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        hs.status = st[i].status;
        hs.extra = i % 2 ? "Cache-Control: no-cache\r\n" : "";
        send_all(fd, GET);
        PUMP_UNTIL(all_readable(&fd, 1));
        read_answer(fd, buf, sizeof buf);
        snprintf(want, sizeof want, "HTTP/1.1 %s\r\n", st[i].line);
        cr_assert_eq(strncmp(buf, want, strlen(want)), 0, "%s", buf);
        cr_assert_eq(count_of(buf, "Cache-Control:"), 1, "%s", buf);
        cr_assert_not_null(strstr(buf, i % 2 ? "Cache-Control: no-cache\r\n"
                                             : "Cache-Control: no-store\r\n"),
                           "%s", buf);
        cr_assert_eq(count_of(buf, "X-Content-Type-Options: nosniff\r\n"), 1,
                     "%s", buf);
    }
    close(fd);
    http_server_close(srv);
    teardown();
}

Test(http_addr, loopback_or_not)
{
    static const char *const yes[] = {"127.0.0.1", "127.255.0.9", "::1",
                                      "::ffff:127.0.0.2", "0:0:0:0:0:0:0:1"};
    static const char *const no[] = {"128.0.0.1", "10.0.0.1", "0.0.0.0", "::",
                                     "::ffff:10.0.0.1", "::2", "localhost",
                                     "", "127.0.0.1:80", "[::1]"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        cr_assert(http_addr_is_loopback(yes[i]), "%s", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        cr_assert(!http_addr_is_loopback(no[i]), "%s", no[i]);
}
