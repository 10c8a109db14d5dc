/*
 * trace.h - lets a zoo plugin leave a visible trace of its code running:
 * zoo_trace("name") creates the empty file $JOBRT_ZOO_TRACE_DIR/name (when
 * that variable is set), so a test can tell which plugin code ran. Uses
 * only libc, which every plugin may call.
 */
#ifndef JOBRT_ZOO_TRACE_H
#define JOBRT_ZOO_TRACE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void zoo_trace(const char *name)
{
    const char *dir = getenv("JOBRT_ZOO_TRACE_DIR");
    char path[4096];
    if (dir == NULL || *dir == '\0')
        return;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
}

#endif
