/*
 * watch.c - inotify on the plugin directory, read through a uv_poll
 * handle; see watch.h. libuv's own fs_event reports no IN_CLOSE_WRITE, so
 * it could not tell a finished write from one in progress.
 */
#include "plugin/watch.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/log.h"

#define BUSY_MAX 64
#define BUSY_NAME PLUGIN_WATCH_NAME_MAX
/* A name written to but not closed for this long is no longer busy (a
 * hard link or a truncate(1) opens nothing, so no close ever comes). */
#define BUSY_STALE_MS 2000

struct plugin_watch {
    uv_poll_t poll;
    uv_timer_t debounce;
    int fd;
    int open_handles;
    char *dir;
    plugin_watch_fn fn;
    void *arg;
    char busy[BUSY_MAX][BUSY_NAME]; /* *.so names open for writing */
    uint64_t busy_since[BUSY_MAX];  /* last write seen (uv_now, ms) */
    size_t n_busy;
    uv_loop_t *loop;
};

static int is_plugin_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int busy_find(const plugin_watch_t *w, const char *name)
{
    for (size_t i = 0; i < w->n_busy; i++)
        if (strcmp(w->busy[i], name) == 0)
            return (int)i;
    return -1;
}

static void busy_add(plugin_watch_t *w, const char *name)
{
    int i = busy_find(w, name);
    if (i >= 0) {
        w->busy_since[i] = uv_now(w->loop);
        return;
    }
    if (strlen(name) >= BUSY_NAME)
        return;
    if (w->n_busy == BUSY_MAX) {
        LOGD("watch", "too many files being written at once; %s is not "
             "tracked", name);
        return;
    }
    w->busy_since[w->n_busy] = uv_now(w->loop);
    snprintf(w->busy[w->n_busy++], BUSY_NAME, "%s", name);
}

static void busy_remove(plugin_watch_t *w, const char *name)
{
    int i = busy_find(w, name);
    if (i < 0)
        return;
    w->n_busy--;
    if ((size_t)i != w->n_busy) {
        memcpy(w->busy[i], w->busy[w->n_busy], BUSY_NAME);
        w->busy_since[i] = w->busy_since[w->n_busy];
    }
}

/* Forgets names no write has touched for BUSY_STALE_MS. */
static void busy_expire(plugin_watch_t *w)
{
    uint64_t now = uv_now(w->loop);
    for (size_t i = w->n_busy; i-- > 0;)
        if (now - w->busy_since[i] >= BUSY_STALE_MS) {
            LOGD("watch", "%s: no write for %d ms and no close: no longer "
                 "treated as being written", w->busy[i], BUSY_STALE_MS);
            busy_remove(w, w->busy[i]);
        }
}

size_t plugin_watch_busy_names(const plugin_watch_t *w,
                               char (*names)[PLUGIN_WATCH_NAME_MAX],
                               size_t max)
{
    size_t n = 0;
    for (size_t i = 0; w && i < w->n_busy && n < max; i++)
        memcpy(names[n++], w->busy[i], BUSY_NAME);
    return n;
}

int plugin_watch_busy(void *arg, const char *name)
{
    plugin_watch_t *w = arg;
    if (w == NULL)
        return 0;
    busy_expire(w);
    return busy_find(w, name) >= 0;
}

static void on_debounce(uv_timer_t *t)
{
    plugin_watch_t *w = t->data;
    w->fn(w->arg);
}

static void settle(plugin_watch_t *w)
{
    uv_timer_start(&w->debounce, on_debounce, PLUGIN_WATCH_DEBOUNCE_MS, 0);
}

static void on_event(plugin_watch_t *w, const struct inotify_event *ev)
{
    if (ev->mask & IN_Q_OVERFLOW) {
        LOGW("watch", "%s: inotify queue overflowed; reloading to catch up",
             w->dir);
        w->n_busy = 0; /* the closes may be among the events lost */
        settle(w);
        return;
    }
    if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        LOGW("watch", "%s was removed or moved: --watch stops; a reload "
             "(SIGHUP, `jobrt reload`) still rescans the path", w->dir);
        uv_poll_stop(&w->poll);
        return;
    }
    if (ev->len == 0 || !is_plugin_name(ev->name))
        return;
    if (ev->mask & (IN_CREATE | IN_MODIFY)) {
        busy_add(w, ev->name);
        return;
    }
    if ((ev->mask & IN_ATTRIB) && busy_find(w, ev->name) >= 0)
        return; /* a chmod while it is written: the close will tell */
    if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                    IN_DELETE | IN_ATTRIB)) { /* IN_ATTRIB: a chmod or chown
                                                 that fixes a refusal */
        busy_remove(w, ev->name);
        LOGD("watch", "%s/%s changed", w->dir, ev->name);
        settle(w);
    }
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    plugin_watch_t *w = h->data;
    (void)events;
    if (status < 0) {
        LOGW("watch", "%s: inotify failed (%s): --watch stops; a reload "
             "(SIGHUP, `jobrt reload`) still works", w->dir,
             uv_strerror(status));
        uv_poll_stop(&w->poll);
        return;
    }
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* EAGAIN: drained */
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            on_event(w, ev);
            p += sizeof *ev + ev->len;
        }
    }
}

plugin_watch_t *plugin_watch_start(uv_loop_t *loop, const char *dir,
                                   plugin_watch_fn fn, void *arg, char *err,
                                   size_t err_len)
{
    plugin_watch_t *w = calloc(1, sizeof *w);
    if (w == NULL || (w->dir = strdup(dir)) == NULL) {
        free(w);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    w->fn = fn;
    w->arg = arg;
    w->loop = loop;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0 ||
        inotify_add_watch(w->fd, dir, IN_CREATE | IN_MODIFY | IN_ATTRIB |
                                          IN_CLOSE_WRITE |
                                          IN_MOVED_TO | IN_MOVED_FROM |
                                          IN_DELETE | IN_DELETE_SELF |
                                          IN_MOVE_SELF | IN_ONLYDIR) < 0) {
        snprintf(err, err_len, "--watch: cannot watch %s: %s", dir,
                 strerror(errno));
        if (w->fd >= 0)
            close(w->fd);
        free(w->dir);
        free(w);
        return NULL;
    }
    uv_poll_init(loop, &w->poll, w->fd);
    uv_timer_init(loop, &w->debounce);
    w->poll.data = w->debounce.data = w;
    w->open_handles = 2;
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
    return w;
}

static void on_closed(uv_handle_t *h)
{
    plugin_watch_t *w = h->data;
    if (--w->open_handles > 0)
        return;
    close(w->fd);
    free(w->dir);
    free(w);
}

void plugin_watch_stop(plugin_watch_t *w)
{
    if (w == NULL)
        return;
    uv_poll_stop(&w->poll);
    uv_timer_stop(&w->debounce);
    uv_close((uv_handle_t *)&w->poll, on_closed);
    uv_close((uv_handle_t *)&w->debounce, on_closed);
}
