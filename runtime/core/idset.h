/*
 * idset.h - a bounded set of job ids (strings) with O(1) lookup, used for
 * the ids `jobrt cancel` has named. When full, the oldest id is forgotten.
 * Loop thread only.
 */
#ifndef JOBRT_IDSET_H
#define JOBRT_IDSET_H

#include <stddef.h>

typedef struct idset idset_t;

idset_t *idset_create(size_t capacity);
void idset_destroy(idset_t *s);
/* Returns 1 if added, 0 if already present, -1 on out of memory. */
int idset_add(idset_t *s, const char *id);
int idset_has(const idset_t *s, const char *id, size_t len);
size_t idset_count(const idset_t *s);

#endif
