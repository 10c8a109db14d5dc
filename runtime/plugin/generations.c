/*
 * generations.c - reload by generations, drain-then-swap; see
 * generations.h. The order of a reload: files that are gone are marked
 * leaving (so a renamed file may take over their claims), then each file
 * is hashed and, if new or changed, loaded beside the generation it
 * replaces (marked leaving, so the new one may claim the same name and
 * pairs); a failure unmarks it. Only then is the router swapped, once,
 * and the leaving generations moved to the retired list.
 */
#include "plugin/generations.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

void gen_changes_free(gen_changes_t *c)
{
    free(c->items);
    memset(c, 0, sizeof *c);
}

const char *gen_change_name(gen_change_kind_t kind)
{
    switch (kind) {
    case GEN_LOADED:
        return "loaded";
    case GEN_RELOADED:
        return "reloaded";
    case GEN_REMOVED:
        return "removed";
    case GEN_UNCHANGED:
        return "unchanged";
    case GEN_REJECTED:
        return "rejected";
    case GEN_REFUSED:
        return "refused";
    }
    return "unknown";
}

const char *generation_label(const struct jobrt_plugin *p, char *buf,
                             size_t len)
{
    const char *b = p->build_id ? p->build_id : "";
    if (*b == '\0' || strcmp(b, "dev") == 0 || strcmp(b, "unstamped") == 0)
        snprintf(buf, len, "sha256:%.12s", p->sha256);
    else
        snprintf(buf, len, "%s", b);
    return buf;
}

generations_t *generations_create(loader_t *loader, const char *dir)
{
    generations_t *g = calloc(1, sizeof *g);
    if (g == NULL || (g->dir = strdup(dir)) == NULL) {
        free(g);
        return NULL;
    }
    g->loader = loader;
    return g;
}

static gen_change_t *add_change(gen_changes_t *c, gen_change_kind_t kind,
                                const char *file)
{
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 8;
        gen_change_t *ni = realloc(c->items, ncap * sizeof *ni);
        if (ni == NULL)
            return NULL;
        c->items = ni;
        c->cap = ncap;
    }
    gen_change_t *ch = &c->items[c->n++];
    memset(ch, 0, sizeof *ch);
    ch->kind = kind;
    util_copy_str(ch->file, sizeof ch->file, file);
    return ch;
}

static void join_path(const char *dir, const char *name, char *out,
                      size_t len)
{
    size_t dl = strlen(dir);
    snprintf(out, len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/",
             name);
}

static struct jobrt_plugin *active_for(const generations_t *g,
                                       const char *path)
{
    for (struct jobrt_plugin *p = g->active.head; p; p = p->next)
        if (strcmp(p->file, path) == 0)
            return p;
    return NULL;
}

static int listed(char **names, size_t n, const char *dir, const char *file)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < n; i++) {
        join_path(dir, names[i], path, sizeof path);
        if (strcmp(path, file) == 0)
            return 1;
    }
    return 0;
}

/* Moves every leaving generation from the active to the retired list. */
static void retire_leaving(generations_t *g)
{
    struct jobrt_plugin **pp = &g->active.head;
    struct jobrt_plugin **tail = &g->retired.head;
    while (*tail)
        tail = &(*tail)->next;
    while (*pp) {
        struct jobrt_plugin *p = *pp;
        if (!p->leaving) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        g->active.count--;
        p->next = NULL;
        *tail = p;
        tail = &p->next;
        g->retired.count++;
    }
}

/* The router could not be rebuilt (out of memory): undo this round. The
 * new generations were never routed, so nothing runs in them. */
static void undo_round(generations_t *g, unsigned long long first_new,
                       gen_changes_t *out, size_t from)
{
    struct jobrt_plugin **pp = &g->active.head;
    while (*pp) {
        struct jobrt_plugin *p = *pp;
        if (p->generation >= first_new) {
            *pp = p->next;
            g->active.count--;
            char why[256];
            loader_unload(p, why, sizeof why);
        } else {
            p->leaving = 0;
            pp = &p->next;
        }
    }
    for (size_t i = from; i < out->n; i++) {
        gen_change_t *ch = &out->items[i];
        if (ch->kind == GEN_LOADED || ch->kind == GEN_RELOADED ||
            ch->kind == GEN_REMOVED) {
            ch->kind = GEN_REJECTED;
            ch->gen = NULL;
            snprintf(ch->reason, sizeof ch->reason, "out of memory building "
                     "the route table; nothing was swapped");
        }
    }
}

/* One file of the directory. */
static void reload_file(generations_t *g, const plugin_dir_t *pd,
                        const char *name, gen_skip_fn skip, void *skip_arg,
                        gen_changes_t *out, int *changed)
{
    char path[PATH_MAX], why[512], sha[65], label[96];
    join_path(g->dir, name, path, sizeof path);
    struct jobrt_plugin *old = active_for(g, path);
    if (skip && skip(skip_arg, name)) {
        LOGD("loader", "%s: still being written; left as it is", path);
        return;
    }
    gen_change_t *ch = add_change(out, GEN_UNCHANGED, path);
    if (ch == NULL) {
        LOGE("loader", "%s: out of memory; left as it is", path);
        return;
    }
    if (old) {
        snprintf(ch->plugin, sizeof ch->plugin, "%s", old->name);
        snprintf(ch->from_build, sizeof ch->from_build, "%s",
                 generation_label(old, label, sizeof label));
        ch->generation = old->generation;
        if (loader_hash_at(pd, name, sha, why, sizeof why) != 0) {
            ch->kind = GEN_REJECTED;
            snprintf(ch->reason, sizeof ch->reason, "%s", why);
            return;
        }
        if (strcmp(sha, old->sha256) == 0)
            return; /* GEN_UNCHANGED */
        if (old->pin_reason[0]) {
            ch->kind = GEN_REFUSED;
            snprintf(ch->reason, sizeof ch->reason, "plugin '%s' cannot be "
                     "unloaded (%s): deploying a new build of it needs a "
                     "worker restart; generation %llu keeps serving",
                     old->name, old->pin_reason, old->generation);
            return;
        }
        old->leaving = 1;
    }
    struct jobrt_plugin *p = loader_load_at(g->loader, pd, name, &g->staged,
                                            why, sizeof why);
    if (p == NULL) {
        if (old)
            old->leaving = 0;
        ch->kind = GEN_REJECTED;
        const char *hint = "";
        if (strstr(why, "is already loaded from") ||
            strstr(why, "is already served by"))
            hint = " (to move a plugin to another file name, remove the old "
                   "file in the same reload)";
        else if (g->router && strncmp(why, "truncated", 9) == 0)
            hint = " (still being written? install by rename: "
                   "docs/rollout.md)";
        snprintf(ch->reason, sizeof ch->reason, "%s%s", why, hint);
        return;
    }
    p->generation = ++g->seq;
    ch->kind = old ? GEN_RELOADED : GEN_LOADED;
    ch->gen = p;
    ch->generation = p->generation;
    snprintf(ch->plugin, sizeof ch->plugin, "%s", p->name);
    snprintf(ch->to_build, sizeof ch->to_build, "%s",
             generation_label(p, label, sizeof label));
    *changed = 1;
}

int generations_stage(generations_t *g, gen_skip_fn skip, void *skip_arg,
                      gen_changes_t *out, char *err, size_t err_len)
{
    plugin_dir_t pd;
    char **names;
    size_t n;
    memset(&g->staged, 0, sizeof g->staged);
    g->staged.also = &g->active;
    g->stage_from = out->n;
    g->stage_first = g->seq + 1;
    g->stage_removed = 0;
    if (loader_open_dir(g->loader, g->dir, &pd, &names, &n, err, err_len))
        return -1;
    char label[96];
    /* Gone files first: their claims may pass to a file loaded now. */
    for (struct jobrt_plugin *p = g->active.head; p; p = p->next) {
        if (listed(names, n, g->dir, p->file))
            continue;
        gen_change_t *ch = add_change(out, GEN_REMOVED, p->file);
        if (ch == NULL)
            continue; /* out of memory: it keeps serving */
        snprintf(ch->plugin, sizeof ch->plugin, "%s", p->name);
        snprintf(ch->from_build, sizeof ch->from_build, "%s",
                 generation_label(p, label, sizeof label));
        ch->generation = p->generation;
        if (p->pin_reason[0]) {
            ch->kind = GEN_REFUSED;
            snprintf(ch->reason, sizeof ch->reason, "the file was removed, "
                     "but plugin '%s' cannot be unloaded (%s): generation "
                     "%llu keeps serving until the worker restarts", p->name,
                     p->pin_reason, p->generation);
            continue;
        }
        p->leaving = 1;
        g->stage_removed = 1;
    }
    int changed = 0;
    for (size_t i = 0; i < n; i++)
        reload_file(g, &pd, names[i], skip, skip_arg, out, &changed);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    plugin_dir_close(&pd);
    return 0;
}

void generations_discard(generations_t *g)
{
    struct jobrt_plugin *p = g->staged.head;
    while (p) {
        struct jobrt_plugin *next = p->next;
        char why[256];
        loader_unload(p, why, sizeof why); /* never routed: nothing ran */
        p = next;
    }
    memset(&g->staged, 0, sizeof g->staged);
    for (p = g->active.head; p; p = p->next)
        p->leaving = 0;
}

int generations_commit(generations_t *g, gen_changes_t *out, char *err,
                       size_t err_len)
{
    size_t from = g->stage_from;
    unsigned long long first_new = g->stage_first;
    int first = g->router == NULL;
    if (!first) {
        g->reloads++;
        for (size_t i = from; i < out->n; i++)
            if (out->items[i].kind == GEN_REJECTED ||
                out->items[i].kind == GEN_REFUSED) {
                g->reload_failures++;
                break;
            }
    }
    int changed = g->staged.count > 0 || g->stage_removed;
    /* the staged generations join the active list (still unrouted) */
    struct jobrt_plugin **tail = &g->active.head;
    while (*tail)
        tail = &(*tail)->next;
    *tail = g->staged.head;
    g->active.count += g->staged.count;
    memset(&g->staged, 0, sizeof g->staged);
    if (!changed && !first)
        return 0;
    if (first) {
        g->router = router_create(&g->active);
        if (g->router == NULL) {
            undo_round(g, first_new, out, from);
            snprintf(err, err_len, "out of memory building the route table");
            return -1;
        }
        return 0;
    }
    /* The swap: retire the leaving generations, then point the router at
     * what stays and what is new, in one step. */
    struct jobrt_plugin *last = g->retired.head;
    while (last && last->next)
        last = last->next;
    retire_leaving(g);
    if (router_replace(g->router, &g->active) != 0) {
        /* Out of memory: the old table still routes to this round's
         * retirees; take them back and drop the new generations. */
        struct jobrt_plugin *back = last ? last->next : g->retired.head;
        if (last)
            last->next = NULL;
        else
            g->retired.head = NULL;
        while (back) {
            struct jobrt_plugin *next = back->next;
            back->next = g->active.head;
            g->active.head = back;
            g->active.count++;
            g->retired.count--;
            back = next;
        }
        undo_round(g, first_new, out, from);
        return 0;
    }
    return 0;
}

int generations_reload(generations_t *g, gen_skip_fn skip, void *skip_arg,
                       gen_changes_t *out, char *err, size_t err_len)
{
    if (generations_stage(g, skip, skip_arg, out, err, err_len) != 0) {
        if (g->router)
            g->reload_failures++;
        return -1;
    }
    if (generations_commit(g, out, err, err_len) != 0)
        return -1;
    generations_reap(g);
    return 0;
}

struct jobrt_plugin *generations_take_drained(generations_t *g)
{
    struct jobrt_plugin **pp = &g->retired.head, *taken = NULL;
    struct jobrt_plugin **tail = &taken;
    while (*pp) {
        struct jobrt_plugin *p = *pp;
        if (atomic_load(&p->inflight) != 0) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        g->retired.count--;
        p->next = NULL;
        *tail = p;
        tail = &p->next;
    }
    return taken;
}

int generations_unload(struct jobrt_plugin *p, char *what, size_t what_len,
                       char *why, size_t why_len)
{
    char label[96];
    snprintf(what, what_len, "plugin %s %s build %s (generation %llu, %s)",
             p->name, p->version, generation_label(p, label, sizeof label),
             p->generation, p->file);
    why[0] = '\0';
    return loader_unload(p, why, why_len);
}

void generations_unloaded(generations_t *g, int rc, const char *what,
                          const char *why)
{
    if (rc == 0) {
        g->unloaded++;
        LOGI("loader", "%s unloaded: drained, finalised, and verified gone "
             "from the address space", what);
    } else {
        g->leaked++;
        LOGW("loader", "%s leaked: %s; it stays mapped until the worker "
             "restarts (%llu generation(s) leaked)", what, why, g->leaked);
    }
}

size_t generations_reap(generations_t *g)
{
    struct jobrt_plugin *p = generations_take_drained(g);
    while (p) {
        struct jobrt_plugin *next = p->next;
        char what[PATH_MAX + 256], why[512];
        int rc = generations_unload(p, what, sizeof what, why, sizeof why);
        generations_unloaded(g, rc, what, why);
        p = next;
    }
    return g->retired.count;
}

unsigned generations_inflight(const generations_t *g)
{
    unsigned n = 0;
    for (const struct jobrt_plugin *p = g->active.head; p; p = p->next)
        n += atomic_load(&p->inflight);
    for (const struct jobrt_plugin *p = g->retired.head; p; p = p->next)
        n += atomic_load(&p->inflight);
    return n;
}

static void unload_list(plugin_set_t *set)
{
    struct jobrt_plugin *p = set->head;
    while (p) {
        struct jobrt_plugin *next = p->next;
        char why[512], file[PATH_MAX];
        snprintf(file, sizeof file, "%s", p->file);
        if (loader_unload(p, why, sizeof why) != 0)
            LOGD("loader", "%s: %s", file, why);
        p = next;
    }
    set->head = NULL;
    set->count = 0;
}

void generations_destroy(generations_t *g)
{
    if (g == NULL)
        return;
    if (generations_inflight(g) == 0) {
        router_destroy(g->router);
        unload_list(&g->staged);
        unload_list(&g->active);
        unload_list(&g->retired);
        free(g->dir);
        free(g);
    }
    /* else a handler still runs on a detached thread: leave it mapped */
}
